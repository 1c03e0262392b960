//! Target allow-list (`--allow-target`): which hosts a worker may send requests to.
//!
//! A pattern is `host` or `host:port`; `*` in the host matches any run of characters
//! (`*.staging.example.com`, `10.1.*`), a `*` port any port. Plans are checked when compiled
//! (host and literal absolute URLs, and the master's `-H`); URLs whose host comes from a template
//! are checked before each request is sent.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    host: String,
    port: Option<u16>,
}

/// The hosts a worker may target; empty means no restriction was configured.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct AllowList {
    patterns: Vec<Pattern>,
}

impl fmt::Debug for AllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl fmt::Display for AllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .patterns
            .iter()
            .map(|p| match p.port {
                Some(port) => format!("{}:{port}", p.host),
                None => p.host.clone(),
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

impl AllowList {
    /// Parses `--allow-target` values.
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<AllowList, String> {
        let mut out = Vec::new();
        for p in patterns {
            let p = p.as_ref().trim().to_ascii_lowercase();
            if p.is_empty() || p.contains('/') {
                return Err(format!(
                    "invalid --allow-target {p:?}: expected host or host:port"
                ));
            }
            let (host, port) = match p.rsplit_once(':') {
                Some((h, port)) if !h.is_empty() && !h.ends_with(':') => {
                    let port = if port == "*" {
                        None
                    } else {
                        Some(
                            port.parse::<u16>()
                                .map_err(|_| format!("invalid port in --allow-target {p:?}"))?,
                        )
                    };
                    (h.trim_matches(|c| c == '[' || c == ']').to_string(), port)
                }
                _ => (p.trim_matches(|c| c == '[' || c == ']').to_string(), None),
            };
            out.push(Pattern { host, port });
        }
        Ok(AllowList { patterns: out })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `url` may be requested.
    pub fn allows(&self, url: &url::Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host
            .trim_matches(|c| c == '[' || c == ']')
            .to_ascii_lowercase();
        let port = url.port_or_known_default();
        self.patterns
            .iter()
            .any(|p| glob(&p.host, &host) && p.port.is_none_or(|want| port == Some(want)))
    }
}

/// `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn patterns_match_hosts_and_ports() {
        let a = AllowList::parse(&[
            "127.0.0.1",
            "*.staging.example.com",
            "api.test:8443",
            "10.1.*:*",
        ])
        .unwrap();
        assert!(a.allows(&url("http://127.0.0.1:9000/x")));
        assert!(a.allows(&url("https://shop.staging.example.com/")));
        assert!(!a.allows(&url("https://staging.example.com.evil.org/")));
        assert!(a.allows(&url("https://api.test:8443/")));
        assert!(!a.allows(&url("https://api.test/")));
        assert!(a.allows(&url("http://10.1.2.3:1/")));
        assert!(!a.allows(&url("http://10.2.2.3/")));
        assert!(!a.allows(&url("http://victim.example.org/")));
        assert!(AllowList::parse(&["a/b"]).is_err());
        assert!(AllowList::parse(&["h:99999"]).is_err());
    }
}

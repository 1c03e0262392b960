//! Target policy (`--allow-target`): which hosts a worker may send requests to.
//!
//! A pattern is `host` or `host:port`; `*` in the host matches any run of characters
//! (`*.staging.example.com`, `10.1.*`), a `*` port any port. With patterns, only matching
//! targets are allowed. Without (the default), every target is allowed except link-local
//! addresses (169.254.0.0/16, fe80::/10: cloud metadata services) and the worker's own
//! infrastructure (its etcd endpoints and gRPC port, see [`AllowList::deny`]); naming one of those
//! in `--allow-target` allows it. Plans are checked when compiled (host and literal absolute
//! URLs, and the master's `-H`); URLs whose host comes from a template are checked before each
//! request is sent, and every redirect hop is checked before it is followed
//! ([`redirect_policy`]): a target cannot bounce the worker to a host it may not reach.

use std::fmt;
use std::sync::Arc;

/// Redirects followed per request at most (as browsers and reqwest's default).
pub const MAX_REDIRECTS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    host: String,
    port: Option<u16>,
}

/// The hosts a worker may target (see the module doc).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct AllowList {
    patterns: Vec<Pattern>,
    /// Refused when there are no patterns (the worker's own infrastructure).
    denied: Vec<Pattern>,
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
        Ok(AllowList {
            patterns: out,
            denied: Vec::new(),
        })
    }

    /// Also refuses `host:port` unless a pattern allows it (the worker's etcd endpoints and its
    /// own gRPC port).
    pub fn deny(mut self, host: &str, port: u16) -> AllowList {
        self.denied.push(Pattern {
            host: host
                .trim_matches(|c| c == '[' || c == ']')
                .to_ascii_lowercase(),
            port: Some(port),
        });
        self
    }

    /// True when no `--allow-target` pattern was given (the default policy applies).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `url` may be requested.
    pub fn allows(&self, url: &url::Url) -> bool {
        self.refusal(url).is_none()
    }

    /// Why `url` may not be requested, or `None` when it may.
    pub fn refusal(&self, url: &url::Url) -> Option<String> {
        let Some(host) = url.host_str() else {
            return Some("the URL has no host".into());
        };
        let host = host
            .trim_matches(|c| c == '[' || c == ']')
            .to_ascii_lowercase();
        let port = url.port_or_known_default();
        let matches = |p: &Pattern| glob(&p.host, &host) && p.port.is_none_or(|w| port == Some(w));
        if !self.patterns.is_empty() {
            return (!self.patterns.iter().any(matches))
                .then(|| format!("target {host} is not allowed (allowed: {self})"));
        }
        if is_link_local(url) {
            return Some(format!(
                "target {host} is a link-local address, refused unless --allow-target names it"
            ));
        }
        self.denied.iter().any(matches).then(|| {
            format!("target {host} is this worker's own etcd or gRPC endpoint, refused unless --allow-target names it")
        })
    }
}

/// Why `url` may not be requested under `allow` (`None`: the default policy), or `None`.
pub fn refusal(allow: Option<&AllowList>, url: &url::Url) -> Option<String> {
    match allow {
        Some(a) => a.refusal(url),
        None => AllowList::default().refusal(url),
    }
}

/// Whether `url` points at a link-local address (169.254.0.0/16, fe80::/10): cloud metadata
/// services live there, and no load test needs them unless it says so.
pub fn is_link_local(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_link_local(),
        Some(url::Host::Ipv6(ip)) => (ip.segments()[0] & 0xffc0) == 0xfe80,
        _ => false,
    }
}

/// The redirect policy of the worker's HTTP client: every hop is checked against the
/// allow-list before it is followed; without an allow-list, hops to link-local addresses are
/// refused. A refused hop fails the request (a request failure, never a followed redirect).
pub fn redirect_policy(allow: Option<Arc<AllowList>>) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        match refusal(allow.as_deref(), attempt.url()) {
            Some(why) => attempt.error(format!("redirect refused: {why}")),
            None => attempt.follow(),
        }
    })
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

    /// A server that answers every connection with one canned response, counting connections.
    async fn canned(response: String) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(response.as_bytes()).await;
            }
        });
        (port, hits)
    }

    #[tokio::test]
    async fn redirects_to_a_host_outside_the_allow_list_are_not_followed() {
        let (forbidden, hits) =
            canned("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".into()).await;
        let (allowed, _) = canned(format!(
            "HTTP/1.1 302 Found\r\nlocation: http://localhost:{forbidden}/\r\ncontent-length: 0\r\n\r\n"
        ))
        .await;
        let allow = Arc::new(AllowList::parse(&[format!("127.0.0.1:{allowed}")]).unwrap());
        let client = reqwest::Client::builder()
            .redirect(redirect_policy(Some(allow)))
            .build()
            .unwrap();
        let err = client
            .get(format!("http://127.0.0.1:{allowed}/"))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_redirect(), "{err:?}");
        assert_eq!(
            hits.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "the forbidden host was contacted"
        );
        // Allowed, the same redirect is followed.
        let open = Arc::new(AllowList::parse(&["127.0.0.1:*", "localhost:*"]).unwrap());
        let client = reqwest::Client::builder()
            .redirect(redirect_policy(Some(open)))
            .build()
            .unwrap();
        let r = client
            .get(format!("http://127.0.0.1:{allowed}/"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn the_default_policy_refuses_link_local_and_own_endpoints_unless_named() {
        let own = AllowList::default()
            .deny("127.0.0.1", 2379)
            .deny("10.0.0.5", 3000);
        assert!(own.allows(&url("http://127.0.0.1:8080/")));
        assert!(!own.allows(&url("http://127.0.0.1:2379/v3/kv/put")));
        assert!(!own.allows(&url("http://10.0.0.5:3000/")));
        assert!(!own.allows(&url("http://169.254.169.254/latest/meta-data")));
        assert!(refusal(None, &url("http://[fe80::1]/")).is_some());
        assert!(refusal(None, &url("http://example.com/")).is_none());
        // Named explicitly, they are allowed.
        let named = AllowList::parse(&["127.0.0.1:2379", "169.254.169.254"])
            .unwrap()
            .deny("127.0.0.1", 2379);
        assert!(named.allows(&url("http://127.0.0.1:2379/")));
        assert!(named.allows(&url("http://169.254.169.254/")));
    }

    #[test]
    fn link_local_addresses() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert!(is_link_local(&u("http://169.254.169.254/latest/meta-data")));
        assert!(is_link_local(&u("http://[fe80::1]/")));
        assert!(!is_link_local(&u("http://127.0.0.1/")));
        assert!(!is_link_local(&u("http://example.com/")));
    }

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

//! The connections one simulated user owns, as a Locust user's session or a k6 VU does: one
//! keep-alive HTTP/1.1 connection per target (scheme, host, port), opened on first use, kept
//! while the user lives, closed with it. The [`h1::Connector`](crate::h1::Connector) they come
//! from (limits, one shared TLS configuration) is shared by every user of a plan.

use crate::h1;

/// One user's connections.
pub struct Conns {
    connector: h1::Connector,
    open: Vec<h1::Conn>,
    targets: Vec<h1::Target>,
}

impl std::fmt::Debug for Conns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conns")
            .field("targets", &self.targets)
            .finish()
    }
}

impl Conns {
    pub fn new(connector: h1::Connector) -> Conns {
        Conns {
            connector,
            open: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// The connection to `url`'s scheme, host and port (created, not opened, on first use).
    pub fn to(&mut self, url: &url::Url) -> Option<&mut h1::Conn> {
        let host = url.host_str()?.trim_matches(|c| c == '[' || c == ']');
        let port = url.port_or_known_default()?;
        let target = match url.scheme() {
            "http" => h1::Target::http(host, port),
            "https" => h1::Target::https(host, port),
            _ => return None,
        };
        let i = match self.targets.iter().position(|t| *t == target) {
            Some(i) => i,
            None => {
                self.open.push(self.connector.conn(target.clone()));
                self.targets.push(target);
                self.open.len() - 1
            }
        };
        self.open.get_mut(i)
    }

    /// Frees read and write buffers while the user thinks; connections stay open.
    pub fn release_buffers(&mut self) {
        for c in &mut self.open {
            c.release_buffers();
        }
    }
}

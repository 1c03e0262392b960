//! The worker's side of fleet authentication (`contract::auth`): where its credentials come
//! from, and the check every gRPC call passes before anything else happens.
//!
//! Fleet mode needs credentials: the fleet token (from `LOCUST_HTTP_TOKEN`, `--token-file` or
//! `--token`) or mutual TLS (`--tls-client-ca`). Without either the worker refuses to start,
//! unless the operator says `--insecure-no-fleet-auth`. With a token, every call must carry a
//! one-time signature addressed to this worker, and plans, variables and traces travel sealed;
//! the token itself is never sent or logged.

use std::path::PathBuf;
use std::sync::Arc;

use contract::auth::grpc::{self as auth_grpc, Sealable};
use contract::auth::{CallVerifier, FleetKey};
use tonic::{Request, Status};

/// Where the fleet token may come from (flags and environment, as parsed).
#[derive(Debug, Clone, Default)]
pub struct CredentialSources {
    /// `--token` / `LOCUST_HTTP_TOKEN`.
    pub token: Option<String>,
    /// `--token-file` / `LOCUST_HTTP_TOKEN_FILE`: its first line.
    pub token_file: Option<PathBuf>,
    /// Mutual TLS is configured (`--tls-client-ca`).
    pub mutual_tls: bool,
    /// `--insecure-no-fleet-auth`.
    pub insecure: bool,
}

/// Why fleet mode cannot start with these credentials.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(
        "fleet mode needs credentials: a fleet token (LOCUST_HTTP_TOKEN or --token-file) or mutual TLS (--tls-client-ca); --insecure-no-fleet-auth runs without (anyone who can reach the port controls the worker)"
    )]
    Missing,
    #[error("cannot read --token-file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the fleet token: {0}")]
    Weak(contract::auth::AuthError),
}

/// The fleet key from the sources, `None` when the fleet runs on mutual TLS only or insecure.
pub fn load_key(src: &CredentialSources) -> Result<Option<Arc<FleetKey>>, CredentialError> {
    let token = match (&src.token, &src.token_file) {
        (Some(t), _) => Some(t.trim().to_string()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|source| CredentialError::Read {
                path: path.display().to_string(),
                source,
            })?;
            Some(text.lines().next().unwrap_or_default().trim().to_string())
        }
        (None, None) => None,
    };
    match token.filter(|t| !t.is_empty()) {
        Some(t) => FleetKey::from_secret(t.as_bytes())
            .map(|k| Some(Arc::new(k)))
            .map_err(CredentialError::Weak),
        None if src.mutual_tls || src.insecure => Ok(None),
        None => Err(CredentialError::Missing),
    }
}

/// The check of incoming calls: signature (when the fleet has a key) and sealed payloads.
#[derive(Debug, Clone)]
pub struct CallGuard {
    verifier: Option<Arc<CallVerifier>>,
}

impl CallGuard {
    /// Calls addressed to the worker `worker_id`, checked with `key` (none: mutual TLS or an
    /// explicitly insecure worker, where the transport is the only check).
    pub fn new(key: Option<Arc<FleetKey>>, worker_id: &str) -> CallGuard {
        CallGuard {
            verifier: key.map(|k| Arc::new(CallVerifier::new(k, worker_id))),
        }
    }

    fn key(&self) -> Option<&FleetKey> {
        self.verifier.as_deref().map(CallVerifier::key)
    }

    fn worker_id(&self) -> &str {
        self.verifier.as_deref().map_or("", CallVerifier::worker_id)
    }

    /// Checks the call's signature; UNAUTHENTICATED when it does not verify.
    pub fn check<T: prost::Message>(&self, rpc: &str, request: &Request<T>) -> Result<(), Status> {
        match &self.verifier {
            Some(v) => auth_grpc::verify(v, rpc, request).map_err(|e| {
                tracing::warn!(rpc, error = %e, "refused a call");
                auth_grpc::status(e)
            }),
            None => Ok(()),
        }
    }

    /// Checks the call, then opens its sealed message (a clear one is refused when the fleet
    /// has a key).
    pub fn open<T: Sealable>(&self, rpc: &str, request: Request<T>) -> Result<T, Status> {
        self.check(rpc, &request)?;
        auth_grpc::open_msg(self.key(), self.worker_id(), rpc, request.into_inner())
            .map_err(auth_grpc::status)
    }

    /// An answer that can carry secrets, sealed for the caller when the fleet has a key.
    pub fn seal<T: Sealable>(&self, rpc: &str, msg: T) -> T {
        auth_grpc::seal_msg(self.key(), self.worker_id(), rpc, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::pb;

    const TOKEN: &str = "a-fleet-token-of-32-characters!!";

    #[test]
    fn credentials_are_required_unless_insecure_or_mtls() {
        assert!(matches!(
            load_key(&CredentialSources::default()),
            Err(CredentialError::Missing)
        ));
        let mtls = CredentialSources {
            mutual_tls: true,
            ..Default::default()
        };
        assert!(load_key(&mtls).unwrap().is_none());
        let insecure = CredentialSources {
            insecure: true,
            ..Default::default()
        };
        assert!(load_key(&insecure).unwrap().is_none());
        let weak = CredentialSources {
            token: Some("short".into()),
            ..Default::default()
        };
        assert!(matches!(load_key(&weak), Err(CredentialError::Weak(_))));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
        let from_file = CredentialSources {
            token_file: Some(file),
            ..Default::default()
        };
        assert!(load_key(&from_file).unwrap().is_some());
    }

    #[test]
    fn calls_must_be_signed_for_this_worker_and_sealed() {
        let key = Arc::new(FleetKey::from_secret(TOKEN.as_bytes()).unwrap());
        let guard = CallGuard::new(Some(key.clone()), "w1");
        // Unsigned: refused.
        let clear = Request::new(pb::StatusRequest {});
        assert_eq!(
            guard.check("Status", &clear).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        // Signed for another worker: refused.
        let mut other = Request::new(pb::StatusRequest {});
        auth_grpc::sign(&key, "w2", "Status", &mut other);
        assert!(guard.check("Status", &other).is_err());
        // Signed, but the plan in clear: refused.
        let mut unsealed = Request::new(pb::ApplyRequest {
            plan_json: "{}".into(),
            ..Default::default()
        });
        auth_grpc::sign(&key, "w1", "Apply", &mut unsealed);
        assert!(guard.open("Apply", unsealed).is_err());
        // Signed and sealed: opened.
        let inner = pb::ApplyRequest {
            plan_json: "{\"name\": \"p\"}".into(),
            ..Default::default()
        };
        let mut ok = Request::new(auth_grpc::seal_msg(
            Some(&key),
            "w1",
            "Apply",
            inner.clone(),
        ));
        auth_grpc::sign(&key, "w1", "Apply", &mut ok);
        assert_eq!(guard.open("Apply", ok).unwrap(), inner);
        // Without a key (mutual TLS / insecure): everything passes through as it is.
        let open = CallGuard::new(None, "w1");
        assert!(open.check("Status", &clear).is_ok());
    }
}

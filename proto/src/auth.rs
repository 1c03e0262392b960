//! Fleet authentication: what proves, without sending any secret, that a worker record in etcd
//! and a gRPC call to a worker come from a holder of the fleet's shared secret (the token).
//!
//! Three keys are derived from the secret with HKDF-SHA256, one per use, so no key serves two
//! purposes:
//! - **record key**: workers sign their etcd record, bound to the key it is stored under. The
//!   bridge contacts only workers whose record verifies; a record written by anyone else is
//!   listed as untrusted and never called.
//! - **call key**: the bridge signs each gRPC call with HMAC over the receiving worker's id, the
//!   method, a timestamp, a random nonce and the SHA-256 of the request message. Nothing sent is
//!   reusable: a captured call fails on any other worker (id), after the time window (timestamp)
//!   and a second time on the same worker (nonce).
//! - **seal key**: payloads that may carry secrets (plans, variables, traces) are encrypted with
//!   ChaCha20-Poly1305 under a random nonce, the worker id and method as associated data.
//!
//! Every comparison of a MAC is constant-time (`ring::hmac::verify`). The secret itself never
//! leaves the process.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::Mutex;

use ring::rand::{SecureRandom, SystemRandom};
use ring::{aead, digest, hkdf, hmac};

/// The metadata key of a call's signature.
pub const CALL_HEADER: &str = "x-locust-http-auth";

/// A secret shorter than this is refused: it could be guessed offline from one signed record.
pub const MIN_SECRET_LEN: usize = 16;

/// How far a call's timestamp may be from the worker's clock, in seconds.
pub const CALL_WINDOW_SECS: u64 = 60;

/// Why a signature, a sealed payload or a secret was refused. Deliberately terse: nothing about
/// the expected value is revealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the fleet secret must be at least {MIN_SECRET_LEN} bytes")]
    WeakSecret,
    #[error("missing call signature")]
    Missing,
    #[error("malformed call signature")]
    Malformed,
    #[error("call signature is outside the time window (check the clocks)")]
    Stale,
    #[error("call signature was already used")]
    Replayed,
    #[error("bad signature")]
    BadSignature,
    #[error("sealed payload does not open")]
    BadSeal,
}

struct HkdfLen(usize);

impl hkdf::KeyType for HkdfLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// The keys derived from the fleet secret.
pub struct FleetKey {
    record: hmac::Key,
    call: hmac::Key,
    seal: aead::LessSafeKey,
}

impl fmt::Debug for FleetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FleetKey(..)")
    }
}

fn derive(prk: &hkdf::Prk, info: &'static [u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    prk.expand(&[info], HkdfLen(32))
        .and_then(|okm| okm.fill(&mut out))
        .expect("HKDF-SHA256 can expand 32 bytes");
    out
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .expect("the operating system's random source works");
    out
}

impl FleetKey {
    /// Derives the fleet's keys from its shared secret (the token's bytes).
    pub fn from_secret(secret: &[u8]) -> Result<FleetKey, AuthError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(AuthError::WeakSecret);
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"locust-http fleet v1").extract(secret);
        let seal = aead::UnboundKey::new(&aead::CHACHA20_POLY1305, &derive(&prk, b"seal"))
            .expect("32 bytes is a ChaCha20-Poly1305 key");
        Ok(FleetKey {
            record: hmac::Key::new(hmac::HMAC_SHA256, &derive(&prk, b"record")),
            call: hmac::Key::new(hmac::HMAC_SHA256, &derive(&prk, b"call")),
            seal: aead::LessSafeKey::new(seal),
        })
    }

    fn record_input(etcd_key: &str, record: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(etcd_key.len() + record.len() + 1);
        m.extend_from_slice(etcd_key.as_bytes());
        m.push(0);
        m.extend_from_slice(record);
        m
    }

    /// The signature (hex) of `record`'s exact bytes stored under `etcd_key`.
    pub fn sign_record(&self, etcd_key: &str, record: &[u8]) -> String {
        hex(hmac::sign(&self.record, &Self::record_input(etcd_key, record)).as_ref())
    }

    /// Whether `sig` is this fleet's signature of `record` under `etcd_key` (constant-time).
    pub fn verify_record(&self, etcd_key: &str, record: &[u8], sig: &str) -> bool {
        let Some(tag) = unhex(sig) else { return false };
        hmac::verify(&self.record, &Self::record_input(etcd_key, record), &tag).is_ok()
    }

    fn call_tag(
        &self,
        worker_id: &str,
        method: &str,
        ts: u64,
        nonce: &str,
        body: &[u8],
    ) -> hmac::Tag {
        let body_hash = digest::digest(&digest::SHA256, body);
        let mut ctx = hmac::Context::with_key(&self.call);
        for part in [
            worker_id.as_bytes(),
            method.as_bytes(),
            ts.to_string().as_bytes(),
            nonce.as_bytes(),
        ] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        ctx.update(body_hash.as_ref());
        ctx.sign()
    }

    /// The value of [`CALL_HEADER`] for a call of `method` (e.g. `/locust_http.v1.Worker/Apply`)
    /// with the encoded request `body` to the worker `worker_id`, at unix time `now`.
    pub fn sign_call(&self, worker_id: &str, method: &str, body: &[u8], now: u64) -> String {
        let nonce = hex(&random::<16>());
        let tag = self.call_tag(worker_id, method, now, &nonce, body);
        format!("v1.{now}.{nonce}.{}", hex(tag.as_ref()))
    }

    /// Encrypts `plaintext` for `worker_id`'s `method`: a random 12-byte nonce, then the
    /// ciphertext and its tag.
    pub fn seal(&self, worker_id: &str, method: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes = random::<12>();
        let mut out = Vec::with_capacity(12 + plaintext.len() + aead::CHACHA20_POLY1305.tag_len());
        out.extend_from_slice(&nonce_bytes);
        let mut buf = plaintext.to_vec();
        self.seal
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce_bytes),
                aead::Aad::from(aad(worker_id, method)),
                &mut buf,
            )
            .expect("a payload under 256 GiB seals");
        out.extend_from_slice(&buf);
        out
    }

    /// Decrypts what [`FleetKey::seal`] made for the same worker and method.
    pub fn open(&self, worker_id: &str, method: &str, sealed: &[u8]) -> Result<Vec<u8>, AuthError> {
        if sealed.len() < 12 + aead::CHACHA20_POLY1305.tag_len() {
            return Err(AuthError::BadSeal);
        }
        let (nonce, ciphertext) = sealed.split_at(12);
        let nonce =
            aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| AuthError::BadSeal)?;
        let mut buf = ciphertext.to_vec();
        let plain = self
            .seal
            .open_in_place(nonce, aead::Aad::from(aad(worker_id, method)), &mut buf)
            .map_err(|_| AuthError::BadSeal)?;
        Ok(plain.to_vec())
    }
}

fn aad(worker_id: &str, method: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(worker_id.len() + method.len() + 1);
    a.extend_from_slice(worker_id.as_bytes());
    a.push(0);
    a.extend_from_slice(method.as_bytes());
    a
}

/// Nonces seen at most this many at a time (oldest forgotten first); a call older than the
/// window is refused anyway, so a forgotten nonce cannot be replayed unless the fleet made more
/// than this many calls to one worker inside one window.
const MAX_NONCES: usize = 65_536;

/// A worker's check of incoming calls: signature, time window and replay.
#[derive(Debug)]
pub struct CallVerifier {
    key: std::sync::Arc<FleetKey>,
    worker_id: String,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    set: HashSet<String>,
    order: VecDeque<(u64, String)>,
}

impl CallVerifier {
    pub fn new(key: std::sync::Arc<FleetKey>, worker_id: impl Into<String>) -> CallVerifier {
        CallVerifier {
            key,
            worker_id: worker_id.into(),
            seen: Mutex::new(Seen::default()),
        }
    }

    /// The fleet key, for opening sealed payloads.
    pub fn key(&self) -> &FleetKey {
        &self.key
    }

    /// The id calls must be addressed to.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// Checks the [`CALL_HEADER`] value of a call of `method` with the encoded request `body`,
    /// at unix time `now`. A call that verifies is remembered, so the same header is refused
    /// the second time.
    pub fn verify(
        &self,
        header: Option<&str>,
        method: &str,
        body: &[u8],
        now: u64,
    ) -> Result<(), AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let mut parts = header.split('.');
        let (Some("v1"), Some(ts), Some(nonce), Some(sig), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(AuthError::Malformed);
        };
        let ts: u64 = ts.parse().map_err(|_| AuthError::Malformed)?;
        if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AuthError::Malformed);
        }
        let tag = unhex(sig).ok_or(AuthError::Malformed)?;
        let expected = self.key.call_tag(&self.worker_id, method, ts, nonce, body);
        if !constant_time_eq(expected.as_ref(), &tag) {
            return Err(AuthError::BadSignature);
        }
        if ts.abs_diff(now) > CALL_WINDOW_SECS {
            return Err(AuthError::Stale);
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let horizon = now.saturating_sub(CALL_WINDOW_SECS);
        while let Some((t, _)) = seen.order.front() {
            if *t >= horizon && seen.order.len() < MAX_NONCES {
                break;
            }
            let (_, old) = seen.order.pop_front().expect("front exists");
            seen.set.remove(&old);
        }
        if !seen.set.insert(nonce.to_string()) {
            return Err(AuthError::Replayed);
        }
        seen.order.push_back((ts.max(now), nonce.to_string()));
        Ok(())
    }
}

/// Compares two byte strings in constant time (length included), for passwords and tokens.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // HMAC both with a per-process random key, then compare the fixed-size tags: the time taken
    // depends on neither the contents nor which one is longer.
    static KEY: std::sync::OnceLock<hmac::Key> = std::sync::OnceLock::new();
    let key = KEY.get_or_init(|| hmac::Key::new(hmac::HMAC_SHA256, &random::<32>()));
    let ta = hmac::sign(key, a);
    hmac::verify(key, b, ta.as_ref()).is_ok()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 128 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A fresh random secret for a new fleet, as 64 hex characters (what `deploy/local-fleet.sh`
/// and the docs generate).
pub fn generate_secret() -> String {
    hex(&random::<32>())
}

/// The glue between these keys and tonic: signing a call, checking it, sealing and opening a
/// message. Used by the bridge (client side) and the worker (server side), so both agree on the
/// bytes.
pub mod grpc {
    use super::{AuthError, CALL_HEADER, CallVerifier, FleetKey};

    /// Unix seconds now.
    pub fn unix_now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// The full gRPC method path of a `Worker` RPC (`Apply` → `/locust_http.v1.Worker/Apply`).
    pub fn method(rpc: &str) -> String {
        format!("/locust_http.v1.Worker/{rpc}")
    }

    /// Signs `request` for the worker `worker_id` (puts [`CALL_HEADER`] in its metadata).
    pub fn sign<T: prost::Message>(
        key: &FleetKey,
        worker_id: &str,
        rpc: &str,
        request: &mut tonic::Request<T>,
    ) {
        let body = request.get_ref().encode_to_vec();
        let value = key.sign_call(worker_id, &method(rpc), &body, unix_now());
        if let Ok(v) = value.parse() {
            request.metadata_mut().insert(CALL_HEADER, v);
        }
    }

    /// Checks the signature of an incoming `request` (before its message is used).
    pub fn verify<T: prost::Message>(
        verifier: &CallVerifier,
        rpc: &str,
        request: &tonic::Request<T>,
    ) -> Result<(), AuthError> {
        let header = match request.metadata().get(CALL_HEADER) {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| AuthError::Malformed)?),
        };
        let body = request.get_ref().encode_to_vec();
        verifier.verify(header, &method(rpc), &body, unix_now())
    }

    /// `msg` encrypted for `worker_id`'s `rpc`, to put in the `sealed` field of an empty message.
    pub fn seal<T: prost::Message>(key: &FleetKey, worker_id: &str, rpc: &str, msg: &T) -> Vec<u8> {
        key.seal(worker_id, &method(rpc), &msg.encode_to_vec())
    }

    /// The message inside a `sealed` field.
    pub fn open<T: prost::Message + Default>(
        key: &FleetKey,
        worker_id: &str,
        rpc: &str,
        sealed: &[u8],
    ) -> Result<T, AuthError> {
        let plain = key.open(worker_id, &method(rpc), sealed)?;
        T::decode(plain.as_slice()).map_err(|_| AuthError::BadSeal)
    }

    /// A message that can travel sealed: all of it encrypted into its `sealed` field.
    pub trait Sealable: prost::Message + Default {
        fn sealed(&self) -> &[u8];
        fn with_sealed(sealed: Vec<u8>) -> Self;
    }

    macro_rules! sealable {
        ($($t:ty),*) => {$(
            impl Sealable for $t {
                fn sealed(&self) -> &[u8] {
                    &self.sealed
                }
                fn with_sealed(sealed: Vec<u8>) -> Self {
                    Self { sealed, ..Default::default() }
                }
            }
        )*};
    }
    sealable!(
        crate::pb::ApplyRequest,
        crate::pb::TryRequest,
        crate::pb::TryResponse
    );

    /// `msg` as it travels: sealed for `worker_id`'s `rpc` with a key, as it is without one.
    pub fn seal_msg<T: Sealable>(key: Option<&FleetKey>, worker_id: &str, rpc: &str, msg: T) -> T {
        match key {
            Some(k) => T::with_sealed(seal(k, worker_id, rpc, &msg)),
            None => msg,
        }
    }

    /// The message that arrived: opened with a key (a message that is not sealed is refused,
    /// so nothing secret is ever accepted in clear), as it is without one.
    pub fn open_msg<T: Sealable>(
        key: Option<&FleetKey>,
        worker_id: &str,
        rpc: &str,
        msg: T,
    ) -> Result<T, AuthError> {
        match key {
            Some(_) if msg.sealed().is_empty() => Err(AuthError::BadSeal),
            Some(k) => open(k, worker_id, rpc, msg.sealed()),
            None => Ok(msg),
        }
    }

    /// The gRPC status for a refused call: UNAUTHENTICATED with the reason (which reveals nothing
    /// about the expected values).
    pub fn status(e: AuthError) -> tonic::Status {
        tonic::Status::unauthenticated(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn key(s: &str) -> FleetKey {
        FleetKey::from_secret(s.as_bytes()).unwrap()
    }

    #[test]
    fn weak_secret_refused() {
        assert_eq!(
            FleetKey::from_secret(b"short").unwrap_err(),
            AuthError::WeakSecret
        );
    }

    #[test]
    fn record_signature_binds_key_and_bytes() {
        let k = key("0123456789abcdef-secret");
        let sig = k.sign_record("/w/a", b"{\"x\":1}");
        assert!(k.verify_record("/w/a", b"{\"x\":1}", &sig));
        assert!(
            !k.verify_record("/w/b", b"{\"x\":1}", &sig),
            "moved to another key"
        );
        assert!(
            !k.verify_record("/w/a", b"{\"x\":2}", &sig),
            "changed record"
        );
        assert!(!key("another-secret-0123456").verify_record("/w/a", b"{\"x\":1}", &sig));
        assert!(!k.verify_record("/w/a", b"{\"x\":1}", "zz"));
    }

    #[test]
    fn call_signature_once_for_one_worker_in_time() {
        let k = Arc::new(key("0123456789abcdef-secret"));
        let now = 1_000_000;
        let h = k.sign_call("w1", "/m", b"body", now);
        let w1 = CallVerifier::new(k.clone(), "w1");
        let w2 = CallVerifier::new(k.clone(), "w2");
        assert_eq!(
            w2.verify(Some(&h), "/m", b"body", now),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            w1.verify(Some(&h), "/other", b"body", now),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            w1.verify(Some(&h), "/m", b"b0dy", now),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            w1.verify(Some(&h), "/m", b"body", now + 61),
            Err(AuthError::Stale)
        );
        assert_eq!(w1.verify(Some(&h), "/m", b"body", now + 5), Ok(()));
        assert_eq!(
            w1.verify(Some(&h), "/m", b"body", now + 6),
            Err(AuthError::Replayed)
        );
        assert_eq!(w1.verify(None, "/m", b"body", now), Err(AuthError::Missing));
        assert_eq!(
            w1.verify(Some("v1.x.y.z"), "/m", b"", now),
            Err(AuthError::Malformed)
        );
        let other = key("another-secret-0123456").sign_call("w1", "/m", b"body", now);
        assert_eq!(
            w1.verify(Some(&other), "/m", b"body", now),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn seal_opens_only_for_the_same_worker_and_method() {
        let k = key("0123456789abcdef-secret");
        let sealed = k.seal("w1", "/Apply", b"plan with secrets");
        assert!(!sealed.windows(7).any(|w| w == b"secrets"));
        assert_eq!(
            k.open("w1", "/Apply", &sealed).unwrap(),
            b"plan with secrets"
        );
        assert_eq!(k.open("w2", "/Apply", &sealed), Err(AuthError::BadSeal));
        assert_eq!(k.open("w1", "/Try", &sealed), Err(AuthError::BadSeal));
        assert_eq!(
            key("another-secret-0123456").open("w1", "/Apply", &sealed),
            Err(AuthError::BadSeal)
        );
        assert_eq!(
            k.open("w1", "/Apply", &sealed[..10]),
            Err(AuthError::BadSeal)
        );
    }

    #[test]
    fn grpc_glue_signs_and_seals_messages() {
        use crate::pb;
        let k = Arc::new(key("0123456789abcdef-secret"));
        let inner = pb::ApplyRequest {
            plan_json: "{\"secret\": \"s3cr3t\"}".into(),
            master_host: "127.0.0.1".into(),
            master_port: 5557,
            variables: [("token".to_string(), "t0k3n".to_string())].into(),
            sealed: vec![],
        };
        let outer = pb::ApplyRequest {
            sealed: grpc::seal(&k, "w1", "Apply", &inner),
            ..Default::default()
        };
        let mut req = tonic::Request::new(outer);
        grpc::sign(&k, "w1", "Apply", &mut req);
        let v = CallVerifier::new(k.clone(), "w1");
        assert_eq!(grpc::verify(&v, "Apply", &req), Ok(()));
        assert_eq!(grpc::verify(&v, "Apply", &req), Err(AuthError::Replayed));
        assert_eq!(grpc::verify(&v, "Try", &req), Err(AuthError::BadSignature));
        let opened: pb::ApplyRequest =
            grpc::open(&k, "w1", "Apply", &req.get_ref().sealed).unwrap();
        assert_eq!(opened, inner);
        let wire = prost::Message::encode_to_vec(req.get_ref());
        assert!(!wire.windows(6).any(|w| w == b"s3cr3t" || w == b"t0k3n\0"));
        let sealed = grpc::seal_msg(
            Some(&k),
            "w1",
            "Try",
            pb::TryResponse {
                passed: true,
                ..Default::default()
            },
        );
        assert!(!sealed.passed && !sealed.sealed.is_empty());
        let back: pb::TryResponse = grpc::open_msg(Some(&k), "w1", "Try", sealed).unwrap();
        assert!(back.passed);
        let clear = pb::TryResponse {
            passed: true,
            ..Default::default()
        };
        assert_eq!(
            grpc::open_msg(Some(&k), "w1", "Try", clear.clone()),
            Err(AuthError::BadSeal)
        );
        assert_eq!(grpc::open_msg(None, "w1", "Try", clear.clone()), Ok(clear));
        let unsigned = tonic::Request::new(pb::StatusRequest {});
        assert_eq!(
            grpc::verify(&v, "Status", &unsigned),
            Err(AuthError::Missing)
        );
    }

    #[test]
    fn constant_time_eq_compares_contents_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
        assert_eq!(generate_secret().len(), 64);
    }
}

//! The `h1` client over TLS: a tokio-rustls server on 127.0.0.1 with a throwaway self-signed
//! certificate (made by `rcgen`), one shared client config, keep-alive over TLS.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use worker::h1::{Connector, Limits, Prepared, Target, Want};

#[tokio::test]
async fn https_keep_alive_with_a_shared_config() {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let certs: Vec<CertificateDer<'static>> = vec![made.cert.der().clone()];
    let key = PrivateKeyDer::from_pem_slice(made.signing_key.serialize_pem().as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs.clone(), key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certs[0].clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut b = [0u8; 1];
                loop {
                    while !buf.ends_with(b"\r\n\r\n") {
                        if s.read(&mut b).await.unwrap_or(0) == 0 {
                            return;
                        }
                        buf.push(b[0]);
                    }
                    buf.clear();
                    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure";
                    if s.write_all(resp).await.is_err() || s.flush().await.is_err() {
                        return;
                    }
                }
            });
        }
    });

    let connector = Connector::with_tls_config(Limits::default(), Arc::new(client));
    let mut c = connector.conn(Target::https("localhost", port));
    let req = Prepared::fixed("GET", "/", "localhost", &[], None);
    let want = Want {
        headers: false,
        body: true,
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        for i in 0..3 {
            let r = c.send_with(&req, &[], want).await.unwrap();
            assert_eq!(
                (r.status, &r.body[..], r.reused),
                (200, &b"secure"[..], i > 0)
            );
        }
    })
    .await
    .expect("bounded");
    assert_eq!(c.opened(), 1);
}

//! The `h1` client against real servers on 127.0.0.1: a tokio server scripted per HTTP corner,
//! and Python's `http.server` as a real peer. Every test is bounded in time.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use worker::h1::{Conn, Connector, H1Error, Limits, Prepared, Target, Want};

const BOUND: Duration = Duration::from_secs(10);

/// Reads one request head (up to the blank line); false at EOF.
async fn read_head(s: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte).await {
            Ok(1) => buf.push(byte[0]),
            _ => return false,
        }
    }
    true
}

/// A server whose connections each answer with `script(request_index)` pieces (written separately);
/// an empty script closes the connection. Returns the port.
async fn scripted(script: fn(usize) -> Vec<&'static [u8]>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut i = 0;
                while read_head(&mut s).await {
                    let pieces = script(i);
                    if pieces.is_empty() {
                        return;
                    }
                    for p in pieces {
                        if s.write_all(p).await.is_err() {
                            return;
                        }
                        let _ = s.flush().await;
                        tokio::task::yield_now().await;
                    }
                    i += 1;
                }
            });
        }
    });
    port
}

fn conn(port: u16) -> Conn {
    Connector::new(Limits::default()).conn(Target::http("127.0.0.1", port))
}

fn get() -> Prepared {
    Prepared::fixed("GET", "/", "127.0.0.1", &[], None)
}

const BODY: Want = Want {
    headers: true,
    body: true,
};

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, f)
        .await
        .expect("test bounded in time")
}

#[tokio::test]
async fn content_length_keep_alive_reuses_one_connection() {
    let port = scripted(|_| vec![b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"]).await;
    let mut c = conn(port);
    bounded(async {
        for i in 0..3 {
            let r = c.send_with(&get(), &[], BODY).await.unwrap();
            assert_eq!(
                (r.status, &r.body[..], r.reused),
                (200, &b"hello"[..], i > 0)
            );
        }
    })
    .await;
    assert_eq!(c.opened(), 1);
}

#[tokio::test]
async fn chunked_with_trailers() {
    let port = scripted(|_| {
        vec![
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"5\r\nhello\r\n6;ext=1\r\n world\r\n",
            b"0\r\nX-Trailer: a\r\nX-Other: b\r\n\r\n",
        ]
    })
    .await;
    let mut c = conn(port);
    bounded(async {
        for _ in 0..2 {
            let r = c.send_with(&get(), &[], BODY).await.unwrap();
            assert_eq!((&r.body[..], r.body_len), (&b"hello world"[..], 11));
        }
    })
    .await;
    assert_eq!(c.opened(), 1);
}

#[tokio::test]
async fn close_delimited_body() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        read_head(&mut s).await;
        s.write_all(b"HTTP/1.1 200 OK\r\n\r\npart one, ")
            .await
            .unwrap();
        s.flush().await.unwrap();
        tokio::task::yield_now().await;
        s.write_all(b"part two").await.unwrap();
    });
    let mut c = conn(port);
    let r = bounded(c.send_with(&get(), &[], BODY)).await.unwrap();
    assert_eq!(&r.body[..], b"part one, part two");
    assert!(!c.is_open());
}

#[tokio::test]
async fn informational_then_final() {
    let port = scripted(|_| {
        vec![
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
            b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        ]
    })
    .await;
    let r = bounded(conn(port).send_with(&get(), &[], BODY))
        .await
        .unwrap();
    assert_eq!((r.status, &r.body[..]), (201, &b"ok"[..]));
}

#[tokio::test]
async fn no_body_statuses_and_head() {
    let port = scripted(|i| match i {
        0 => vec![b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"],
        1 => vec![b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"],
        2 => vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"],
        _ => vec![b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nend"],
    })
    .await;
    let mut c = conn(port);
    let head = Prepared::fixed("HEAD", "/", "127.0.0.1", &[], None);
    bounded(async {
        assert_eq!(c.send(&get()).await.unwrap().status, 204);
        assert_eq!(c.send(&get()).await.unwrap().status, 304);
        let r = c.send(&head).await.unwrap();
        assert_eq!((r.status, r.body_len), (200, 0));
        let r = c.send_with(&get(), &[], BODY).await.unwrap();
        assert_eq!(&r.body[..], b"end");
    })
    .await;
    assert_eq!(c.opened(), 1);
}

#[tokio::test]
async fn connection_close_from_server_closes_after() {
    let port =
        scripted(|_| vec![b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"])
            .await;
    let mut c = conn(port);
    bounded(async {
        for _ in 0..2 {
            let r = c.send_with(&get(), &[], BODY).await.unwrap();
            assert!(!r.retried && !r.reused && !c.is_open());
        }
    })
    .await;
    assert_eq!(c.opened(), 2);
}

#[tokio::test]
async fn idle_close_is_retried_once_and_reported() {
    // Each connection answers one request, then closes when the next request arrives.
    let port = scripted(|i| match i {
        0 => vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"],
        _ => vec![],
    })
    .await;
    let mut c = conn(port);
    bounded(async {
        let first = c.send(&get()).await.unwrap();
        assert!(!first.retried);
        let second = c.send(&get()).await.unwrap();
        assert!(
            second.retried,
            "a reused connection closed before any byte is retried"
        );
        assert_eq!(second.status, 200);
    })
    .await;
    assert_eq!(c.opened(), 2);
}

#[tokio::test]
async fn fresh_connection_is_never_retried() {
    let port = scripted(|_| vec![]).await;
    let mut c = conn(port);
    let err = bounded(c.send(&get())).await.unwrap_err();
    assert!(
        matches!(err, H1Error::UnexpectedEof | H1Error::Read(_)),
        "{err}"
    );
    assert!(err.was_sent());
    assert_eq!(c.opened(), 1);
}

#[tokio::test]
async fn endless_body_hits_the_limit() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        let chunk = [b'x'; 4096];
        for _ in 0..10_000 {
            if s.write_all(b"1000\r\n").await.is_err()
                || s.write_all(&chunk).await.is_err()
                || s.write_all(b"\r\n").await.is_err()
            {
                return;
            }
        }
    });
    let limits = Limits {
        max_body: 64 * 1024,
        ..Limits::default()
    };
    let mut c = Connector::new(limits).conn(Target::http("127.0.0.1", port));
    let err = bounded(c.send_with(&get(), &[], BODY)).await.unwrap_err();
    assert!(
        matches!(err, H1Error::BodyTooLarge { limit: 65536 }),
        "{err}"
    );
    assert!(!c.is_open());
}

#[tokio::test]
async fn huge_header_is_refused() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        read_head(&mut s).await;
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Big: ").await;
        let filler = [b'a'; 8192];
        for _ in 0..1000 {
            if s.write_all(&filler).await.is_err() {
                return;
            }
        }
    });
    let err = bounded(conn(port).send(&get())).await.unwrap_err();
    assert!(matches!(err, H1Error::HeaderTooLarge(_)), "{err}");
}

#[tokio::test]
async fn too_many_headers_is_refused() {
    let port = scripted(|_| {
        vec![b"HTTP/1.1 200 OK\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nContent-Length: 0\r\n\r\n"]
    })
    .await;
    let limits = Limits {
        max_headers: 3,
        ..Limits::default()
    };
    let mut c = Connector::new(limits).conn(Target::http("127.0.0.1", port));
    let err = bounded(c.send(&get())).await.unwrap_err();
    assert!(matches!(err, H1Error::TooManyHeaders(3)), "{err}");
}

#[tokio::test]
async fn response_timeout() {
    let port = scripted(|_| vec![b"HTTP/1.1 200 OK\r\n"]).await;
    let limits = Limits {
        response_timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let mut c = Connector::new(limits).conn(Target::http("127.0.0.1", port));
    let err = c.send(&get()).await.unwrap_err();
    assert!(matches!(err, H1Error::Timeout(_)), "{err}");
}

#[tokio::test]
async fn python_http_server_is_a_real_peer() {
    let dir = std::env::temp_dir().join(format!("h1-py-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("f.txt"), b"from python\n").unwrap();
    let mut child = tokio::process::Command::new("python3")
        .args(["-u", "-c", "import http.server as h, functools as f, sys\n\
             h.SimpleHTTPRequestHandler.protocol_version='HTTP/1.1'\n\
             s=h.ThreadingHTTPServer(('127.0.0.1',0), f.partial(h.SimpleHTTPRequestHandler, directory=sys.argv[1]))\n\
             print(s.server_address[1], flush=True)\ns.serve_forever()"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let port: u16 = bounded(async {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while out.read(&mut b).await.unwrap() == 1 && b[0] != b'\n' {
            line.push(b[0]);
        }
        String::from_utf8(line).unwrap().trim().parse().unwrap()
    })
    .await;
    let mut c = conn(port);
    let req = Prepared::fixed("GET", "/f.txt", "127.0.0.1", &[], None);
    let missing = Prepared::fixed("GET", "/nope", "127.0.0.1", &[], None);
    let head = Prepared::fixed("HEAD", "/f.txt", "127.0.0.1", &[], None);
    bounded(async {
        let r = c.send_with(&req, &[], BODY).await.unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"from python\n"[..]));
        assert_eq!(r.header("content-length"), Some(&b"12"[..]));
        assert_eq!(c.send(&head).await.unwrap().body_len, 0);
        assert!(c.is_open(), "HTTP/1.1 keep-alive with Python");
        // Python's send_error answers `Connection: close`: the next request reconnects.
        assert_eq!(c.send(&missing).await.unwrap().status, 404);
        assert!(!c.is_open());
        let r = c.send_with(&req, &[], BODY).await.unwrap();
        assert_eq!(&r.body[..], b"from python\n");
    })
    .await;
    assert_eq!(c.opened(), 2);
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}

//! The engine's HTTP/1.1 path end to end, through the `worker` binary against small real servers:
//! each simulated user owns its connection (a server sees as many connections as users), an
//! endless body a check reads fails the step at the plan's `max_body` instead of filling memory,
//! and a redirect out of `--allow-target` is refused.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn worker() -> Command {
    Command::new(env!("CARGO_BIN_EXE_worker"))
}

fn plan(dir: &std::path::Path, json: serde_json::Value) -> std::path::PathBuf {
    let p = dir.join("plan.json");
    std::fs::write(&p, json.to_string()).unwrap();
    p
}

/// A keep-alive server answering `200 ok` to every request, counting connections.
async fn counting_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let conns = Arc::new(AtomicUsize::new(0));
    let counter = conns.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut pending = Vec::new();
                loop {
                    let n = match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        let resp = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if sock.write_all(resp).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (port, conns)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_owns_one_keep_alive_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (port, conns) = counting_server().await;
    let p = plan(
        dir.path(),
        serde_json::json!({"name": "c", "host": format!("http://127.0.0.1:{port}"),
            "transactions": [{"name": "t", "think_time": {"constant": "20ms"},
                "steps": [{"name": "s", "method": "GET", "url": "/"}]}]}),
    );
    let out = worker()
        .arg("run")
        .arg(&p)
        .args(["--headless", "-u", "7", "-t", "2s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Aggregated"), "{text}");
    assert_eq!(
        conns.load(Ordering::SeqCst),
        7,
        "one connection per user, kept alive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_that_a_check_reads_stops_at_max_body() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                    .await;
                let chunk = format!("{:x}\r\n{}\r\n", 65536, "x".repeat(65536));
                // Endless, but bounded in time for the test: at most 60 s.
                let end = tokio::time::Instant::now() + Duration::from_secs(60);
                while tokio::time::Instant::now() < end {
                    if sock.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let p = plan(
        dir.path(),
        serde_json::json!({"name": "e", "host": format!("http://127.0.0.1:{port}"),
            "max_body": 1048576,
            "transactions": [{"name": "t",
                "steps": [{"name": "s", "method": "GET", "url": "/",
                           "assert": [{"body_contains": "never"}]}]}]}),
    );
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_worker"))
            .arg("run")
            .arg(&p)
            .arg("--once")
            .output(),
    )
    .await
    .expect("the worker finished")
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("response body larger than the limit of 1048576 bytes"),
        "{text}"
    );
}

/// A server that answers every request with `response`.
async fn canned(response: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 || sock.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_under_the_target_policy() {
    let final_port = canned("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ndone").await;
    let to_final: &'static str = Box::leak(
        format!(
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{final_port}/x\r\ncontent-length: 0\r\n\r\n"
        )
        .into_boxed_str(),
    );
    let hop = canned(to_final).await;
    let metadata = canned(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://169.254.169.254/latest/meta-data\r\ncontent-length: 0\r\n\r\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let p = plan(
        dir.path(),
        serde_json::json!({"name": "r",
            "transactions": [
              {"name": "a", "steps": [{"name": "followed", "method": "GET",
                "url": format!("http://127.0.0.1:{hop}/"), "assert": [{"body_contains": "done"}]}]},
              {"name": "b", "steps": [{"name": "refused", "method": "GET",
                "url": format!("http://127.0.0.1:{metadata}/")}]}]}),
    );
    let out = worker().arg("run").arg(&p).arg("--once").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PASS followed"), "{text}");
    assert!(text.contains("FAIL refused"), "{text}");
    assert!(text.contains("redirect refused"), "{text}");
    assert!(text.contains("link-local"), "{text}");
}

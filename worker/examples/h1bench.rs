//! h1bench: closed-loop HTTP/1.1 load on a current-thread runtime, to compare the `h1` path
//! with wrk and with hyper's `client::conn::http1`; also RSS per idle connection.
//!
//! `h1bench URL [--conns 32] [--secs 10] [--hyper] [--idle N]`: prints req/s, CPU µs per
//! request (utime+stime of this process) and, with `--idle N`, RSS per idle connection+task.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use worker::h1::{Connector, Limits, Prepared, Target};

fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = url::Url::parse(
        args.get(1)
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1:8080/"),
    )
    .expect("URL");
    let host = url.host_str().unwrap_or("127.0.0.1").to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let path = url.path().to_string();
    let conns = arg(&args, "--conns", 32);
    let secs = arg(&args, "--secs", 10);
    let idle = arg(&args, "--idle", 0);
    let hyper = args.iter().any(|a| a == "--hyper");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        if idle > 0 {
            return idle_rss(idle, host, port, path).await;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let connector = Connector::new(Limits::default());
        let authority = format!("{host}:{port}");
        let req = Arc::new(Prepared::fixed("GET", &path, &authority, &[], None));
        let mut tasks = Vec::new();
        let (cpu0, t0) = (cpu_secs(), Instant::now());
        for _ in 0..conns {
            let (stop, count, errors) = (stop.clone(), count.clone(), errors.clone());
            if hyper {
                let (authority, path) = (authority.clone(), path.clone());
                tasks.push(tokio::spawn(hyper_loop(
                    authority, path, stop, count, errors,
                )));
            } else {
                let mut conn = connector.conn(Target::http(&host, port));
                let req = req.clone();
                tasks.push(tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        match conn.send(&req).await {
                            Ok(r) if r.status == 200 => count.fetch_add(1, Ordering::Relaxed),
                            _ => errors.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                }));
            }
        }
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let (cpu, wall) = (cpu_secs() - cpu0, t0.elapsed().as_secs_f64());
        let n = count.load(Ordering::Relaxed);
        println!(
            "{} conns={conns} requests={n} errors={} req/s={:.0} cpu_us_per_req={:.2}",
            if hyper { "hyper" } else { "h1" },
            errors.load(Ordering::Relaxed),
            n as f64 / wall,
            cpu * 1e6 / n.max(1) as f64
        );
    });
}

async fn hyper_loop(
    authority: String,
    path: String,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
) {
    use http_body_util::{BodyExt, Empty};
    let Ok(tcp) = tokio::net::TcpStream::connect(&authority).await else {
        errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let _ = tcp.set_nodelay(true);
    let io = hyper_util::rt::TokioIo::new(tcp);
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(io).await else {
        errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    tokio::spawn(conn);
    while !stop.load(Ordering::Relaxed) {
        let req = hyper::Request::get(path.as_str())
            .header("host", authority.as_str())
            .body(Empty::<bytes::Bytes>::new())
            .expect("request");
        match sender.send_request(req).await {
            Ok(resp) if resp.status() == 200 => {
                let _ = resp.into_body().collect().await;
                count.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                errors.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

async fn idle_rss(n: u64, host: String, port: u16, path: String) {
    let connector = Connector::new(Limits::default());
    let req = Arc::new(Prepared::fixed(
        "GET",
        &path,
        &format!("{host}:{port}"),
        &[],
        None,
    ));
    let before = rss_kb();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bool>(1024);
    let mut tasks = Vec::new();
    for _ in 0..n {
        let mut conn = connector.conn(Target::http(&host, port));
        let (req, tx) = (req.clone(), tx.clone());
        tasks.push(tokio::spawn(async move {
            let ok = matches!(conn.send(&req).await, Ok(r) if r.status == 200) && conn.is_open();
            conn.release_buffers();
            let _ = tx.send(ok).await;
            // Think time: hold the connection.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(conn);
        }));
    }
    drop(tx);
    let mut open = 0u64;
    for _ in 0..n {
        if rx.recv().await == Some(true) {
            open += 1;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kb();
    println!(
        "idle users={n} open={open} rss_before_kb={before} rss_after_kb={after} bytes_per_user={:.0}",
        (after.saturating_sub(before)) as f64 * 1024.0 / n as f64
    );
    for t in tasks {
        t.abort();
    }
}

//! Harness for the cross-process tests: real Locust masters, real workers, a real HTTP target,
//! all on loopback, cleaned up by pid.
//!
//! - [`Target`]: an HTTP server in the test process that counts every request it serves.
//! - [`Master`]: a real `locust --master` from the project's venv (headless or with its web UI).
//! - [`Etcd`], [`FleetWorker`], [`BridgeProc`]: etcd, fleet workers and the master-bridge.
//! - [`Cluster`]: the set-up most fleet tests share (etcd, target, master, bridge, workers).
//! - [`Proc`]: a child process killed (by pid) when dropped; logs go to `target/test-logs/`.
//! - [`eventually`]: a bounded wait for a condition, instead of sleeps.
//!
//! Ports: our own binaries bind port 0 and log `listening what=... addr=...` right after binding;
//! [`Proc::listening`] reads the real address back. Locust and etcd cannot report a port they
//! picked, so they get [`free_port`] and are started again on fresh ports when the bind fails.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The workspace root (where `Cargo.toml`, `examples/` and `.venv/` live).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

/// A built binary of this workspace (`cargo build --workspace` puts them next to the test deps).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test binary>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace --bins` (scripts/test.sh does)",
        path.display()
    );
    path
}

/// The pinned Locust from the project venv (`scripts/setup.sh` installs it).
pub fn locust_bin() -> PathBuf {
    if let Ok(p) = std::env::var("LOCUST_BIN") {
        return PathBuf::from(p);
    }
    let path = root().join(".venv/bin/locust");
    assert!(
        path.exists(),
        "{} missing; run scripts/setup.sh",
        path.display()
    );
    path
}

/// A port that was free a moment ago on 127.0.0.1. Racy by nature (another process may take it
/// before the child binds it): use it only for ports nothing should listen on (a dead target, an
/// absent master) or for children that cannot bind port 0 and report it (Locust, etcd), whose
/// start retries on a bind failure.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Directory for one test's logs and files, kept after the run for diagnosis.
pub fn test_dir(name: &str) -> PathBuf {
    let dir = root().join("target/test-logs").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test dir");
    dir
}

/// How many times a child that must be given a port ([`Master`], [`Etcd`]) is started on fresh
/// ports after losing the race for the one [`free_port`] gave it.
const BIND_ATTEMPTS: u32 = 5;

/// Does this log say the process could not bind its port?
fn bind_failed(log: &str) -> bool {
    let log = log.to_ascii_lowercase();
    log.contains("address already in use") || log.contains("addrinuse")
}

/// Waits until `check` returns `Some`, polling every 100 ms, for at most `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A child process, killed by pid when dropped.
#[derive(Debug)]
pub struct Proc {
    child: Option<Child>,
    pub name: String,
    pub log: PathBuf,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr appended to `dir/<name>.log`.
    pub fn spawn(mut cmd: Command, dir: &Path, name: &str) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open log");
        let err = out.try_clone().expect("clone log");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            child: Some(child),
            name: name.to_string(),
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends a signal by pid (`TERM`, `KILL`, `INT`).
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status();
    }

    /// Waits for the process to exit, at most `timeout`; kills it and panics if it does not.
    pub async fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.child.as_mut().expect("not yet waited");
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "{} did not exit within {timeout:?}; log: {}",
                    self.name,
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Has it exited already?
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The address one of our binaries bound, read from the line it logs right after binding:
    /// `listening what="<what>" addr=<ip:port>` (`what` is `grpc` or `http`). Panics if the process
    /// exits first or logs nothing within 30 s.
    pub async fn listening(&mut self, what: &str) -> SocketAddr {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(addr) = parse_listening(&self.log_text(), what) {
                return addr;
            }
            if let Some(status) = self.exited() {
                panic!(
                    "{} exited ({status:?}) before listening: {}",
                    self.name,
                    self.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} logged no `listening what={what:?}` line within 30 s: {}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The `addr=` of the first `listening` line with `what="<what>"` in a log.
pub fn parse_listening(log: &str, what: &str) -> Option<SocketAddr> {
    let tag = format!("what=\"{what}\"");
    log.lines()
        .filter(|l| l.contains("listening") && l.contains(&tag))
        .find_map(|l| {
            let rest = &l[l.find(" addr=")? + " addr=".len()..];
            rest.split_whitespace().next()?.parse().ok()
        })
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The HTTP target

/// The demo shop (`master-bridge demo-target`) on a free loopback port: its process and URL.
pub async fn demo_shop(dir: &Path) -> (Proc, String) {
    let mut cmd = Command::new(bin("master-bridge"));
    cmd.args(["demo-target", "--listen", "127.0.0.1", "--port", "0"]);
    let mut shop = Proc::spawn(cmd, dir, "demo-shop");
    let url = format!("http://{}", shop.listening("http").await);
    (shop, url)
}

/// How the target answers.
#[derive(Debug, Clone, Default)]
pub struct TargetConfig {
    /// Answer 500 to every n-th request (counted over all requests).
    pub fail_every: Option<u64>,
    /// `POST /orders` requires `Authorization: Bearer <a token issued by POST /login>`.
    pub require_token: bool,
    /// Delay every answer by this much.
    pub delay: Option<Duration>,
    /// Delay answers to this one path (e.g. a slow `/login`) by this much.
    pub slow_path: Option<(&'static str, Duration)>,
}

#[derive(Debug, Default)]
struct TargetState {
    config: TargetConfig,
    seq: AtomicU64,
    counts: Mutex<BTreeMap<String, u64>>,
    failures: Mutex<BTreeMap<String, u64>>,
    tokens: Mutex<std::collections::HashSet<String>>,
    logins: Mutex<Vec<String>>,
    /// When each answer was counted (just before it is written), in order.
    served_at: Mutex<Vec<Instant>>,
    /// Requests by `"METHOD /path?query auth=<Authorization> key=<X-Key>"` (`-` when absent).
    credentials: Mutex<BTreeMap<String, u64>>,
}

/// A local HTTP server that counts what it served: `GET /` (a small page), `POST /login`
/// (`{"token": ...}` and a `sid` cookie), `GET /whoami` (200 with a valid `sid` cookie, else
/// 401), `POST /orders` (201 `{"id": n}`), anything else 200 `ok`.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    state: Arc<TargetState>,
}

impl Target {
    pub async fn start(config: TargetConfig) -> Target {
        let state = Arc::new(TargetState {
            config,
            ..TargetState::default()
        });
        let app = Router::new().fallback(serve).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind target");
        let addr = listener.local_addr().expect("target addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Target { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests served, by `"METHOD /path"`.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.state.counts.lock().expect("counts").clone()
    }

    /// Requests answered with an error status, by `"METHOD /path"`.
    pub fn failures(&self) -> BTreeMap<String, u64> {
        self.state.failures.lock().expect("failures").clone()
    }

    pub fn count(&self, key: &str) -> u64 {
        self.counts().get(key).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.counts().values().sum()
    }

    /// Requests counted at or after `since` (a request is counted when its answer is ready).
    pub fn served_since(&self, since: Instant) -> u64 {
        let at = self.state.served_at.lock().expect("served_at");
        at.iter().filter(|t| **t >= since).count() as u64
    }

    /// Requests counted in `[from, to)`.
    pub fn served_between(&self, from: Instant, to: Instant) -> u64 {
        let at = self.state.served_at.lock().expect("served_at");
        at.iter().filter(|t| **t >= from && **t < to).count() as u64
    }

    /// When the last request was counted.
    pub fn last_served(&self) -> Option<Instant> {
        self.state
            .served_at
            .lock()
            .expect("served_at")
            .last()
            .copied()
    }

    /// Requests by `"METHOD /path?query auth=<Authorization> key=<X-Key>"`, `-` for a header
    /// that was not sent: what credentials really arrived.
    pub fn credentials(&self) -> BTreeMap<String, u64> {
        self.state.credentials.lock().expect("credentials").clone()
    }

    /// The `user` field of every `POST /login` body, in arrival order.
    pub fn logins(&self) -> Vec<String> {
        self.state.logins.lock().expect("logins").clone()
    }
}

async fn serve(State(state): State<Arc<TargetState>>, req: Request) -> Response {
    let key = format!("{} {}", req.method(), req.uri().path());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let (auth, cookie) = {
        let headers = req.headers();
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let seen = format!(
            "{} {} auth={} key={}",
            req.method(),
            req.uri(),
            get("authorization").as_deref().unwrap_or("-"),
            get("x-key").as_deref().unwrap_or("-")
        );
        *state
            .credentials
            .lock()
            .expect("credentials")
            .entry(seen)
            .or_default() += 1;
        (get("authorization"), get("cookie"))
    };
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    if let Some(d) = state.config.delay {
        tokio::time::sleep(d).await;
    }
    if let Some((_, d)) = state.config.slow_path.filter(|(p, _)| *p == path) {
        tokio::time::sleep(d).await;
    }
    let n = state.seq.fetch_add(1, Ordering::SeqCst) + 1;
    {
        let mut counts = state.counts.lock().expect("counts");
        *counts.entry(key.clone()).or_default() += 1;
        state
            .served_at
            .lock()
            .expect("served_at")
            .push(Instant::now());
    }
    let fail = |state: &TargetState, status: StatusCode, body: &'static str| {
        *state
            .failures
            .lock()
            .expect("failures")
            .entry(key.clone())
            .or_default() += 1;
        (status, body).into_response()
    };
    if state.config.fail_every.is_some_and(|every| n % every == 0) {
        return fail(&state, StatusCode::INTERNAL_SERVER_ERROR, "boom");
    }
    match (method.as_str(), path.as_str()) {
        ("GET", "/") => "<html><body>shop</body></html>".into_response(),
        ("POST", "/login") => {
            let token = format!("t{n}");
            state.tokens.lock().expect("tokens").insert(token.clone());
            let user = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["user"].as_str().map(str::to_string))
                .unwrap_or_default();
            state.logins.lock().expect("logins").push(user);
            let mut resp = axum::Json(serde_json::json!({ "token": token })).into_response();
            if let Ok(v) = format!("sid={token}; Path=/").parse() {
                resp.headers_mut().insert("set-cookie", v);
            }
            resp
        }
        ("GET", "/whoami") => {
            let sid = cookie
                .as_deref()
                .and_then(|c| c.split(';').find_map(|p| p.trim().strip_prefix("sid=")))
                .map(str::to_string);
            match sid.filter(|s| state.tokens.lock().expect("tokens").contains(s)) {
                Some(s) => s.into_response(),
                None => fail(&state, StatusCode::UNAUTHORIZED, "no session"),
            }
        }
        ("POST", "/orders") => {
            if state.config.require_token {
                let ok = auth
                    .as_deref()
                    .and_then(|a| a.strip_prefix("Bearer "))
                    .is_some_and(|t| state.tokens.lock().expect("tokens").contains(t));
                if !ok {
                    return fail(&state, StatusCode::UNAUTHORIZED, "missing or bad token");
                }
            }
            (
                StatusCode::CREATED,
                axum::Json(serde_json::json!({ "id": n })),
            )
                .into_response()
        }
        _ => "ok".into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// The Locust master

/// One row of the master's `*_stats.csv` or `/stats/requests/csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsRow {
    pub method: String,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
}

/// Parses Locust's stats CSV (`Type,Name,Request Count,Failure Count,...`).
pub fn parse_stats_csv(text: &str) -> Vec<StatsRow> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    rdr.records()
        .filter_map(Result::ok)
        .map(|r| StatsRow {
            method: r.get(0).unwrap_or_default().to_string(),
            name: r.get(1).unwrap_or_default().to_string(),
            requests: r.get(2).and_then(|v| v.parse().ok()).unwrap_or(0),
            failures: r.get(3).and_then(|v| v.parse().ok()).unwrap_or(0),
        })
        .collect()
}

/// Options of a master run.
#[derive(Debug, Clone)]
pub struct MasterOpts {
    /// `Some((users, rate, run_time))` = headless; `None` = web UI mode.
    pub headless: Option<(u32, f64, String)>,
    pub expect_workers: u32,
    pub host: Option<String>,
    pub locustfile: PathBuf,
    pub bind_port: u16,
    pub web_port: u16,
    /// More command-line arguments (e.g. `--reset-stats`).
    pub extra: Vec<String>,
}

impl MasterOpts {
    pub fn headless(users: u32, rate: f64, run_time: &str) -> MasterOpts {
        MasterOpts {
            headless: Some((users, rate, run_time.to_string())),
            ..MasterOpts::web()
        }
    }

    pub fn web() -> MasterOpts {
        MasterOpts {
            headless: None,
            expect_workers: 1,
            host: None,
            locustfile: root().join("deploy/locustfile.py"),
            bind_port: free_port(),
            web_port: free_port(),
            extra: Vec::new(),
        }
    }
}

/// A real Locust master process.
#[derive(Debug)]
pub struct Master {
    pub proc: Proc,
    pub opts: MasterOpts,
    pub csv_prefix: PathBuf,
    http: reqwest::Client,
}

impl Master {
    /// Starts a master and waits until it listens (its ZeroMQ port, and its web UI unless
    /// headless). Locust cannot bind port 0 and report it, so the ports come from [`free_port`];
    /// when another process took one first the master exits with "Address already in use" and is
    /// started again on fresh ports (at most [`BIND_ATTEMPTS`] times).
    pub async fn start(dir: &Path, name: &str, mut opts: MasterOpts) -> Master {
        for attempt in 1..=BIND_ATTEMPTS {
            let log_name = if attempt == 1 {
                name.to_string()
            } else {
                format!("{name}-attempt{attempt}")
            };
            let mut master = Master::spawn(dir, &log_name, name, opts.clone());
            match master.ready().await {
                Ok(()) => return master,
                Err(log) if bind_failed(&log) && attempt < BIND_ATTEMPTS => {
                    opts.bind_port = free_port();
                    opts.web_port = free_port();
                }
                Err(log) => panic!("master {name} exited before listening: {log}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// Starts a master on exactly `opts`' ports (a restart where workers expect the old port),
    /// without retrying, and waits until it listens.
    pub async fn restart(dir: &Path, name: &str, opts: MasterOpts) -> Master {
        let mut master = Master::spawn(dir, name, name, opts);
        if let Err(log) = master.ready().await {
            panic!("master {name} exited before listening: {log}");
        }
        master
    }

    /// Waits until the master accepts TCP on its ZeroMQ port (and answers on its web UI unless
    /// headless); `Err(log)` if it exited first.
    async fn ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let zmq = SocketAddr::from(([127, 0, 0, 1], self.opts.bind_port));
        loop {
            if self.proc.exited().is_some() {
                return Err(self.proc.log_text());
            }
            let zmq_up = tokio::net::TcpStream::connect(zmq).await.is_ok();
            let web_up = self.opts.headless.is_some() || self.worker_count().await.is_some();
            // Listening, and still alive after that (a port another process holds also accepts).
            if zmq_up && web_up && self.proc.exited().is_none() {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "master {} not listening within 30 s: {}",
                self.proc.name,
                self.proc.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn spawn(dir: &Path, log_name: &str, name: &str, opts: MasterOpts) -> Master {
        let csv_prefix = dir.join(format!("{name}-res"));
        let mut cmd = Command::new(locust_bin());
        cmd.arg("-f")
            .arg(&opts.locustfile)
            .args(["--master", "--master-bind-host", "127.0.0.1"])
            .args(["--master-bind-port", &opts.bind_port.to_string()])
            .args([
                "--web-host",
                "127.0.0.1",
                "--web-port",
                &opts.web_port.to_string(),
            ])
            .arg("--csv")
            .arg(&csv_prefix)
            .args(["--expect-workers", &opts.expect_workers.to_string()]);
        if let Some((users, rate, run_time)) = &opts.headless {
            cmd.args([
                "--headless",
                "-u",
                &users.to_string(),
                "-r",
                &rate.to_string(),
                "-t",
                run_time,
            ]);
        }
        if let Some(host) = &opts.host {
            cmd.args(["-H", host]);
        }
        cmd.args(&opts.extra);
        let proc = Proc::spawn(cmd, dir, log_name);
        Master {
            proc,
            opts,
            csv_prefix,
            http: reqwest::Client::new(),
        }
    }

    pub fn stats_csv(&self) -> Vec<StatsRow> {
        let path = format!("{}_stats.csv", self.csv_prefix.display());
        parse_stats_csv(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
    }

    pub fn failures_csv(&self) -> String {
        std::fs::read_to_string(format!("{}_failures.csv", self.csv_prefix.display()))
            .unwrap_or_default()
    }

    /// The largest `User Count` in the stats history.
    pub fn max_history_users(&self) -> u64 {
        let path = format!("{}_stats_history.csv", self.csv_prefix.display());
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        rdr.records()
            .filter_map(Result::ok)
            .filter_map(|r| r.get(1).and_then(|v| v.parse().ok()))
            .max()
            .unwrap_or(0)
    }

    fn web(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.opts.web_port)
    }

    pub async fn get_json(&self, path: &str) -> Option<serde_json::Value> {
        self.http
            .get(self.web(path))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()
    }

    pub async fn get_text(&self, path: &str) -> Option<String> {
        self.http
            .get(self.web(path))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()
    }

    /// `POST /swarm`; panics unless the master says success.
    pub async fn swarm(&self, users: u32, rate: f64, host: Option<&str>) {
        let mut form = vec![
            ("user_count", users.to_string()),
            ("spawn_rate", rate.to_string()),
        ];
        if let Some(h) = host {
            form.push(("host", h.to_string()));
        }
        let resp: serde_json::Value = self
            .http
            .post(self.web("/swarm"))
            .form(&form)
            .send()
            .await
            .expect("POST /swarm")
            .json()
            .await
            .expect("swarm json");
        assert_eq!(resp["success"], true, "swarm refused: {resp}");
    }

    /// `POST /stop`.
    pub async fn stop(&self) {
        let resp = self
            .http
            .post(self.web("/stop"))
            .send()
            .await
            .expect("POST /stop");
        assert!(resp.status().is_success(), "stop: {}", resp.status());
    }

    pub async fn worker_count(&self) -> Option<u64> {
        self.get_json("/worker-count").await?["worker_count"].as_u64()
    }

    /// Waits until the master's web UI answers.
    pub async fn wait_web(&self) {
        eventually(Duration::from_secs(20), "the master's web UI", || async {
            self.get_json("/worker-count").await
        })
        .await;
    }

    /// The master's current stats table as CSV rows.
    pub async fn stats_rows(&self) -> Vec<StatsRow> {
        parse_stats_csv(
            &self
                .get_text("/stats/requests/csv")
                .await
                .unwrap_or_default(),
        )
    }
}

/// Finds a row by name in stats rows.
pub fn row<'a>(rows: &'a [StatsRow], name: &str) -> &'a StatsRow {
    rows.iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no row {name:?} in {rows:?}"))
}

// ---------------------------------------------------------------------------------------------
// Workers

/// `worker run PLAN --master-port P`.
pub fn run_worker(dir: &Path, name: &str, plan: &Path, master_port: u16, extra: &[&str]) -> Proc {
    let mut cmd = Command::new(bin("worker"));
    cmd.arg("run")
        .arg(plan)
        .args([
            "--master-host",
            "127.0.0.1",
            "--master-port",
            &master_port.to_string(),
        ])
        .args(extra)
        .env("LOCUST_HTTP_LOG", "info,worker=debug")
        .env("NO_COLOR", "1");
    Proc::spawn(cmd, dir, name)
}

/// Writes a plan file into `dir`.
pub fn write_plan(dir: &Path, name: &str, plan: &serde_json::Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(plan).expect("plan json")).expect("write plan");
    path
}

// ---------------------------------------------------------------------------------------------
// etcd and fleet workers

/// A real etcd from the project venv, on free loopback ports, with its own data dir. etcd cannot
/// report a port it picked (its advertised URLs must name the port), so it gets [`free_port`]s and
/// is started again on fresh ones when it loses the race for them.
#[derive(Debug)]
pub struct Etcd {
    pub proc: Option<Proc>,
    pub client_port: u16,
    peer_port: u16,
    data_dir: PathBuf,
    dir: PathBuf,
    starts: u32,
}

impl Etcd {
    pub async fn start(dir: &Path) -> Etcd {
        let mut etcd = Etcd {
            proc: None,
            client_port: free_port(),
            peer_port: free_port(),
            data_dir: dir.join("etcd-data"),
            dir: dir.to_path_buf(),
            starts: 0,
        };
        for attempt in 1..=BIND_ATTEMPTS {
            match etcd.launch().await {
                Ok(()) => return etcd,
                Err(log) if bind_failed(&log) && attempt < BIND_ATTEMPTS => {
                    etcd.client_port = free_port();
                    etcd.peer_port = free_port();
                    let _ = std::fs::remove_dir_all(&etcd.data_dir);
                }
                Err(log) => panic!("etcd exited before it was healthy: {log}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// Starts etcd and waits until it is healthy; `Err(log)` if it exited first.
    async fn launch(&mut self) -> Result<(), String> {
        self.starts += 1;
        let client = format!("http://127.0.0.1:{}", self.client_port);
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let mut cmd = Command::new(root().join(".venv/bin/etcd"));
        cmd.args(["--name", "t", "--data-dir"])
            .arg(&self.data_dir)
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args(["--initial-cluster", &format!("t={peer}")])
            .args(["--log-level", "warn"]);
        let mut proc = Proc::spawn(cmd, &self.dir, &format!("etcd{}", self.starts));
        let health = format!("{client}/health");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if proc.exited().is_some() {
                return Err(proc.log_text());
            }
            let healthy = async {
                let v: serde_json::Value =
                    http.get(&health).send().await.ok()?.json().await.ok()?;
                (v["health"] == "true").then_some(())
            };
            if healthy.await.is_some() {
                self.proc = Some(proc);
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "etcd not healthy within 20 s: {}",
                proc.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL.
    pub async fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.signal("KILL");
            p.wait(Duration::from_secs(10)).await;
        }
    }

    /// Starts again on the same data dir and ports.
    pub async fn restart(&mut self) {
        if let Err(log) = self.launch().await {
            panic!("etcd did not come back on its ports: {log}");
        }
    }

    /// Every key under `prefix` with its value.
    pub async fn keys(&self, prefix: &str) -> Option<BTreeMap<String, String>> {
        let mut c = etcd_client::Client::connect([self.endpoint()], None)
            .await
            .ok()?;
        let resp = c
            .get(prefix, Some(etcd_client::GetOptions::new().with_prefix()))
            .await
            .ok()?;
        Some(
            resp.kvs()
                .iter()
                .map(|kv| {
                    (
                        String::from_utf8_lossy(kv.key()).into_owned(),
                        String::from_utf8_lossy(kv.value()).into_owned(),
                    )
                })
                .collect(),
        )
    }
}

/// A worker in fleet mode, on a gRPC port it picked itself (`--port 0`).
#[derive(Debug)]
pub struct FleetWorker {
    pub proc: Proc,
    pub port: u16,
    etcd: String,
    /// The fleet token this worker was started with (None: insecure or mutual TLS only).
    pub token: Option<String>,
    id: tokio::sync::OnceCell<String>,
}

/// The fleet token the harness gives workers and bridges unless a test says otherwise.
pub const FLEET_TOKEN: &str = "integration-tests-fleet-token-0123456789";

/// Whether `extra` already sets the fleet credentials (or opts out of them).
fn sets_credentials(extra: &[&str], flags: &[&str]) -> bool {
    extra.iter().any(|a| flags.contains(a))
}

impl FleetWorker {
    /// Starts a fleet worker and waits until it has bound its gRPC port (read back from its
    /// log). It gets [`FLEET_TOKEN`] (through the environment, as operators should pass it)
    /// unless `extra` sets credentials itself.
    pub async fn start(dir: &Path, name: &str, etcd: &str, extra: &[&str]) -> FleetWorker {
        let mut cmd = Command::new(bin("worker"));
        // No --advertise: the address is found from the route to etcd (127.0.0.1 here).
        cmd.args(["--etcd-addr", etcd, "--port", "0"])
            .args(extra)
            .env("LOCUST_HTTP_LOG", "info,worker=debug")
            .env("NO_COLOR", "1");
        let own = sets_credentials(
            extra,
            &[
                "--token",
                "--token-file",
                "--insecure-no-fleet-auth",
                "--tls-client-ca",
            ],
        );
        let token = if own {
            extra
                .iter()
                .position(|a| *a == "--token")
                .and_then(|i| extra.get(i + 1))
                .map(|t| t.to_string())
        } else {
            cmd.env("LOCUST_HTTP_TOKEN", FLEET_TOKEN);
            Some(FLEET_TOKEN.to_string())
        };
        let mut proc = Proc::spawn(cmd, dir, name);
        let port = proc.listening("grpc").await.port();
        FleetWorker {
            proc,
            port,
            etcd: etcd.to_string(),
            token,
            id: tokio::sync::OnceCell::new(),
        }
    }

    /// The worker's id, from its record in etcd (calls are signed for it).
    pub async fn id(&self) -> String {
        self.id
            .get_or_init(|| async {
                let key = self.key().await;
                eventually(
                    Duration::from_secs(15),
                    "the worker's etcd record",
                    || async {
                        let mut c = etcd_client::Client::connect([self.etcd.as_str()], None)
                            .await
                            .ok()?;
                        let r = c.get(key.as_str(), None).await.ok()?;
                        let kv = r.kvs().first()?;
                        let (rec, _) =
                            contract::etcd::decode_record(&key, kv.value(), None).ok()?;
                        Some(rec.id)
                    },
                )
                .await
            })
            .await
            .clone()
    }

    fn fleet_key(&self) -> Option<contract::auth::FleetKey> {
        self.token
            .as_deref()
            .map(|t| contract::auth::FleetKey::from_secret(t.as_bytes()).expect("a long token"))
    }

    /// A call of `rpc` signed for this worker, as the bridge makes it.
    pub async fn signed<T: prost::Message>(&self, rpc: &str, msg: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        if let Some(k) = self.fleet_key() {
            contract::auth::grpc::sign(&k, &self.id().await, rpc, &mut req);
        }
        req
    }

    /// [`FleetWorker::signed`] for a message that travels sealed (Apply, Try).
    pub async fn sealed<T: contract::auth::grpc::Sealable>(
        &self,
        rpc: &str,
        msg: T,
    ) -> tonic::Request<T> {
        let k = self.fleet_key();
        let msg = contract::auth::grpc::seal_msg(k.as_ref(), &self.id().await, rpc, msg);
        self.signed(rpc, msg).await
    }

    /// A sealed answer (Try's), opened.
    pub async fn open<T: contract::auth::grpc::Sealable>(&self, rpc: &str, msg: T) -> T {
        let k = self.fleet_key();
        contract::auth::grpc::open_msg(k.as_ref(), &self.id().await, rpc, msg)
            .expect("the worker's answer opens")
    }

    /// The worker's etcd key (`/locust-http/workers/<id>`), from the line it logs when it
    /// registers.
    pub async fn key(&self) -> String {
        eventually(
            Duration::from_secs(15),
            "the worker to register in etcd",
            || async {
                let log = self.proc.log_text();
                let line = log.lines().find(|l| l.contains("registered in etcd"))?;
                let rest = &line[line.find(" key=")? + " key=".len()..];
                Some(
                    rest.split_whitespace()
                        .next()?
                        .trim_matches('"')
                        .to_string(),
                )
            },
        )
        .await
    }

    /// A gRPC client (waits until the worker answers).
    pub async fn client(
        &self,
    ) -> contract::pb::worker_client::WorkerClient<tonic::transport::Channel> {
        let url = format!("http://127.0.0.1:{}", self.port);
        eventually(Duration::from_secs(15), "the worker's gRPC port", || {
            let url = url.clone();
            async move {
                contract::pb::worker_client::WorkerClient::connect(url)
                    .await
                    .ok()
            }
        })
        .await
    }
}

/// A request with `authorization: Bearer <token>` when a token is given.
pub fn authed<T>(msg: T, token: Option<&str>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    if let Some(t) = token {
        req.metadata_mut().insert(
            "authorization",
            format!("Bearer {t}").parse().expect("ascii token"),
        );
    }
    req
}

/// An `ApplyRequest` for a plan file's JSON.
pub fn apply_request(plan: &serde_json::Value, master_port: u16) -> contract::pb::ApplyRequest {
    contract::pb::ApplyRequest {
        plan_json: plan.to_string(),
        master_host: "127.0.0.1".into(),
        master_port: u32::from(master_port),
        variables: Default::default(),
        sealed: Vec::new(),
    }
}

/// Per-second `Requests/s` of the Aggregated rows of the master's stats history.
pub fn history_rps(master: &Master) -> Vec<(u64, u64, f64)> {
    let path = format!("{}_stats_history.csv", master.csv_prefix.display());
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    rdr.records()
        .filter_map(Result::ok)
        .filter(|r| r.get(3) == Some("Aggregated"))
        .filter_map(|r| {
            Some((
                r.get(0)?.parse().ok()?,
                r.get(1)?.parse().ok()?,
                r.get(4)?.parse().ok()?,
            ))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The master-bridge

/// A master-bridge process with its REST API on a port it picked itself (`--web-port 0`).
#[derive(Debug)]
pub struct BridgeProc {
    pub proc: Proc,
    pub port: u16,
    http: reqwest::Client,
}

impl BridgeProc {
    /// Starts `master-bridge` against `etcd` and `master`, storing in `dir/<name>-data`.
    pub async fn start(
        dir: &Path,
        name: &str,
        etcd: &Etcd,
        master: &Master,
        extra: &[&str],
    ) -> BridgeProc {
        let mut cmd = Command::new(bin("master-bridge"));
        cmd.args([
            "--etcd-addr",
            &etcd.endpoint(),
            "--master-host",
            "127.0.0.1",
        ])
        .args(["--master-port", &master.opts.bind_port.to_string()])
        .args([
            "--locust-web",
            &format!("http://127.0.0.1:{}", master.opts.web_port),
        ])
        .args(["--web-host", "127.0.0.1", "--web-port", "0"])
        .arg("--data-dir")
        .arg(dir.join("bridge-data"))
        .args(extra)
        .env("LOCUST_HTTP_LOG", "info,master_bridge=debug")
        .env("NO_COLOR", "1");
        if !sets_credentials(
            extra,
            &[
                "--worker-token",
                "--worker-token-file",
                "--worker-tls-cert",
                "--insecure-no-fleet-auth",
            ],
        ) {
            cmd.env("LOCUST_HTTP_TOKEN", FLEET_TOKEN);
        }
        let mut proc = Proc::spawn(cmd, dir, name);
        let port = proc.listening("http").await.port();
        let b = BridgeProc {
            proc,
            port,
            http: reqwest::Client::new(),
        };
        eventually(Duration::from_secs(15), "the bridge's API", || async {
            b.http.get(b.url("/api/plans")).send().await.ok()
        })
        .await;
        b
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.http.get(self.url(path)).send().await.expect("GET");
        (
            r.status().as_u16(),
            r.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST");
        (
            r.status().as_u16(),
            r.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// Workers as `GET /api/workers` lists them.
    pub async fn workers(&self) -> Vec<serde_json::Value> {
        self.get("/api/workers")
            .await
            .1
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits for a run to leave `starting`/`running`.
    pub async fn wait_run(&self, id: &str, timeout: Duration) -> serde_json::Value {
        eventually(timeout, "the run to end", || async {
            let (_, run) = self.get(&format!("/api/runs/{id}")).await;
            (run["state"] != "running" && run["state"] != "starting").then_some(run)
        })
        .await
    }
}

/// The shop example aimed at `target`.
pub fn shop_plan(target: &Target) -> serde_json::Value {
    let text =
        std::fs::read_to_string(root().join("examples/shop.json")).expect("examples/shop.json");
    let mut plan: serde_json::Value = serde_json::from_str(&text).expect("shop.json");
    plan["host"] = serde_json::Value::String(target.url());
    plan
}

/// The stats row named `name` in a run's stored statistics.
pub fn run_row<'a>(run: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    run["stats"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("no row {name:?} in {run}"))
}

// ---------------------------------------------------------------------------------------------
// A whole cluster

/// What a [`Cluster`] brings up. Everything is optional; [`Cluster::start`] starts the parts in
/// dependency order and waits until each answers.
#[derive(Debug, Clone, Default)]
pub struct ClusterSpec {
    /// A real etcd (needed by fleet workers and the bridge).
    pub etcd: bool,
    /// An HTTP target in the test process.
    pub target: Option<TargetConfig>,
    /// A Locust master.
    pub master: Option<MasterOpts>,
    /// A master-bridge with these extra flags (needs `etcd` and `master`).
    pub bridge: Option<Vec<String>>,
    /// This many fleet workers `w1..wN`, each with `worker_args`.
    pub workers: usize,
    pub worker_args: Vec<String>,
}

/// etcd, a target, a master, a bridge and fleet workers for one test, each on its own port (the
/// real one read back), logging to `target/test-logs/<name>/`; every child is killed by pid when
/// the cluster is dropped.
#[derive(Debug)]
pub struct Cluster {
    pub dir: PathBuf,
    pub etcd: Option<Etcd>,
    pub target: Option<Target>,
    pub master: Option<Master>,
    pub bridge: Option<BridgeProc>,
    pub workers: Vec<FleetWorker>,
}

impl Cluster {
    /// Starts what `spec` asks for. Returns once etcd is healthy, the master listens, the bridge
    /// answers, and every worker is registered in etcd (and listed by the bridge, if any).
    pub async fn start(name: &str, spec: ClusterSpec) -> Cluster {
        let dir = test_dir(name);
        let etcd = if spec.etcd {
            Some(Etcd::start(&dir).await)
        } else {
            None
        };
        let target = match spec.target {
            Some(config) => Some(Target::start(config).await),
            None => None,
        };
        let master = match spec.master {
            Some(opts) => Some(Master::start(&dir, "master", opts).await),
            None => None,
        };
        let mut cluster = Cluster {
            dir,
            etcd,
            target,
            master,
            bridge: None,
            workers: Vec::new(),
        };
        if let Some(extra) = &spec.bridge {
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            let bridge = BridgeProc::start(
                &cluster.dir,
                "bridge",
                cluster.etcd(),
                cluster.master(),
                &extra,
            )
            .await;
            cluster.bridge = Some(bridge);
        }
        let args: Vec<&str> = spec.worker_args.iter().map(String::as_str).collect();
        for i in 1..=spec.workers {
            cluster.add_worker(&format!("w{i}"), &args).await;
        }
        cluster
    }

    pub fn etcd(&self) -> &Etcd {
        self.etcd.as_ref().expect("the cluster has no etcd")
    }

    pub fn target(&self) -> &Target {
        self.target.as_ref().expect("the cluster has no target")
    }

    pub fn master(&self) -> &Master {
        self.master.as_ref().expect("the cluster has no master")
    }

    pub fn bridge(&self) -> &BridgeProc {
        self.bridge.as_ref().expect("the cluster has no bridge")
    }

    /// Starts one more fleet worker and waits until its key is in etcd and, with a bridge, until
    /// the bridge lists it. Returns its index in [`Cluster::workers`].
    pub async fn add_worker(&mut self, name: &str, extra: &[&str]) -> usize {
        let w = FleetWorker::start(&self.dir, name, &self.etcd().endpoint(), extra).await;
        let key = w.key().await;
        let address = format!("127.0.0.1:{}", w.port);
        eventually(
            Duration::from_secs(15),
            "the worker's key in etcd",
            || async {
                self.etcd()
                    .keys(&key)
                    .await
                    .filter(|k| k.contains_key(&key))
            },
        )
        .await;
        if let Some(bridge) = &self.bridge {
            eventually(
                Duration::from_secs(15),
                "the bridge to list the worker",
                || async {
                    bridge
                        .workers()
                        .await
                        .iter()
                        .any(|v| v["address"] == address)
                        .then_some(())
                },
            )
            .await;
        }
        self.workers.push(w);
        self.workers.len() - 1
    }
}

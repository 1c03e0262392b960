//! The session against a scripted master: an in-memory [`Connector`] under paused time (every
//! test runs in milliseconds of real time), and one test against a real ZeroMQ ROUTER.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use rmpv::Value;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::locust::codec::{ClassCounts, StatsEntry, StatsPayload};

const NODE: &str = "testhost_0123456789abcdef0123456789abcdef";

// ---- the load, scripted -------------------------------------------------------------------

/// What the session asked of the load, in order.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    SetHost(Option<String>),
    StopTimeout(f64),
    Apply(ClassCounts),
    Stop(Option<Duration>),
    ClearStats,
}

#[derive(Debug, Default)]
struct Shared {
    calls: Vec<Call>,
    /// Requests "made" since the last report.
    pending: u64,
}

struct FakeLoad {
    shared: Arc<Mutex<Shared>>,
    counts: ClassCounts,
    /// How long users take to end on a `stop` by policy.
    stop_takes: Duration,
    refuse_host: Option<String>,
    events: mpsc::UnboundedReceiver<LoadEvent>,
}

struct LoadHandle {
    shared: Arc<Mutex<Shared>>,
    events: mpsc::UnboundedSender<LoadEvent>,
}

impl LoadHandle {
    fn calls(&self) -> Vec<Call> {
        self.shared.lock().unwrap().calls.clone()
    }
    fn made_requests(&self, n: u64) {
        self.shared.lock().unwrap().pending += n;
    }
}

fn fake_load() -> (FakeLoad, LoadHandle) {
    let shared = Arc::new(Mutex::new(Shared::default()));
    let (tx, rx) = mpsc::unbounded_channel();
    let load = FakeLoad {
        shared: shared.clone(),
        counts: ClassCounts::new(),
        stop_takes: Duration::ZERO,
        refuse_host: None,
        events: rx,
    };
    (load, LoadHandle { shared, events: tx })
}

impl FakeLoad {
    fn call(&self, c: Call) {
        self.shared.lock().unwrap().calls.push(c);
    }
}

fn entry(n: u64) -> StatsEntry {
    StatsEntry {
        name: "Aggregated".into(),
        method: String::new(),
        last_request_timestamp: None,
        start_time: 0.0,
        num_requests: n,
        num_none_requests: 0,
        num_failures: 0,
        total_response_time: 0.0,
        max_response_time: 0.0,
        min_response_time: None,
        total_content_length: 0,
        response_times: BTreeMap::new(),
        num_reqs_per_sec: BTreeMap::new(),
        num_fail_per_sec: BTreeMap::new(),
    }
}

impl Load for FakeLoad {
    fn set_host(&mut self, host: Option<&str>) -> Result<(), String> {
        self.call(Call::SetHost(host.map(str::to_string)));
        match (&self.refuse_host, host) {
            (Some(bad), Some(h)) if bad == h => Err(format!("{h} is not allowed")),
            _ => Ok(()),
        }
    }
    fn set_stop_timeout(&mut self, stop_timeout: f64) {
        self.call(Call::StopTimeout(stop_timeout));
    }
    fn apply(&mut self, target: &ClassCounts, budget: usize) -> bool {
        // Like the runtime: at most `budget` new users per call.
        let have: u32 = self.counts.values().sum();
        let want: u32 = target.values().sum();
        if want > have && (want - have) as usize > budget {
            let class = target.keys().next().cloned().unwrap_or_default();
            *self.counts.entry(class).or_default() += budget as u32;
            return false;
        }
        self.call(Call::Apply(target.clone()));
        self.counts = target.clone();
        self.counts.retain(|_, n| *n > 0);
        true
    }
    fn counts(&self) -> ClassCounts {
        self.counts.clone()
    }
    fn stop(&mut self, grace: Option<Duration>) -> BoxFuture<'static, ()> {
        self.call(Call::Stop(grace));
        self.counts.clear();
        let takes = grace.map_or(self.stop_takes, |g| g.min(self.stop_takes));
        Box::pin(tokio::time::sleep(takes))
    }
    fn take_report(&mut self) -> StatsPayload {
        let n = std::mem::take(&mut self.shared.lock().unwrap().pending);
        StatsPayload {
            stats: Vec::new(),
            stats_total: entry(n),
            errors: BTreeMap::new(),
            user_count: self.counts.values().sum(),
            user_classes_count: self.counts.clone(),
        }
    }
    fn clear_stats(&mut self) -> u64 {
        self.call(Call::ClearStats);
        std::mem::take(&mut self.shared.lock().unwrap().pending)
    }
    async fn next_event(&mut self) -> LoadEvent {
        match self.events.recv().await {
            Some(e) => e,
            None => std::future::pending().await,
        }
    }
}

// ---- the master, scripted -----------------------------------------------------------------

/// The master's end of one connection.
struct Conn {
    /// The identity the worker connected with.
    node: String,
    from_worker: mpsc::UnboundedReceiver<Vec<u8>>,
    to_worker: mpsc::UnboundedSender<Bytes>,
}

struct FakeLink {
    to_master: mpsc::UnboundedSender<Vec<u8>>,
    from_master: mpsc::UnboundedReceiver<Bytes>,
}

impl Link for FakeLink {
    async fn send(&mut self, frame: Vec<u8>) -> Result<(), String> {
        self.to_master
            .send(frame)
            .map_err(|_| "the master hung up".to_string())
    }
    async fn recv(&mut self) -> Option<Bytes> {
        self.from_master.recv().await
    }
}

struct FakeConnector(mpsc::UnboundedSender<Conn>);

impl Connector for FakeConnector {
    type Link = FakeLink;
    async fn connect(&mut self, node_id: &str) -> Result<FakeLink, String> {
        if node_id.starts_with("unreachable") {
            return Err("cannot connect to tcp://fake: Connect timed out after 3s".into());
        }
        let (to_master, from_worker) = mpsc::unbounded_channel();
        let (to_worker, from_master) = mpsc::unbounded_channel();
        self.0
            .send(Conn {
                node: node_id.to_string(),
                from_worker,
                to_worker,
            })
            .map_err(|_| "no master".to_string())?;
        Ok(FakeLink {
            to_master,
            from_master,
        })
    }
}

fn frame(kind: &str, data: Value, node: &str) -> Bytes {
    let mut out = Vec::new();
    rmpv::encode::write_value(
        &mut out,
        &Value::Array(vec![kind.into(), data, node.into()]),
    )
    .unwrap();
    Bytes::from(out)
}

fn spawn_data(timestamp: f64, users: u32, host: Option<&str>) -> Value {
    spawn_data_with(timestamp, users, host, false)
}

fn spawn_data_with(timestamp: f64, users: u32, host: Option<&str>, reset_stats: bool) -> Value {
    Value::Map(vec![
        ("timestamp".into(), Value::F64(timestamp)),
        (
            "user_classes_count".into(),
            Value::Map(vec![("A".into(), users.into())]),
        ),
        ("host".into(), host.map_or(Value::Nil, Into::into)),
        ("stop_timeout".into(), Value::F64(0.0)),
        (
            "parsed_options".into(),
            Value::Map(vec![("reset_stats".into(), reset_stats.into())]),
        ),
    ])
}

/// A message from the worker: its type and data.
#[derive(Debug)]
struct Msg {
    kind: String,
    data: Value,
    at: Instant,
}

impl Msg {
    fn get(&self, key: &str) -> Option<&Value> {
        self.data
            .as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
}

impl Conn {
    fn send(&self, kind: &str, data: Value) {
        self.to_worker.send(frame(kind, data, &self.node)).unwrap();
    }

    /// The next message, heartbeats included; panics after 60 s of (virtual) silence.
    async fn next_any(&mut self) -> Msg {
        let bytes = tokio::time::timeout(Duration::from_secs(60), self.from_worker.recv())
            .await
            .expect("the worker went silent")
            .expect("the worker hung up");
        let v = rmpv::decode::read_value(&mut bytes.as_slice()).unwrap();
        let Value::Array(parts) = v else {
            panic!("not an envelope")
        };
        assert_eq!(
            parts[2].as_str(),
            Some(self.node.as_str()),
            "every frame carries the node id"
        );
        Msg {
            kind: parts[0].as_str().unwrap().to_string(),
            data: parts[1].clone(),
            at: Instant::now(),
        }
    }

    /// The next message that is not a heartbeat.
    async fn next(&mut self) -> Msg {
        loop {
            let m = self.next_any().await;
            if m.kind != "heartbeat" {
                return m;
            }
        }
    }

    async fn expect(&mut self, kind: &str) -> Msg {
        let m = self.next().await;
        assert_eq!(m.kind, kind, "unexpected message {m:?}");
        m
    }
}

struct Harness {
    conns: mpsc::UnboundedReceiver<Conn>,
    load: LoadHandle,
    shutdown: CancellationToken,
    session: tokio::task::JoinHandle<Exit>,
}

impl Harness {
    fn start(tune: impl FnOnce(&mut FakeLoad)) -> Harness {
        Harness::start_with(tune, |_| {})
    }

    fn start_with(
        tune: impl FnOnce(&mut FakeLoad),
        configure: impl FnOnce(&mut SessionConfig),
    ) -> Harness {
        let (load, handle) = fake_load();
        let mut load = load;
        tune(&mut load);
        let (tx, conns) = mpsc::unbounded_channel();
        let mut cfg = SessionConfig::new("fake".into(), NODE.into());
        cfg.new_identity = || "testhost_rejoined".to_string();
        configure(&mut cfg);
        let status = Arc::new(watch::channel(SessionStatus::default()).0);
        let mut session = Session::new(cfg, FakeConnector(tx), load, status);
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let session = tokio::spawn(async move { session.run(token).await });
        Harness {
            conns,
            load: handle,
            shutdown,
            session,
        }
    }

    async fn connection(&mut self) -> Conn {
        tokio::time::timeout(Duration::from_secs(60), self.conns.recv())
            .await
            .expect("the worker did not connect")
            .unwrap()
    }

    /// A connection on which the worker registered and was acknowledged.
    async fn registered(&mut self) -> Conn {
        let mut c = self.connection().await;
        c.expect("client_ready").await;
        c.send("ack", Value::Map(vec![("index".into(), 0.into())]));
        c
    }
}

async fn spawned(c: &mut Conn, timestamp: f64, users: u32) -> Msg {
    c.send("spawn", spawn_data(timestamp, users, None));
    c.expect("spawning").await;
    c.expect("spawning_complete").await
}

fn count_of(m: &Msg) -> Option<u64> {
    m.get("user_classes_count")?
        .as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some("A"))?
        .1
        .as_u64()
}

fn requests_in(m: &Msg) -> u64 {
    let total = m.get("stats_total").expect("stats_total");
    total
        .as_map()
        .unwrap()
        .iter()
        .find(|(k, _)| k.as_str() == Some("num_requests"))
        .unwrap()
        .1
        .as_u64()
        .unwrap()
}

// ---- the tests ------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn client_ready_is_resent_until_the_master_acks() {
    let mut h = Harness::start(|_| {});
    let mut c = h.connection().await;
    let first = c.expect("client_ready").await;
    let second = c.expect("client_ready").await;
    assert_eq!(second.at - first.at, Duration::from_secs(2));
    c.send("ack", Value::Map(vec![("index".into(), 0.into())]));
    // After the ack: heartbeats say "ready", and no more client_ready.
    let mut hb = c.next_any().await;
    while hb.kind != "heartbeat" {
        hb = c.next_any().await;
    }
    assert_eq!(hb.get("state").and_then(Value::as_str), Some("ready"));
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        let m = c.next_any().await;
        assert!(
            m.kind == "heartbeat" || m.kind == "stats",
            "no client_ready after the ack: {m:?}"
        );
        c.send("heartbeat", Value::Nil);
    }
}

#[tokio::test(start_paused = true)]
async fn a_stale_spawn_is_answered_but_not_applied() {
    let mut h = Harness::start(|_| {});
    let mut c = h.registered().await;
    let done = spawned(&mut c, 2.0, 3).await;
    assert_eq!(count_of(&done), Some(3));
    // An older spawn (a reordered or replayed message) changes nothing.
    c.send("spawn", spawn_data(1.0, 7, None));
    c.expect("spawning").await;
    let done = spawned(&mut c, 3.0, 1).await;
    assert_eq!(count_of(&done), Some(1));
    let applied: Vec<_> = h
        .load
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Apply(counts) => Some(counts["A"]),
            _ => None,
        })
        .collect();
    assert_eq!(applied, [3, 1]);
}

#[tokio::test(start_paused = true)]
async fn stop_waits_for_users_then_reports_then_stops_then_reregisters() {
    let mut h = Harness::start(|l| l.stop_takes = Duration::from_millis(1500));
    let mut c = h.registered().await;
    spawned(&mut c, 1.0, 4).await;
    h.load.made_requests(10);
    c.send("stop", Value::Nil);
    let asked = Instant::now();
    // The last requests, made while users finish, are in the report before client_stopped.
    h.load.made_requests(5);
    let stats = c.expect("stats").await;
    assert!(
        stats.at - asked >= Duration::from_millis(1500),
        "stats before users ended"
    );
    assert_eq!(requests_in(&stats), 15);
    c.expect("client_stopped").await;
    c.expect("client_ready").await;
    assert!(h.load.calls().contains(&Call::Stop(None)));
}

#[tokio::test(start_paused = true)]
async fn quit_sends_the_final_stats_then_quit_and_ends_the_session() {
    let mut h = Harness::start(|l| l.stop_takes = Duration::from_secs(30));
    let mut c = h.registered().await;
    spawned(&mut c, 1.0, 2).await;
    h.load.made_requests(7);
    c.send("quit", Value::Nil);
    let stats = c.expect("stats").await;
    assert_eq!(requests_in(&stats), 7);
    c.expect("quit").await;
    let exit = tokio::time::timeout(Duration::from_secs(5), h.session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit, Exit::Quit);
    // In-flight requests got the quit grace, not the users' 30 s.
    assert!(
        h.load
            .calls()
            .contains(&Call::Stop(Some(Duration::from_millis(300))))
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_master_is_lost_users_stop_and_the_worker_registers_again() {
    let mut h = Harness::start(|_| {});
    let mut c = h.registered().await;
    let acked = Instant::now();
    spawned(&mut c, 1.0, 5).await;
    h.load.made_requests(3);
    // The master never answers a heartbeat: after 60 s the worker gives up on this connection.
    let mut c2 = tokio::time::timeout(Duration::from_secs(90), h.conns.recv())
        .await
        .expect("no reconnect")
        .unwrap();
    let lost_after = Instant::now() - acked;
    assert!(
        lost_after > Duration::from_secs(60) && lost_after < Duration::from_secs(63),
        "{lost_after:?}"
    );
    c2.expect("client_ready").await;
    let calls = h.load.calls();
    assert!(calls.contains(&Call::Stop(Some(Duration::ZERO))));
    assert!(calls.contains(&Call::ClearStats));
    // The unreported requests were dropped, not sent to whoever answers next.
    c2.send("ack", Value::Map(vec![("index".into(), 1.into())]));
    let report = c2.expect("stats").await;
    assert_eq!(requests_in(&report), 0);
    drop(c);
}

#[tokio::test(start_paused = true)]
async fn reconnect_keeps_the_registration() {
    let mut h = Harness::start(|_| {});
    let c = h.registered().await;
    c.send("reconnect", Value::Nil);
    let mut c2 = h.connection().await;
    let first = c2.next_any().await;
    assert_eq!(first.kind, "heartbeat", "no client_ready after a reconnect");
}

#[tokio::test(start_paused = true)]
async fn a_host_the_load_refuses_is_reported_and_the_spawn_still_completes() {
    let mut h = Harness::start(|l| l.refuse_host = Some("http://evil".into()));
    let mut c = h.registered().await;
    c.send("spawn", spawn_data(1.0, 2, Some("http://evil")));
    c.expect("spawning").await;
    let e = c.expect("exception").await;
    assert!(
        e.get("msg")
            .and_then(Value::as_str)
            .unwrap()
            .contains("not allowed")
    );
    let done = c.expect("spawning_complete").await;
    assert_eq!(count_of(&done), Some(2));
}

#[tokio::test(start_paused = true)]
async fn a_crashed_user_is_an_exception_for_the_master() {
    let mut h = Harness::start(|_| {});
    let mut c = h.registered().await;
    h.load
        .events
        .send(LoadEvent::Exception(
            "a simulated user crashed: boom".into(),
        ))
        .unwrap();
    let e = c.expect("exception").await;
    assert_eq!(
        e.get("msg").and_then(Value::as_str),
        Some("a simulated user crashed: boom")
    );
}

#[tokio::test(start_paused = true)]
async fn messages_for_another_worker_and_garbage_are_ignored() {
    let mut h = Harness::start(|_| {});
    let mut c = h.registered().await;
    c.to_worker
        .send(frame("spawn", spawn_data(1.0, 9, None), "someone_else"))
        .unwrap();
    c.to_worker
        .send(Bytes::from_static(b"\xc1garbage"))
        .unwrap();
    let done = spawned(&mut c, 2.0, 1).await;
    assert_eq!(count_of(&done), Some(1));
    assert!(
        !h.load
            .calls()
            .iter()
            .any(|c| matches!(c, Call::Apply(a) if a["A"] == 9))
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_leaves_the_master_with_final_stats() {
    let mut h = Harness::start(|_| {});
    let mut c = h.registered().await;
    spawned(&mut c, 1.0, 1).await;
    h.load.made_requests(4);
    h.shutdown.cancel();
    assert_eq!(requests_in(&c.expect("stats").await), 4);
    c.expect("quit").await;
    assert_eq!(h.session.await.unwrap(), Exit::Shutdown);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_master_keeps_users_statistics_and_connection() {
    let mut h = Harness::start(|_| {});
    let mut c = h.registered().await;
    spawned(&mut c, 1.0, 5).await;
    // The master freezes for 20 s: it reads nothing and answers nothing; requests go on.
    let mut reported = 0;
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        h.load.made_requests(10);
        let m = c.next_any().await;
        if m.kind == "stats" {
            reported += requests_in(&m);
        }
    }
    // It wakes up and answers; nothing was stopped, dropped or reconnected.
    c.send("heartbeat", Value::Nil);
    let mut last = c.expect("stats").await;
    while requests_in(&last) == 0 {
        last = c.expect("stats").await;
    }
    reported += requests_in(&last);
    let calls = h.load.calls();
    assert!(
        !calls.iter().any(|c| matches!(c, Call::Stop(_))),
        "{calls:?}"
    );
    assert_eq!(
        calls.iter().filter(|c| **c == Call::ClearStats).count(),
        1,
        "only the new test's reset: {calls:?}"
    );
    assert!(h.conns.try_recv().is_err(), "no new connection");
    assert!(
        reported >= 200,
        "every request made in the stall is reported: {reported}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_identity_the_master_ignores_is_replaced() {
    let mut h = Harness::start(|_| {});
    let mut c = h.connection().await;
    assert_eq!(c.node, NODE);
    for _ in 0..3 {
        c.expect("client_ready").await;
    }
    // Nobody answers: the worker joins again under a new identity instead of resending forever.
    let mut c2 = h.connection().await;
    assert_eq!(c2.node, "testhost_rejoined");
    c2.expect("client_ready").await;
    c2.send("ack", Value::Map(vec![("index".into(), 0.into())]));
    let done = spawned(&mut c2, 1.0, 2).await;
    assert_eq!(count_of(&done), Some(2));
}

#[tokio::test(start_paused = true)]
async fn a_spawn_during_a_stop_waits_until_the_worker_is_ready_again() {
    let mut h = Harness::start(|l| l.stop_takes = Duration::from_millis(1500));
    let mut c = h.registered().await;
    spawned(&mut c, 1.0, 10).await;
    c.send("stop", Value::Nil);
    c.send("spawn", spawn_data(2.0, 4, None));
    let kinds = [
        "stats",
        "client_stopped",
        "client_ready",
        "spawning",
        "spawning_complete",
    ];
    for kind in kinds {
        c.expect(kind).await;
    }
    let calls: Vec<_> = h
        .load
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Stop(_) | Call::Apply(_)))
        .collect();
    assert_eq!(
        calls,
        [
            Call::Apply([("A".to_string(), 10)].into()),
            Call::Stop(None),
            Call::Apply([("A".to_string(), 4)].into()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn quit_during_a_stop_comes_after_client_stopped() {
    let mut h = Harness::start(|l| l.stop_takes = Duration::from_millis(1500));
    let mut c = h.registered().await;
    spawned(&mut c, 1.0, 3).await;
    c.send("stop", Value::Nil);
    c.send("quit", Value::Nil);
    for kind in ["stats", "client_stopped", "client_ready", "stats", "quit"] {
        c.expect(kind).await;
    }
    assert_eq!(h.session.await.unwrap(), Exit::Quit);
}

#[tokio::test(start_paused = true)]
async fn reset_stats_drops_the_ramp_up_when_the_master_says_spawning_is_complete() {
    for reset in [false, true] {
        let mut h = Harness::start(|_| {});
        let mut c = h.registered().await;
        c.send("spawn", spawn_data_with(1.0, 2, None, reset));
        c.expect("spawning").await;
        c.expect("spawning_complete").await;
        h.load.made_requests(5);
        c.send(
            "spawning_complete",
            Value::Map(vec![("user_count".into(), 2.into())]),
        );
        // Let the message be handled before the next requests.
        tokio::time::sleep(Duration::from_millis(10)).await;
        h.load.made_requests(3);
        let mut report = c.expect("stats").await;
        while requests_in(&report) == 0 {
            report = c.expect("stats").await;
        }
        assert_eq!(
            requests_in(&report),
            if reset { 3 } else { 8 },
            "reset={reset}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_worker_flag_resets_stats_even_if_the_master_does_not_say_so() {
    let mut h = Harness::start_with(|_| {}, |cfg| cfg.reset_stats = true);
    let mut c = h.registered().await;
    spawned(&mut c, 1.0, 2).await;
    h.load.made_requests(5);
    c.send("spawning_complete", Value::Map(vec![]));
    tokio::time::sleep(Duration::from_millis(10)).await;
    h.load.made_requests(2);
    let mut report = c.expect("stats").await;
    while requests_in(&report) == 0 {
        report = c.expect("stats").await;
    }
    assert_eq!(requests_in(&report), 2);
}

#[tokio::test(start_paused = true)]
async fn client_ready_after_a_long_run_is_sent_once_and_keeps_the_identity() {
    let mut h = Harness::start(|_| {});
    let mut c = h.registered().await;
    spawned(&mut c, 1.0, 2).await;
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if c.next_any().await.kind == "heartbeat" {
            c.send("heartbeat", Value::Nil);
        }
    }
    c.send("stop", Value::Nil);
    for kind in ["client_stopped", "client_ready"] {
        let mut m = c
            .expect(if kind == "client_stopped" {
                "stats"
            } else {
                kind
            })
            .await;
        if kind == "client_stopped" {
            m = c.expect(kind).await;
        }
        assert_eq!(m.kind, kind);
    }
    c.send("ack", Value::Map(vec![("index".into(), 0.into())]));
    let until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < until {
        let m = c.next_any().await;
        assert_ne!(m.kind, "client_ready", "client_ready resent after the ack");
        if m.kind == "heartbeat" {
            c.send("heartbeat", Value::Nil);
        }
    }
    assert!(h.conns.try_recv().is_err(), "no rejoin");
}

/// The next message other than a heartbeat at a ROUTER: the sender's identity and the type.
async fn next_from(router: &mut zeromq::RouterSocket) -> (Bytes, String) {
    use zeromq::SocketRecv;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), router.recv())
            .await
            .expect("nothing from the worker")
            .unwrap();
        let frames = msg.into_vec();
        let v = rmpv::decode::read_value(&mut &frames[1][..]).unwrap();
        let kind = v[0].as_str().unwrap().to_string();
        if kind != "heartbeat" {
            return (frames[0].clone(), kind);
        }
    }
}

/// The same conversation over a real ZeroMQ ROUTER on port 0 (real time).
#[tokio::test]
async fn a_real_router_sees_ready_spawn_and_quit() {
    use zeromq::{Socket, SocketSend, ZmqMessage};
    let mut router = zeromq::RouterSocket::new();
    let endpoint = router.bind("tcp://127.0.0.1:0").await.unwrap();
    let master = endpoint
        .to_string()
        .trim_start_matches("tcp://")
        .to_string();
    let (load, handle) = fake_load();
    let cfg = SessionConfig::new(master.clone(), NODE.into());
    let connector = Zmq { master };
    let status = Arc::new(watch::channel(SessionStatus::default()).0);
    let mut session = Session::new(cfg, connector, load, status);
    let task = tokio::spawn(async move { session.run(CancellationToken::new()).await });

    let (identity, kind) = next_from(&mut router).await;
    assert_eq!(kind, "client_ready");
    assert_eq!(
        &identity[..],
        NODE.as_bytes(),
        "the node id is the ZeroMQ identity"
    );
    let send = |kind: &str, data: Value| {
        let mut m = ZmqMessage::from(identity.clone());
        m.push_back(frame(kind, data, NODE));
        m
    };
    router.send(send("ack", Value::Map(vec![]))).await.unwrap();
    router
        .send(send("spawn", spawn_data(1.0, 3, None)))
        .await
        .unwrap();
    assert_eq!(next_from(&mut router).await.1, "spawning");
    assert_eq!(next_from(&mut router).await.1, "spawning_complete");
    handle.made_requests(2);
    router.send(send("quit", Value::Nil)).await.unwrap();
    assert_eq!(next_from(&mut router).await.1, "stats");
    assert_eq!(next_from(&mut router).await.1, "quit");
    let exit = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap();
    assert_eq!(exit.unwrap(), Exit::Quit);
}

#[tokio::test(start_paused = true)]
async fn a_connect_that_timed_out_is_retried_under_a_new_identity() {
    let mut h = Harness::start_with(|_| {}, |cfg| cfg.node_id = "unreachable_1".into());
    let c = h.connection().await;
    assert_eq!(c.node, "testhost_rejoined");
    h.shutdown.cancel();
}

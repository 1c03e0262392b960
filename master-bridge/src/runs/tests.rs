//! The run service against a fake Locust master (its web API, in-process on a port-0 listener)
//! and a fake worker (gRPC, the same): the state machine, one run at a time, waiting on the
//! watch channel, and shutdown recording the run as stopped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::{Form, State};
use axum::routing::{get, post};
use contract::etcd::WorkerRecord;
use contract::pb;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::fleet::{Fleet, WorkerAuth};
use crate::pusher::MasterAddress;
use crate::store::Db;

/// What the fake master was asked.
#[derive(Debug, Default)]
struct MasterLog {
    workers: AtomicU32,
    swarm_users: AtomicU32,
    stops: AtomicU32,
    stopped: AtomicBool,
}

async fn fake_master(log: Arc<MasterLog>) -> String {
    async fn swarm(
        State(log): State<Arc<MasterLog>>,
        Form(form): Form<BTreeMap<String, String>>,
    ) -> Json<serde_json::Value> {
        let users = form["user_count"].parse().unwrap_or(0);
        log.swarm_users.store(users, Ordering::SeqCst);
        log.stopped.store(false, Ordering::SeqCst);
        Json(json!({"success": true}))
    }
    let app = axum::Router::new()
        .route("/swarm", post(swarm))
        .route(
            "/stop",
            post(|State(log): State<Arc<MasterLog>>| async move {
                log.stops.fetch_add(1, Ordering::SeqCst);
                log.stopped.store(true, Ordering::SeqCst);
                Json(json!({"success": true}))
            }),
        )
        .route(
            "/worker-count",
            get(|State(log): State<Arc<MasterLog>>| async move {
                Json(json!({"worker_count": log.workers.load(Ordering::SeqCst)}))
            }),
        )
        .route(
            "/stats/requests",
            get(|State(log): State<Arc<MasterLog>>| async move {
                let state = if log.stopped.load(Ordering::SeqCst) {
                    "stopped"
                } else {
                    "running"
                };
                Json(json!({"state": state}))
            }),
        )
        .route(
            "/stats/requests/csv",
            get(|| async {
                "Type,Name,Request Count,Failure Count\nGET,home,7,0\n,Aggregated,7,0\n"
            }),
        )
        .route(
            "/stats/failures/csv",
            get(|| async { "Method,Name,Error,Occurrences\n" }),
        )
        .with_state(log);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// A worker that takes every plan.
struct FakeWorker;

#[tonic::async_trait]
impl pb::worker_server::Worker for FakeWorker {
    async fn apply(
        &self,
        _: tonic::Request<pb::ApplyRequest>,
    ) -> Result<tonic::Response<pb::ApplyResponse>, tonic::Status> {
        Ok(tonic::Response::new(pb::ApplyResponse {
            changed: true,
            plan_version: "v".into(),
        }))
    }
    async fn release(
        &self,
        _: tonic::Request<pb::ReleaseRequest>,
    ) -> Result<tonic::Response<pb::ReleaseResponse>, tonic::Status> {
        Ok(tonic::Response::new(pb::ReleaseResponse::default()))
    }
    async fn status(
        &self,
        _: tonic::Request<pb::StatusRequest>,
    ) -> Result<tonic::Response<pb::WorkerStatus>, tonic::Status> {
        Ok(tonic::Response::new(pb::WorkerStatus::default()))
    }
    async fn r#try(
        &self,
        _: tonic::Request<pb::TryRequest>,
    ) -> Result<tonic::Response<pb::TryResponse>, tonic::Status> {
        Ok(tonic::Response::new(pb::TryResponse::default()))
    }
}

async fn fake_worker() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(pb::worker_server::WorkerServer::new(FakeWorker))
            .serve_with_incoming(incoming),
    );
    addr.to_string()
}

struct Setup {
    runs: Arc<Runs>,
    store: Store,
    log: Arc<MasterLog>,
    root: CancellationToken,
    plan: String,
    _dir: tempfile::TempDir,
}

async fn setup(with_worker: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_db(Db::open(dir.path()).unwrap());
    let plan = store.create_plan("p", &json!({"name": "p"})).await.unwrap();
    let fleet = Fleet::new(WorkerAuth::default());
    let log = Arc::new(MasterLog::default());
    if with_worker {
        let address = fake_worker().await;
        fleet.upsert(
            "/w/1".into(),
            WorkerRecord {
                id: "w1".into(),
                address,
                version: "0".into(),
                labels: BTreeMap::new(),
                cpus: 1,
                started_at: 0.0,
                tls: false,
            },
            contract::etcd::Trust::Unchecked,
        );
        log.workers.store(1, Ordering::SeqCst);
    }
    let master = LocustWeb::new(&fake_master(log.clone()).await, None);
    let pusher = Arc::new(Pusher::new(
        store.clone(),
        fleet,
        MasterAddress {
            host: "127.0.0.1".into(),
            port: 5557,
        },
    ));
    let root = CancellationToken::new();
    let runs = Runs::new(store.clone(), pusher, master, root.clone());
    Setup {
        runs,
        store,
        log,
        root,
        plan: plan.id,
        _dir: dir,
    }
}

fn spec(plan: &str, run_time: Option<&str>) -> RunSpec {
    RunSpec {
        plan: plan.into(),
        users: 3,
        spawn_rate: 3.0,
        run_time: run_time.map(str::to_string),
        stages: Vec::new(),
        labels: BTreeMap::new(),
        environment: None,
        thresholds: Vec::new(),
    }
}

/// Waits (bounded) until the watch channel says run `id` is in `state`.
async fn reaches(runs: &Runs, id: &str, state: RunState) {
    let mut rx = runs.subscribe();
    let seen = tokio::time::timeout(
        Duration::from_secs(10),
        rx.wait_for(|l| l.as_ref().is_some_and(|(i, s)| i == id && *s == state)),
    )
    .await;
    assert!(seen.is_ok(), "run {id} never reached {state}");
}

#[tokio::test]
async fn shutdown_stops_the_swarm_and_records_the_run_stopped() {
    let s = setup(true).await;
    // No run time: the run goes until something stops it.
    let run = s.runs.start(spec(&s.plan, None)).await.unwrap();
    assert_eq!(run.state, RunState::Starting);
    reaches(&s.runs, &run.id, RunState::Running).await;
    assert_eq!(
        s.store.run(&run.id).await.unwrap().unwrap().state,
        RunState::Running
    );

    s.root.cancel();
    assert!(
        s.runs.shutdown(Duration::from_secs(15)).await,
        "the run task did not end within the grace"
    );
    assert_eq!(s.log.swarm_users.load(Ordering::SeqCst), 3);
    let done = s.store.run(&run.id).await.unwrap().unwrap();
    assert_eq!(done.state, RunState::Stopped, "{done:?}");
    assert!(done.ended_at.is_some());
    assert_eq!(done.stats[1]["name"], "Aggregated");
    assert_eq!(done.stats[1]["num_requests"], 7);
    assert!(
        s.log.stops.load(Ordering::SeqCst) >= 1,
        "the master was not stopped"
    );
    assert!(s.runs.live().is_none());
}

#[tokio::test]
async fn one_run_at_a_time_and_stop_ends_it_stopped() {
    let s = setup(true).await;
    let run = s.runs.start(spec(&s.plan, None)).await.unwrap();
    assert!(matches!(
        s.runs.start(spec(&s.plan, None)).await,
        Err(RunError::Busy(id)) if id == run.id
    ));
    reaches(&s.runs, &run.id, RunState::Running).await;
    assert!(matches!(
        s.runs.start(spec(&s.plan, None)).await,
        Err(RunError::Busy(_))
    ));
    s.runs.stop(&run.id).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(15), s.runs.wait(&run.id))
        .await
        .expect("wait did not return")
        .unwrap();
    assert_eq!(done.state, RunState::Stopped);
    // The next run is accepted once the first has ended.
    let next = s.runs.start(spec(&s.plan, Some("1s"))).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(15), s.runs.wait(&next.id))
        .await
        .expect("wait did not return")
        .unwrap();
    assert_eq!(done.state, RunState::Finished, "{done:?}");
    assert!(matches!(
        s.runs.stop("nope").await,
        Err(RunError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_run_no_worker_takes_fails_and_the_master_is_stopped_anyway() {
    let s = setup(false).await;
    let run = s.runs.start(spec(&s.plan, Some("10s"))).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(15), s.runs.wait(&run.id))
        .await
        .expect("wait did not return")
        .unwrap();
    assert_eq!(done.state, RunState::Failed);
    assert_eq!(
        done.error.as_deref(),
        Some("no worker took the plan (no workers)")
    );
    assert_eq!(s.log.stops.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn bad_requests_start_nothing() {
    let s = setup(false).await;
    let mut bad = spec(&s.plan, Some("soon"));
    assert!(matches!(
        s.runs.start(bad.clone()).await,
        Err(RunError::InvalidSpec(SpecError::Duration { .. }))
    ));
    bad.run_time = None;
    bad.plan = "nope".into();
    assert!(matches!(
        s.runs.start(bad).await,
        Err(RunError::PlanNotFound(p)) if p == "nope"
    ));
    assert!(s.store.runs().await.unwrap().is_empty());
    assert!(matches!(
        s.runs.wait("nope").await,
        Err(RunError::NotFound(_))
    ));
}

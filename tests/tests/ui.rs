//! The web UI in real browsers against a running bridge, etcd, master, two workers and a
//! target: Debian's Chromium driven by playwright-core (`tests/ui/ui.test.mjs`), then Debian's
//! Firefox driven over WebDriver BiDi (`tests/ui/firefox.test.mjs`). `tests/ui/har.test.mjs`
//! records a session on the demo shop as HAR in Chromium, imports it and runs it on the fleet. Imports go through the
//! bridge's `POST /api/import` (the Rust converter, tested in `tests/imports.rs`). The Chromium
//! tests also cover edits never being lost (two-tab conflict, invalid JSON, drafts across a
//! reload), pollers stopped on leaving a page, the keyboard, axe-core (pinned in
//! `tests/ui/package.json`) on every page, and a 420 px wide window.

use std::time::Duration;

use integration_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_ui_in_chromium() {
    let cluster = Cluster::start(
        "web_ui",
        ClusterSpec {
            etcd: true,
            target: Some(TargetConfig::default()),
            master: Some(MasterOpts::web()),
            bridge: Some(Vec::new()),
            workers: 2,
            ..ClusterSpec::default()
        },
    )
    .await;
    let mut cluster = cluster;
    assert_eq!(cluster.bridge().workers().await.len(), 2);

    // A run that ended, then its master replaced by a new one: the browser downloads the run's
    // CSV and HTML report from the bridge's store, not from the master that produced them.
    let plan = serde_json::json!({"name": "before-restart", "host": cluster.target().url(),
        "transactions": [{"name": "warm-up", "steps": [{"name": "front page", "method": "GET", "url": "/"}]}]});
    let (status, saved) = cluster.bridge().post("/api/plans", &plan).await;
    assert_eq!(status, 201, "{saved}");
    let run_body =
        serde_json::json!({"plan": saved["id"], "users": 2, "spawn_rate": 2, "run_time": "2s"});
    let (status, started) = cluster.bridge().post("/api/runs", &run_body).await;
    assert_eq!(status, 201, "{started}");
    let restarted_run = started["id"].as_str().unwrap().to_string();
    let done = cluster
        .bridge()
        .wait_run(&restarted_run, Duration::from_secs(60))
        .await;
    assert_eq!(done["state"], "finished", "{done}");
    let old = cluster.master.take().expect("a master");
    let (opts, old_pid) = (old.opts.clone(), old.proc.pid());
    drop(old);
    let master = Master::restart(&cluster.dir, "master-restarted", opts).await;
    assert_ne!(master.proc.pid(), old_pid);
    let csv = master
        .get_text("/stats/requests/csv")
        .await
        .unwrap_or_default();
    assert!(
        csv.lines()
            .all(|l| !l.contains(",Aggregated,") || l.contains(",Aggregated,0,")),
        "the new master starts empty: {csv}"
    );
    cluster.master = Some(master);
    // The workers find the new master on their own.
    eventually(
        Duration::from_secs(30),
        "the workers on the new master",
        || async { (cluster.master().worker_count().await == Some(2)).then_some(()) },
    )
    .await;

    let (dir, target) = (&cluster.dir, cluster.target());
    let (master, bridge) = (cluster.master(), cluster.bridge());

    let ui = root().join("tests/ui");
    let mut cmd = tokio::process::Command::new("node");
    // Node 20 has WebSocket (for the Firefox test's WebDriver BiDi) only behind a flag.
    let version = std::process::Command::new("node")
        .arg("--version")
        .output()
        .expect("node");
    if String::from_utf8_lossy(&version.stdout).starts_with("v20.") {
        cmd.arg("--experimental-websocket");
    }
    // The demo shop, for the HAR recording test.
    let (_demo, demo_url) = demo_shop(dir).await;
    let files = ["ui.test.mjs", "har.test.mjs", "firefox.test.mjs"];
    cmd.arg("--test")
        .arg("--test-concurrency=1")
        .arg("--test-reporter=spec")
        .args(files.iter().map(|f| ui.join(f)))
        .current_dir(&ui)
        .env("BRIDGE_URL", bridge.url(""))
        .env("TARGET_URL", target.url())
        .env("DEMO_URL", &demo_url)
        .env("RESTARTED_RUN", &restarted_run)
        .env(
            "MASTER_WEB",
            format!("http://127.0.0.1:{}", master.opts.web_port),
        )
        .env("SCREENSHOT_DIR", dir.join("screenshots"))
        .kill_on_drop(true);
    // Written as it goes, so a hang still leaves what ran in the log.
    let log_path = dir.join("node.log");
    let err_path = dir.join("node.err.log");
    cmd.stdout(std::fs::File::create(&log_path).expect("node.log"))
        .stderr(std::fs::File::create(&err_path).expect("node.err.log"));
    let mut child = cmd.spawn().expect("node runs");
    let status = tokio::time::timeout(Duration::from_secs(420), child.wait()).await;
    let stdout = std::fs::read_to_string(&log_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let status = status
        .unwrap_or_else(|_| {
            panic!("the browser tests did not finish in 420 s:\n{stdout}\n{stderr}")
        })
        .expect("node runs");
    let out = std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    assert!(
        out.status.success(),
        "browser tests failed:\n{stdout}\n{stderr}"
    );
    // Every browser test ran and passed (none skipped or lost): as many as the files declare.
    let declared: usize = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(ui.join(f)).expect("test file");
            text.lines().filter(|l| l.starts_with("test(")).count()
        })
        .sum();
    let summary = |key: &str| -> usize {
        stdout
            .lines()
            .find_map(|l| l.trim_start_matches(['ℹ', ' ']).strip_prefix(key))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key:?} in the summary:\n{stdout}"))
    };
    assert!(declared >= 5, "only {declared} browser tests found");
    assert_eq!(summary("tests "), declared, "{stdout}");
    assert_eq!(summary("pass "), declared, "{stdout}");
    assert_eq!(summary("fail "), 0, "{stdout}");
    // The Postman collection's checkout sent exactly two orders, with bearer then basic auth
    // (the UI's own plans have none).
    assert_eq!(target.count("POST /orders"), 2, "{:?}", target.counts());
    // Every screenshot is a real image of a rendered page (PNG, not empty or a 0x0 canvas).
    for shot in [
        "request-editor",
        "postman-import",
        "fleet",
        "run-live",
        "runs",
        "run-files",
        "compare",
        "demo-shop",
        "conflict",
        "narrow-collections",
        "narrow-environments",
        "narrow-fleet",
        "narrow-runs",
        "firefox-collections",
        "firefox-fleet",
        "firefox-runs",
    ] {
        let png = std::fs::read(dir.join(format!("screenshots/{shot}.png")))
            .unwrap_or_else(|e| panic!("screenshot {shot}: {e}"));
        assert!(
            png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n") && &png[12..16] == b"IHDR",
            "{shot} is not a PNG"
        );
        let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
        let min_width = if shot.starts_with("narrow-") {
            420
        } else {
            640
        };
        assert!(
            width >= min_width && height >= 400,
            "{shot} is {width}x{height}"
        );
    }
}

//! The web UI in real browsers against a running bridge, etcd, master, two workers and a
//! target: Debian's Chromium driven by playwright-core (`tests/ui/ui.test.mjs`), then Debian's
//! Firefox driven over WebDriver BiDi (`tests/ui/firefox.test.mjs`). Imports go through the
//! bridge's `POST /api/import` (the Rust converter, tested in `tests/imports.rs`).

use std::time::Duration;

use integration_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_ui_in_chromium() {
    let dir = test_dir("web_ui");
    let etcd = Etcd::start(&dir).await;
    let target = Target::start(TargetConfig::default()).await;
    let master = Master::start(&dir, "master", MasterOpts::web());
    let bridge = BridgeProc::start(&dir, "bridge", &etcd, &master, &[]).await;
    let _w1 = FleetWorker::start(&dir, "w1", &etcd.endpoint(), &[]);
    let _w2 = FleetWorker::start(&dir, "w2", &etcd.endpoint(), &[]);
    eventually(Duration::from_secs(10), "two workers", || async {
        (bridge.workers().await.len() == 2).then_some(())
    })
    .await;
    master.wait_web().await;

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
    cmd.arg("--test")
        .arg("--test-concurrency=1")
        .arg("--test-reporter=spec")
        .arg(ui.join("ui.test.mjs"))
        .arg(ui.join("firefox.test.mjs"))
        .current_dir(&ui)
        .env("BRIDGE_URL", bridge.url(""))
        .env("TARGET_URL", target.url())
        .env(
            "MASTER_WEB",
            format!("http://127.0.0.1:{}", master.opts.web_port),
        )
        .env("SCREENSHOT_DIR", dir.join("screenshots"))
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(240), cmd.output())
        .await
        .expect("the browser tests finished")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    std::fs::write(dir.join("node.log"), format!("{stdout}\n{stderr}")).ok();
    assert!(
        out.status.success(),
        "browser tests failed:\n{stdout}\n{stderr}"
    );
    // The Postman collection's requests reached the target.
    assert!(target.count("POST /orders") >= 1);
    for shot in [
        "request-editor",
        "postman-import",
        "fleet",
        "run-live",
        "runs",
        "firefox-collections",
        "firefox-fleet",
        "firefox-runs",
    ] {
        assert!(
            dir.join(format!("screenshots/{shot}.png")).exists(),
            "no screenshot {shot}"
        );
    }
}

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
    let (dir, target) = (&cluster.dir, cluster.target());
    let (master, bridge) = (cluster.master(), cluster.bridge());
    assert_eq!(bridge.workers().await.len(), 2);

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
    let mut demo_cmd = std::process::Command::new(bin("master-bridge"));
    demo_cmd.args(["demo-target", "--listen", "127.0.0.1", "--port", "0"]);
    let mut demo = Proc::spawn(demo_cmd, dir, "demo-shop");
    let demo_addr = demo.listening("http").await;
    let files = ["ui.test.mjs", "har.test.mjs", "firefox.test.mjs"];
    cmd.arg("--test")
        .arg("--test-concurrency=1")
        .arg("--test-reporter=spec")
        .args(files.iter().map(|f| ui.join(f)))
        .current_dir(&ui)
        .env("BRIDGE_URL", bridge.url(""))
        .env("TARGET_URL", target.url())
        .env("DEMO_URL", format!("http://{demo_addr}"))
        .env(
            "MASTER_WEB",
            format!("http://127.0.0.1:{}", master.opts.web_port),
        )
        .env("SCREENSHOT_DIR", dir.join("screenshots"))
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(360), cmd.output())
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

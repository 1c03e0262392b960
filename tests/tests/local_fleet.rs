//! The README's first command, `deploy/local-fleet.sh`, in its `--headless` mode: the whole
//! system comes up on this machine, runs a short test against the demo shop and prints the
//! master's summary with requests and no failures.

use std::time::Duration;

use integration_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_fleet_headless_runs_the_shop_without_failures() {
    let dir = test_dir("local_fleet");
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(root().join("deploy/local-fleet.sh"))
        .args(["--headless", "--run-time", "5s", "--users", "6", "--debug"])
        .env("LOCAL_FLEET_DIR", dir.join("fleet"))
        .env("LOCAL_FLEET_FREE_PORTS", "1")
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(180), cmd.output())
        .await
        .expect("local-fleet.sh finished")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let agg = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("Aggregated"))
        .unwrap_or_else(|| panic!("no summary in {stdout}"));
    let cols: Vec<&str> = agg.split_whitespace().collect();
    let requests: u64 = cols[1].parse().unwrap();
    let failures: u64 = cols[2].parse().unwrap();
    assert_eq!(failures, 0, "{stdout}");
    // Each of the shop's three steps has its row with requests and no failures, and together
    // they make up the Aggregated row exactly.
    let mut sum = 0;
    for name in ["home", "login", "order"] {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no row {name}: {stdout}"));
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (reqs, fails): (u64, u64) = (cols[2].parse().unwrap(), cols[3].parse().unwrap());
        assert!(reqs > 0, "{name}: no requests: {stdout}");
        assert_eq!(fails, 0, "{name}: {stdout}");
        sum += reqs;
    }
    assert_eq!(sum, requests, "rows vs Aggregated: {stdout}");
}

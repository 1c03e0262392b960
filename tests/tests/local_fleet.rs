//! The README's first command, `deploy/local-fleet.sh`, in its `--headless` mode: the whole
//! system comes up on this machine, runs a short test against the demo shop and prints the
//! master's summary with requests and no failures — on a PATH where npm and node are not found
//! (running needs neither: only the test set-up installs them).

use std::path::Path;
use std::time::Duration;

use integration_tests::*;

/// Tools a machine without Node.js lacks.
const NODE_TOOLS: [&str; 4] = ["npm", "npx", "node", "corepack"];

/// This process's PATH with every directory that holds a Node.js tool replaced by a copy (of
/// symlinks) without them, under `shadow`.
fn path_without_node(shadow: &Path) -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = Vec::new();
    for (i, dir) in std::env::split_paths(&path).enumerate() {
        if !NODE_TOOLS.iter().any(|t| dir.join(t).exists()) {
            dirs.push(dir);
            continue;
        }
        let copy = shadow.join(i.to_string());
        std::fs::create_dir_all(&copy).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name();
            if !NODE_TOOLS.iter().any(|t| name == *t) {
                let _ = std::os::unix::fs::symlink(entry.path(), copy.join(&name));
            }
        }
        dirs.push(copy);
    }
    std::env::join_paths(dirs).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_fleet_headless_runs_the_shop_without_failures() {
    let dir = test_dir("local_fleet");
    let path = path_without_node(&dir.join("path"));
    for tool in NODE_TOOLS {
        let found = std::process::Command::new("bash")
            .args(["-c", &format!("command -v {tool}")])
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(!found.status.success(), "{tool} still on the test's PATH");
    }
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(root().join("deploy/local-fleet.sh"))
        .args(["--headless", "--run-time", "5s", "--users", "6", "--debug"])
        .env("LOCAL_FLEET_DIR", dir.join("fleet"))
        .env("LOCAL_FLEET_FREE_PORTS", "1")
        .env("PATH", &path)
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

//! Code generation, run for real: `master-bridge export --format locust` writes a locustfile
//! that plain Locust (the pinned one) runs headless against a target that checks its login
//! token, with zero failures and exactly the requests the target served; `--format curl`
//! writes commands that curl runs, and the target sees the credentials the plan's auth says.

use std::process::Command;
use std::time::Duration;

use base64::Engine;
use integration_tests::*;
use serde_json::json;

fn plan(target: &Target) -> serde_json::Value {
    json!({"name": "codegen", "host": target.url(), "variables": {"who": "pat"},
      "setup": [{"name": "login", "method": "POST", "url": "/login", "json": {"user": "{{who}}"},
                 "extract": [{"var": "token", "json": "$.token"}], "assert": [{"status": 200}]}],
      "transactions": [
        {"name": "order", "weight": 2, "auth": {"type": "bearer", "token": "{{token}}"}, "steps": [
          {"name": "new order", "method": "POST", "url": "/orders", "json": {"item": 1},
           "assert": [{"status": 201}, {"json": "$.id", "exists": true}]}]},
        {"name": "browse", "steps": [
          {"name": "home", "method": "GET", "url": "/", "query": {"q": "a b"}, "assert": [{"body_contains": "shop"}],
           "auth": {"type": "basic", "username": "{{who}}", "password": "pw"}}]}]})
}

fn export(dir: &std::path::Path, format: &str, plan: &serde_json::Value) -> String {
    let file = write_plan(dir, "codegen", plan);
    let out = Command::new(bin("master-bridge"))
        .args(["export", "--format", format])
        .arg(&file)
        .output()
        .expect("master-bridge export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_locustfile_runs_in_plain_locust_with_zero_failures() {
    let dir = test_dir("codegen_locust");
    let target = Target::start(TargetConfig {
        require_token: true,
        ..TargetConfig::default()
    })
    .await;
    let code = export(&dir, "locust", &plan(&target));
    let file = dir.join("locustfile.py");
    std::fs::write(&file, &code).unwrap();
    let prefix = dir.join("generated");
    let mut cmd = tokio::process::Command::new(locust_bin());
    cmd.arg("-f")
        .arg(&file)
        .args([
            "--headless",
            "-u",
            "3",
            "-r",
            "3",
            "-t",
            "4s",
            "--only-summary",
            "--csv",
        ])
        .arg(&prefix)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("locust ended")
        .expect("locust runs");
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.join("locust.log"), &log).ok();
    let rows = parse_stats_csv(
        &std::fs::read_to_string(format!("{}_stats.csv", prefix.display())).expect("stats csv"),
    );
    let total = row(&rows, "Aggregated");
    assert!(total.requests > 10, "{rows:?}\n{log}");
    assert_eq!(total.failures, 0, "{rows:?}\n{log}");
    // Every request Locust counted reached the target (plain Locust drops from its CSV what is in
    // flight, and what the last second did, when -t ends the run: so at most), and every order
    // carried a token the target issued (it answers 401 otherwise, counted below).
    assert!(total.requests <= target.total(), "{:?}", target.counts());
    assert!(row(&rows, "new order").requests > 0, "{rows:?}");
    assert_eq!(
        row(&rows, "login").requests,
        3,
        "one login per user (setup)"
    );
    assert_eq!(target.count("POST /login"), 3);
    assert!(target.failures().is_empty(), "{:?}", target.failures());
    assert!(out.status.success(), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_curl_commands_send_what_the_plan_says() {
    let dir = test_dir("codegen_curl");
    let target = Target::start(TargetConfig::default()).await;
    let script = export(&dir, "curl", &plan(&target));
    // The home page step: basic auth of {{who}} filled in, the query encoded.
    let home = script
        .split("\n\n")
        .find(|c| c.contains("# browse / home"))
        .expect("the home step");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{home} --silent --show-error --fail"))
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{home}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let basic = base64::engine::general_purpose::STANDARD.encode("pat:pw");
    let seen = target.credentials();
    assert_eq!(
        seen.keys().collect::<Vec<_>>(),
        [&format!("GET /?q=a%20b auth=Basic {basic} key=-")],
        "{home}"
    );
    // The order step keeps {{token}} (extracted at run time): curl sends it as written.
    assert!(
        script.contains("-H 'Authorization: Bearer {{token}}'"),
        "{script}"
    );
}

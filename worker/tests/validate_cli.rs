//! `worker validate`: plan files checked as the worker reads them, every wrong field named.

use std::process::Command;

fn worker() -> Command {
    Command::new(env!("CARGO_BIN_EXE_worker"))
}

#[test]
fn valid_and_invalid_plans_and_their_exit_codes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = worker()
        .arg("validate")
        .arg(root.join("examples/shop.json"))
        .arg(root.join("examples/journey.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("ok"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"name": "x", "max_body": 1, "transactions": [{"name": "t", "weight": 0,
            "steps": [{"name": "s", "method": "FETCH", "url": "/{{nobody}}"}]}]}"#,
    )
    .unwrap();
    let out = worker()
        .arg("validate")
        .arg(&bad)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = json.to_string();
    for field in [
        "max_body",
        "transactions[0].weight",
        "transactions[0].steps[0].method",
    ] {
        assert!(text.contains(field), "{field} not in {text}");
    }
    let out = worker()
        .arg("validate")
        .arg(&bad)
        .args(["--environment", "/nonexistent.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

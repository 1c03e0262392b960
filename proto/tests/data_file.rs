//! `data.file` is confined to the plan's directory and its content never appears in an error.

use contract::Plan;

fn plan_with(dir: &std::path::Path, file: &str) -> std::path::PathBuf {
    let plan = serde_json::json!({
        "name": "p", "host": "http://127.0.0.1:1",
        "data": {"file": file},
        "transactions": [{"name": "t", "steps": [{"name": "s", "method": "GET", "url": "/"}]}]
    });
    let path = dir.join("plan.json");
    std::fs::write(&path, plan.to_string()).unwrap();
    path
}

#[test]
fn a_file_next_to_the_plan_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/users.csv"), "user\nalice\nbob\n").unwrap();
    let plan = Plan::from_file(&plan_with(dir.path(), "data/users.csv"), &[]).unwrap();
    assert!(plan.data.is_some());
}

#[test]
fn absolute_paths_parent_steps_and_links_out_are_refused_without_echoing_content() {
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("secret.csv");
    std::fs::write(&secret, "TOKEN=hunter2-very-secret\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&secret, dir.path().join("link.csv")).unwrap();
    let inside = dir.path().join("sub");
    std::fs::create_dir(&inside).unwrap();
    let up = format!("../{}", dir.path().file_name().unwrap().to_str().unwrap());
    for file in [
        "/proc/self/environ",
        secret.to_str().unwrap(),
        "../secret.csv",
        "sub/../../x.csv",
        up.as_str(),
        "link.csv",
    ] {
        let err = Plan::from_file(&plan_with(dir.path(), file), &[]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("data.file"), "{file}: {text}");
        assert!(!text.contains("hunter2"), "{file}: content echoed: {text}");
        assert!(
            !text.contains("PATH="),
            "{file}: environment echoed: {text}"
        );
    }
}

#[test]
fn a_csv_with_a_bad_header_is_described_by_position_not_content() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.csv"), "ok,sec ret=hunter2\n1,2\n").unwrap();
    let err = Plan::from_file(&plan_with(dir.path(), "d.csv"), &[]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("column 2"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

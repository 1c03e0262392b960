//! `/api/import`, the exports, save warnings and the undefined-variable refusals, through the
//! router without a socket (the cross-process versions are in `tests/tests/imports.rs`).

use axum::http::StatusCode;
use serde_json::json;

use super::tests::{app, call};

#[tokio::test]
async fn import_save_warn_refuse_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), None);
    // curl with a variable nothing defines: a plan, a warning, no note.
    let body =
        json!({"format": "curl", "content": "curl -H 'X-Trace: {{trace_id}}' https://shop.test/a"});
    let (status, out) = call(&app, "POST", "/api/import", Some(body), None).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["notes"], json!([]));
    assert_eq!(out["environment"], json!(null));
    assert_eq!(out["warnings"][0]["variable"], "trace_id");
    let plan = out["plan"].clone();

    // The environment defines it: saved with no warning; without it, saved with one.
    let (status, _) = call(
        &app,
        "PUT",
        "/api/environments/dev",
        Some(json!({"variables": {"trace_id": "abc"}})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, saved) = call(
        &app,
        "POST",
        "/api/plans?environment=dev",
        Some(plan.clone()),
        None,
    )
    .await;
    assert_eq!(
        (status, &saved["warnings"]),
        (StatusCode::CREATED, &json!([]))
    );
    let id = saved["id"].as_str().unwrap().to_string();
    let (status, saved) = call(&app, "PUT", &format!("/api/plans/{id}"), Some(plan), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        saved["warnings"],
        json!([{"variable": "trace_id", "path": "transactions[0].steps[0].headers.X-Trace",
                "message": "undefined variable {{trace_id}}: not a plan variable, data column, extracted value, --var or environment variable"}])
    );
    let (status, _) = call(
        &app,
        "POST",
        "/api/plans?environment=nope",
        Some(json!({})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Send, push and run without the environment: 422 naming it; with it, past the check.
    let txn = saved["plan"]["transactions"][0]["name"].clone();
    let (status, err) = call(
        &app,
        "POST",
        "/api/try",
        Some(json!({"plan": id, "transaction": txn})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["missing"], json!(["trace_id"]));
    assert_eq!(err["error"], "undefined variables: trace_id");
    let (status, err) = call(
        &app,
        "POST",
        &format!("/api/plans/{id}/push"),
        Some(json!({})),
        None,
    )
    .await;
    assert_eq!(
        (status, &err["missing"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!(["trace_id"]))
    );
    let run = json!({"plan": id, "users": 1, "spawn_rate": 1});
    let (status, err) = call(&app, "POST", "/api/runs", Some(run), None).await;
    assert_eq!(
        (status, &err["missing"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!(["trace_id"]))
    );
    let (status, _) = call(
        &app,
        "POST",
        "/api/try",
        Some(json!({"plan": id, "transaction": txn, "environment": "dev"})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "no worker to send with");

    // Exports.
    let (status, c) = call(&app, "GET", &format!("/api/plans/{id}/export"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(c["info"]["schema"].as_str().unwrap().contains("v2.1.0"));
    let (status, _) = call(
        &app,
        "GET",
        &format!("/api/plans/{id}/export?format=yaml"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, e) = call(
        &app,
        "GET",
        "/api/environments/dev/export?format=postman",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(e["values"][0]["key"], "trace_id");

    // Bad input: 422 JSON, nothing stored.
    for bad in [
        json!({"format": "postman", "content": "not json"}),
        json!({"format": "har", "content": "{}"}),
        json!({"format": "swagger", "content": "{}"}),
        json!({"format": "curl", "content": "curl x", "extra": 1}),
    ] {
        let (status, err) = call(&app, "POST", "/api/import", Some(bad.clone()), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {err}");
        assert!(err["error"].is_string());
    }
    let (_, plans) = call(&app, "GET", "/api/plans", None, None).await;
    assert_eq!(plans.as_array().unwrap().len(), 1);
}

//! `/api/workers`: every worker the fleet knows, with its live status.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/workers", get(list))
}

async fn list(State(s): State<AppState>) -> Json<Value> {
    Json(json!(s.fleet.workers()))
}

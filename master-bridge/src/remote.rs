//! A client of a running bridge's REST API, for `master-bridge run --bridge-url`: store the
//! plan, wait for a worker, start the run, follow it to its end, fetch the master's report.
//! Every answer is read with a size limit; errors name the call and the bridge's message.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::config::WebAuth;

/// The largest JSON answer read from the bridge.
const JSON_LIMIT: usize = 64 << 20;
/// The largest HTML report read.
const REPORT_LIMIT: usize = 32 << 20;
const POLL: Duration = Duration::from_millis(500);
/// How long a run gets to end after it was asked to stop.
const STOP_GRACE: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("the bridge at {url} did not answer: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("the bridge refused {call}: HTTP {status}: {message}")]
    Refused {
        call: String,
        status: u16,
        message: String,
    },
    #[error("the bridge's answer to {0} is larger than the limit")]
    TooLarge(String),
    #[error("the bridge's answer to {0} is not the expected JSON")]
    BadAnswer(String),
    #[error("no worker appeared on the bridge within {0}")]
    NoWorker(String),
    #[error("interrupted")]
    Interrupted,
    #[error("run {0} did not end within {1:?} of being stopped")]
    DidNotStop(String, Duration),
}

/// A client of one bridge.
#[derive(Debug, Clone)]
pub struct Bridge {
    base: String,
    http: reqwest::Client,
    auth: Option<WebAuth>,
}

impl Bridge {
    pub fn new(base: &str, auth: Option<WebAuth>) -> Bridge {
        Bridge {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap_or_default(),
            auth,
        }
    }

    /// Sends a call; `body` makes it a JSON POST (the bridge's guard wants the JSON content
    /// type on every state change). The answer's bytes, at most `limit`.
    async fn call(
        &self,
        path: &str,
        body: Option<&Value>,
        limit: usize,
    ) -> Result<Vec<u8>, RemoteError> {
        let url = format!("{}{path}", self.base);
        let req = match body {
            Some(b) => self.http.post(&url).json(b),
            None => self.http.get(&url),
        };
        let req = match &self.auth {
            Some(a) => req.basic_auth(&a.user, Some(&a.pass)),
            None => req,
        };
        let http = |source| RemoteError::Http {
            url: self.base.clone(),
            source,
        };
        let mut resp = req.send().await.map_err(http)?;
        let status = resp.status();
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(http)? {
            if bytes.len() + chunk.len() > limit {
                return Err(RemoteError::TooLarge(path.to_string()));
            }
            bytes.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            let message = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| text.chars().take(300).collect());
            return Err(RemoteError::Refused {
                call: path.to_string(),
                status: status.as_u16(),
                message,
            });
        }
        Ok(bytes)
    }

    async fn json(&self, path: &str, body: Option<&Value>) -> Result<Value, RemoteError> {
        let bytes = self.call(path, body, JSON_LIMIT).await?;
        serde_json::from_slice(&bytes).map_err(|_| RemoteError::BadAnswer(path.to_string()))
    }

    /// Stores a plan; its id.
    pub async fn create_plan(&self, plan: &Value) -> Result<String, RemoteError> {
        let created = self.json("/api/plans", Some(plan)).await?;
        created["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| RemoteError::BadAnswer("/api/plans".into()))
    }

    /// Waits (up to `wait`) until the bridge knows a reachable worker carrying `labels`.
    pub async fn wait_for_worker(
        &self,
        labels: &BTreeMap<String, String>,
        wait: Duration,
        wait_text: &str,
        shutdown: &CancellationToken,
    ) -> Result<(), RemoteError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let workers = self.json("/api/workers", None).await?;
            let any = workers.as_array().into_iter().flatten().any(|w| {
                w["unreachable"].is_null()
                    && labels
                        .iter()
                        .all(|(k, v)| w["record"]["labels"][k].as_str() == Some(v.as_str()))
            });
            if any {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(RemoteError::NoWorker(wait_text.to_string()));
            }
            tokio::select! {
                () = shutdown.cancelled() => return Err(RemoteError::Interrupted),
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Starts a run (`spec` as `POST /api/runs` takes it); its id.
    pub async fn start_run(&self, spec: &Value) -> Result<String, RemoteError> {
        let run = self.json("/api/runs", Some(spec)).await?;
        run["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| RemoteError::BadAnswer("/api/runs".into()))
    }

    /// Follows a run to its end and returns its record. `shutdown` stops it (the bridge then
    /// records it `stopped` with the statistics so far), and the record is still awaited.
    pub async fn follow(
        &self,
        id: &str,
        shutdown: &CancellationToken,
    ) -> Result<Value, RemoteError> {
        let path = format!("/api/runs/{id}");
        let mut stop_deadline = None;
        loop {
            let run = self.json(&path, None).await?;
            let state = run["state"].as_str().unwrap_or("");
            if !matches!(state, "starting" | "running") {
                return Ok(run);
            }
            if let Some(deadline) = stop_deadline
                && tokio::time::Instant::now() > deadline
            {
                return Err(RemoteError::DidNotStop(id.to_string(), STOP_GRACE));
            }
            let stopping = stop_deadline.is_some();
            tokio::select! {
                () = shutdown.cancelled(), if !stopping => {
                    tracing::info!(run = %id, "stopping the run on the bridge");
                    self.json(&format!("/api/runs/{id}/stop"), Some(&json!({}))).await?;
                    stop_deadline = Some(tokio::time::Instant::now() + STOP_GRACE);
                }
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// The master's HTML report, through the bridge.
    pub async fn report(&self) -> Result<Vec<u8>, RemoteError> {
        self.call("/api/report", None, REPORT_LIMIT).await
    }
}

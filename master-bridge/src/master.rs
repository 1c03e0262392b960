//! The Locust master's web API, as the bridge drives it: `POST /swarm`, `POST /stop`,
//! `GET /stats/requests`, the CSV tables as the final statistics, and the HTML report.

use std::time::Duration;

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    #[error("the Locust master at {url} did not answer: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("the Locust master refused: {0}")]
    Refused(String),
    #[error("the Locust master's report is larger than {0} bytes")]
    TooLarge(usize),
}

/// A client of one master's web UI.
#[derive(Debug, Clone)]
pub struct LocustWeb {
    base: String,
    http: reqwest::Client,
    /// `--web-login`/`--web-auth` credentials of the master, if it has them.
    auth: Option<(String, String)>,
}

impl LocustWeb {
    pub fn new(base: &str, auth: Option<(String, String)>) -> LocustWeb {
        LocustWeb {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            auth,
        }
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.auth {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }

    fn err(&self, source: reqwest::Error) -> MasterError {
        MasterError::Http {
            url: self.base.clone(),
            source,
        }
    }

    /// Sends a request and fails on a transport error or an error status.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, MasterError> {
        req.send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| self.err(e))
    }

    async fn json(&self, path: &str) -> Result<Value, MasterError> {
        let resp = self.send(self.req(reqwest::Method::GET, path)).await?;
        resp.json().await.map_err(|e| self.err(e))
    }

    async fn text(&self, path: &str) -> Result<String, MasterError> {
        let resp = self.send(self.req(reqwest::Method::GET, path)).await?;
        resp.text().await.map_err(|e| self.err(e))
    }

    /// Starts a swarm, or changes the user count of the running one.
    pub async fn swarm(
        &self,
        users: u32,
        spawn_rate: f64,
        host: Option<&str>,
    ) -> Result<(), MasterError> {
        let mut form = vec![
            ("user_count", users.to_string()),
            ("spawn_rate", spawn_rate.to_string()),
        ];
        if let Some(h) = host {
            form.push(("host", h.to_string()));
        }
        let resp = self
            .send(self.req(reqwest::Method::POST, "/swarm").form(&form))
            .await?;
        let resp: Value = resp.json().await.map_err(|e| self.err(e))?;
        if resp["success"] == true {
            Ok(())
        } else {
            Err(MasterError::Refused(
                resp["message"]
                    .as_str()
                    .unwrap_or("swarm refused")
                    .to_string(),
            ))
        }
    }

    pub async fn stop(&self) -> Result<(), MasterError> {
        self.send(self.req(reqwest::Method::POST, "/stop")).await?;
        Ok(())
    }

    pub async fn worker_count(&self) -> Result<u64, MasterError> {
        Ok(self.json("/worker-count").await?["worker_count"]
            .as_u64()
            .unwrap_or(0))
    }

    /// `GET /stats/requests` (state, user count, current rows).
    pub async fn live(&self) -> Result<Value, MasterError> {
        self.json("/stats/requests").await
    }

    /// The statistics table: one object per row, Locust's field names, `Aggregated` last.
    pub async fn stats(&self) -> Result<Vec<Value>, MasterError> {
        Ok(stats_rows(&self.text("/stats/requests/csv").await?))
    }

    /// The HTML report of the current (or last) run, as Locust 2.47 serves it for download
    /// (`/stats/report?download=1`), at most `limit` bytes.
    pub async fn report(&self, limit: usize) -> Result<Vec<u8>, MasterError> {
        self.file("/stats/report?download=1", limit).await
    }

    /// `GET path` on the master's web UI, at most `limit` bytes.
    pub async fn file(&self, path: &str, limit: usize) -> Result<Vec<u8>, MasterError> {
        let mut resp = self.send(self.req(reqwest::Method::GET, path)).await?;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.err(e))? {
            if body.len() + chunk.len() > limit {
                return Err(MasterError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// `GET /exceptions`: `{"exceptions": [{count, msg, traceback, nodes}]}`.
    pub async fn exceptions(&self) -> Result<Value, MasterError> {
        self.json("/exceptions").await
    }

    /// The failures table: `method`, `name`, `error`, `occurrences`.
    pub async fn failures(&self) -> Result<Vec<Value>, MasterError> {
        Ok(failure_rows(&self.text("/stats/failures/csv").await?))
    }
}

/// Locust's stats CSV as objects with the field names of its JSON (`num_requests`, ...).
pub fn stats_rows(csv_text: &str) -> Vec<Value> {
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let Ok(headers) = rdr.headers().cloned() else {
        return Vec::new();
    };
    rdr.records()
        .filter_map(Result::ok)
        .map(|r| {
            let mut m = Map::new();
            for (h, v) in headers.iter().zip(r.iter()) {
                let key = match h {
                    "Type" => "method".to_string(),
                    "Name" => "name".to_string(),
                    "Request Count" => "num_requests".to_string(),
                    "Failure Count" => "num_failures".to_string(),
                    "Median Response Time" => "median_response_time".to_string(),
                    "Average Response Time" => "avg_response_time".to_string(),
                    "Min Response Time" => "min_response_time".to_string(),
                    "Max Response Time" => "max_response_time".to_string(),
                    "Average Content Size" => "avg_content_length".to_string(),
                    "Requests/s" => "total_rps".to_string(),
                    "Failures/s" => "total_fail_per_sec".to_string(),
                    p if p.ends_with('%') => {
                        let pct: f64 = p.trim_end_matches('%').parse().unwrap_or(0.0);
                        format!("response_time_percentile_{}", pct / 100.0)
                    }
                    other => other.to_lowercase().replace(' ', "_"),
                };
                let value = match key.as_str() {
                    "method" | "name" => Value::String(v.to_string()),
                    _ => v
                        .parse::<i64>()
                        .map(Value::from)
                        .or_else(|_| v.parse::<f64>().map(Value::from))
                        .unwrap_or_else(|_| Value::String(v.to_string())),
                };
                m.insert(key, value);
            }
            Value::Object(m)
        })
        .collect()
}

fn failure_rows(csv_text: &str) -> Vec<Value> {
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    rdr.records()
        .filter_map(Result::ok)
        .map(|r| {
            serde_json::json!({
                "method": r.get(0).unwrap_or_default(),
                "name": r.get(1).unwrap_or_default(),
                "error": r.get(2).unwrap_or_default(),
                "occurrences": r.get(3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_get_locust_field_names() {
        let csv = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n\
                   GET,home,10,1,5,5.5,1,9,15.0,2.5,0.1,5,6,7,7,8,9,9,9,9,9,9\n\
                   ,Aggregated,10,1,5,5.5,1,9,15.0,2.5,0.1,5,6,7,7,8,9,9,9,9,9,9\n";
        let rows = stats_rows(csv);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["num_requests"], 10);
        assert_eq!(rows[0]["response_time_percentile_0.95"], 9);
        assert_eq!(rows[0]["avg_response_time"], 5.5);
        assert_eq!(rows[1]["name"], "Aggregated");
        assert_eq!(rows[1]["method"], "");
        let f = failure_rows("Method,Name,Error,Occurrences\nGET,home,HTTP 500,3\n");
        assert_eq!(f[0]["occurrences"], 3);
    }
}

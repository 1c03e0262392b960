//! The plan document: top-level fields, the data set, transactions, undefined variables.

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use super::*;

impl Validator {
    pub(super) fn plan(&mut self, value: &Value) -> Option<Plan> {
        let obj = self.object("", value, PLAN_FIELDS)?;
        let name = self.required_str("", obj, "name");
        let host = self.optional_str("", obj, "host");
        if let Some(h) = &host
            && let Err(msg) = check_base_url(h)
        {
            self.err("host", msg);
        }
        let timeout = match obj.get("timeout") {
            None | Some(Value::Null) => DEFAULT_TIMEOUT,
            Some(v) => match self.duration("timeout", v) {
                Some(d) if !d.is_zero() => d,
                Some(_) => {
                    self.err("timeout", "must be more than zero");
                    DEFAULT_TIMEOUT
                }
                None => DEFAULT_TIMEOUT,
            },
        };
        let variables = self.key_values("", obj, "variables", false);
        for (k, _) in variables.iter() {
            if !is_var_name(k) {
                self.err(
                    &join("variables", k),
                    "invalid variable name (letters, digits, _ - . only)",
                );
            }
        }
        let session = self.optional_bool("", obj, "session");
        let report_transactions = self.optional_bool("", obj, "report_transactions");
        let think_time = self.think_time("", obj);
        let max_rps = match obj.get("max_rps") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(r) if (MIN_MAX_RPS..=MAX_MAX_RPS).contains(&r) => Some(r),
                _ => {
                    self.err(
                        "max_rps",
                        format!(
                            "must be a number from {MIN_MAX_RPS} to {MAX_MAX_RPS} requests per second, found {v}"
                        ),
                    );
                    None
                }
            },
        };
        let max_body = match obj.get("max_body") {
            None | Some(Value::Null) => DEFAULT_MAX_BODY,
            Some(v) => match v.as_u64() {
                Some(n) if (1024..=1 << 30).contains(&n) => n,
                _ => {
                    self.err(
                        "max_body",
                        format!("must be a number of bytes from 1024 to 1073741824, found {v}"),
                    );
                    DEFAULT_MAX_BODY
                }
            },
        };
        let http = match obj.get("http") {
            None | Some(Value::Null) => HttpVersion::Http1,
            Some(v) => match v.as_str() {
                Some("1.1") => HttpVersion::Http1,
                Some("2") => HttpVersion::Http2,
                _ => {
                    self.err("http", format!("must be \"1.1\" or \"2\", found {v}"));
                    HttpVersion::Http1
                }
            },
        };
        let mut thresholds = Vec::new();
        match obj.get("thresholds") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let path = format!("thresholds[{i}]");
                    match item.as_str() {
                        Some(expr) => match crate::threshold::parse_all(&[expr]) {
                            Ok(_) => thresholds.push(expr.to_string()),
                            Err(errors) => {
                                for e in errors {
                                    self.err(&path, e.reason);
                                }
                            }
                        },
                        None => self.err(&path, format!("must be a string, found {}", kind(item))),
                    }
                }
            }
            Some(other) => self.err(
                "thresholds",
                format!("must be an array of strings, found {}", kind(other)),
            ),
        }
        let auth = self.auth("", obj);
        let data = obj
            .get("data")
            .filter(|v| !v.is_null())
            .and_then(|v| self.data(v));
        let setup = match obj.get("setup") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, s)| self.step(&format!("setup[{i}]"), s))
                .collect(),
            Some(other) => {
                self.err(
                    "setup",
                    format!("must be an array of steps, found {}", kind(other)),
                );
                Vec::new()
            }
        };
        let transactions = match obj.get("transactions") {
            None | Some(Value::Null) => {
                self.err("transactions", "is required");
                Vec::new()
            }
            Some(Value::Array(items)) if items.is_empty() => {
                self.err("transactions", "must contain at least one transaction");
                Vec::new()
            }
            Some(Value::Array(items)) => {
                let mut out: Vec<Transaction> = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if let Some(t) = self.transaction(&format!("transactions[{i}]"), item) {
                        if out.iter().any(|o| o.name == t.name) {
                            self.err(
                                &format!("transactions[{i}].name"),
                                format!("duplicate transaction name {:?}", t.name),
                            );
                        }
                        out.push(t);
                    }
                }
                out
            }
            Some(other) => {
                self.err(
                    "transactions",
                    format!("must be an array, found {}", kind(other)),
                );
                Vec::new()
            }
        };
        Some(Plan {
            name: name?,
            host,
            timeout,
            variables,
            session,
            think_time,
            max_rps,
            report_transactions,
            max_body,
            http,
            thresholds,
            auth,
            data,
            setup,
            transactions,
        })
    }

    pub(super) fn data(&mut self, value: &Value) -> Option<DataSet> {
        let obj = self.object("data", value, &["csv", "file", "order", "per"])?;
        if obj.contains_key("file") {
            self.err(
                "data.file",
                "a data file is only read when the plan is loaded from disk (worker run); inline it as \"csv\"",
            );
            return None;
        }
        let order = match self.optional_str("data", obj, "order").as_deref() {
            None | Some("sequential") => DataOrder::Sequential,
            Some("random") => DataOrder::Random,
            Some(other) => {
                self.err(
                    "data.order",
                    format!("must be \"sequential\" or \"random\", found {other:?}"),
                );
                DataOrder::Sequential
            }
        };
        let per = match self.optional_str("data", obj, "per").as_deref() {
            None | Some("user") => DataPer::User,
            Some("iteration") => DataPer::Iteration,
            Some(other) => {
                self.err(
                    "data.per",
                    format!("must be \"user\" or \"iteration\", found {other:?}"),
                );
                DataPer::User
            }
        };
        let csv = self.required_str("data", obj, "csv")?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::Headers)
            .from_reader(csv.as_bytes());
        let columns: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(str::to_string).collect(),
            Err(e) => {
                self.err("data.csv", format!("cannot read the header row: {e}"));
                return None;
            }
        };
        let mut ok = true;
        for (i, c) in columns.iter().enumerate() {
            if !is_var_name(c) {
                // The position, not the text: the CSV may come from a file, which is never echoed.
                self.err(
                    "data.csv",
                    format!(
                        "column {} of the header row is not a valid variable name (letters, digits, _ - .)",
                        i + 1
                    ),
                );
                ok = false;
            }
        }
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            match record {
                Ok(r) => rows.push(r.iter().map(str::to_string).collect::<Vec<_>>()),
                Err(e) => {
                    self.err("data.csv", format!("row {}: {e}", i + 1));
                    ok = false;
                }
            }
        }
        if rows.is_empty() {
            self.err(
                "data.csv",
                "must have a header row and at least one data row",
            );
            ok = false;
        }
        ok.then_some(DataSet {
            csv,
            columns,
            rows,
            order,
            per,
        })
    }

    pub(super) fn transaction(&mut self, path: &str, value: &Value) -> Option<Transaction> {
        let obj = self.object(
            path,
            value,
            &["name", "weight", "think_time", "auth", "steps"],
        )?;
        let name = self.required_str(path, obj, "name");
        let weight = match obj.get("weight") {
            None | Some(Value::Null) => Some(1),
            Some(v) => match v.as_u64() {
                Some(w) if w >= 1 && w <= u64::from(u32::MAX) => Some(w as u32),
                _ => {
                    self.err(
                        &join(path, "weight"),
                        format!("must be a whole number of at least 1, found {v}"),
                    );
                    None
                }
            },
        };
        let think_time = self.think_time(path, obj);
        let auth = self.auth(path, obj);
        let steps_path = join(path, "steps");
        let steps = match obj.get("steps") {
            None | Some(Value::Null) => {
                self.err(&steps_path, "is required");
                None
            }
            Some(Value::Array(items)) if items.is_empty() => {
                self.err(&steps_path, "must contain at least one step");
                None
            }
            Some(Value::Array(items)) => {
                let steps: Vec<_> = items
                    .iter()
                    .enumerate()
                    .map(|(i, s)| self.step(&format!("{steps_path}[{i}]"), s))
                    .collect();
                steps.into_iter().collect::<Option<Vec<_>>>()
            }
            Some(other) => {
                self.err(
                    &steps_path,
                    format!("must be an array, found {}", kind(other)),
                );
                None
            }
        };
        Some(Transaction {
            name: name?,
            weight: weight?,
            think_time,
            auth,
            steps: steps?,
        })
    }

    /// Every use of a variable no source can ever define: not a plan variable, not a data
    /// column, not extracted by any step, and not in `defined` (the selected environment,
    /// `--var`).
    pub(super) fn undefined_variables(
        &self,
        plan: &Plan,
        defined: &BTreeSet<String>,
    ) -> Vec<UndefinedVar> {
        let mut known: HashSet<&str> = plan.variables.iter().map(|(k, _)| k).collect();
        known.extend(defined.iter().map(String::as_str));
        if let Some(data) = &plan.data {
            known.extend(data.columns.iter().map(String::as_str));
        }
        for (_, step) in plan.steps() {
            known.extend(step.extract.iter().map(|e| e.var.as_str()));
        }
        let mut out = Vec::new();
        for r in &self.templates {
            for var in r.template.vars() {
                if !known.contains(var) {
                    out.push(UndefinedVar {
                        name: var.to_string(),
                        path: r.path.clone(),
                    });
                }
            }
        }
        out
    }
}

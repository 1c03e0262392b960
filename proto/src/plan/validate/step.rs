//! Steps: method, URL, headers, bodies (JSON, form, multipart), extractors and assertions.

use serde_json::Value;

use super::*;

impl Validator {
    pub(super) fn step(&mut self, path: &str, value: &Value) -> Option<Step> {
        let obj = self.object(path, value, STEP_FIELDS)?;
        let name = self.required_str(path, obj, "name");
        let method = match self.required_str(path, obj, "method") {
            Some(m) => match Method::parse(&m) {
                Some(m) => Some(m),
                None => {
                    let all: Vec<_> = Method::ALL.iter().map(|m| m.as_str()).collect();
                    self.err(
                        &join(path, "method"),
                        format!(
                            "unknown HTTP method {m:?} (expected one of: {})",
                            all.join(", ")
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        let url = self.required_str(path, obj, "url");
        if let Some(u) = &url {
            let up = join(path, "url");
            self.template(&up, u);
            if let Err(msg) = check_step_url(u) {
                self.err(&up, msg);
            }
        }
        let headers = self.key_values(path, obj, "headers", true);
        for (k, _) in headers.iter() {
            if !is_token(k) {
                self.err(
                    &join(&join(path, "headers"), k),
                    "is not a valid header name",
                );
            }
        }
        let query = self.key_values(path, obj, "query", true);
        let auth = self.auth(path, obj);
        let present: Vec<&str> = ["json", "body", "form", "multipart"]
            .into_iter()
            .filter(|k| obj.contains_key(*k))
            .collect();
        if present.len() > 1 {
            self.err(
                path,
                format!(
                    "only one body may be given, found {}",
                    present.join(" and ")
                ),
            );
        }
        let content_type = self.optional_str(path, obj, "content_type");
        let body = if let Some(json) = obj.get("json") {
            self.json_templates(&join(path, "json"), json);
            Body::Json { json: json.clone() }
        } else if obj.contains_key("body") {
            match self.optional_str(path, obj, "body") {
                Some(body) => {
                    self.template(&join(path, "body"), &body);
                    Body::Raw { body, content_type }
                }
                None => Body::None,
            }
        } else if obj.contains_key("form") {
            Body::Form {
                form: self.key_values(path, obj, "form", true),
            }
        } else if let Some(parts) = obj.get("multipart") {
            Body::Multipart {
                multipart: self.multipart(&join(path, "multipart"), parts),
            }
        } else {
            Body::None
        };
        if obj.contains_key("content_type") && !matches!(body, Body::Raw { .. }) {
            self.err(
                &join(path, "content_type"),
                "only applies to a raw \"body\"",
            );
        }
        let extract = self.list(path, obj, "extract", Validator::extractor);
        let assertions = self.list(path, obj, "assert", Validator::assertion);
        Some(Step {
            name: name?,
            method: method?,
            url: url?,
            headers,
            query,
            auth,
            body,
            extract,
            assertions,
        })
    }

    pub(super) fn multipart(&mut self, path: &str, value: &Value) -> Vec<(String, MultipartPart)> {
        let Some(map) = value.as_object() else {
            self.err(
                path,
                format!("must be an object of parts, found {}", kind(value)),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, part) in map {
            let p = join(path, name);
            match part {
                Value::String(s) => {
                    self.template(&p, s);
                    out.push((name.clone(), MultipartPart::Text(s.clone())));
                }
                Value::Number(n) => out.push((name.clone(), MultipartPart::Text(n.to_string()))),
                Value::Bool(b) => out.push((name.clone(), MultipartPart::Text(b.to_string()))),
                Value::Object(_) => {
                    let Some(obj) = self.object(&p, part, &["file", "content", "content_type"])
                    else {
                        continue;
                    };
                    let file = self.required_str(&p, obj, "file");
                    let content = match obj.get("content") {
                        Some(Value::String(s)) => Some(s.clone()),
                        _ => {
                            self.err(&join(&p, "content"), "is required (the file's text)");
                            None
                        }
                    };
                    if let Some(c) = &content {
                        self.template(&join(&p, "content"), c);
                    }
                    let content_type = self.optional_str(&p, obj, "content_type");
                    if let (Some(file), Some(content)) = (file, content) {
                        out.push((
                            name.clone(),
                            MultipartPart::File {
                                file,
                                content,
                                content_type,
                            },
                        ));
                    }
                }
                other => self.err(
                    &p,
                    format!("must be a string or a file object, found {}", kind(other)),
                ),
            }
        }
        out
    }

    pub(super) fn extractor(&mut self, path: &str, value: &Value) -> Option<Extractor> {
        let obj = self.object(
            path,
            value,
            &["var", "json", "regex", "group", "header", "status"],
        )?;
        let var = self.required_str(path, obj, "var");
        if let Some(v) = &var
            && !is_var_name(v)
        {
            self.err(
                &join(path, "var"),
                "invalid variable name (letters, digits, _ - . only)",
            );
        }
        let sources: Vec<&str> = ["json", "regex", "header", "status"]
            .into_iter()
            .filter(|k| obj.contains_key(*k))
            .collect();
        if sources.len() != 1 {
            self.err(path, "needs exactly one of json, regex, header, status");
            return None;
        }
        if obj.contains_key("group") && sources[0] != "regex" {
            self.err(&join(path, "group"), "only applies to a regex");
        }
        let source = match sources[0] {
            "json" => {
                let p = self.required_str(path, obj, "json")?;
                self.json_path(&join(path, "json"), &p);
                ExtractSource::Json { json: p }
            }
            "regex" => {
                let r = self.required_str(path, obj, "regex")?;
                let group = match obj.get("group") {
                    None => 1,
                    Some(g) => match g.as_u64() {
                        Some(g) => g as usize,
                        None => {
                            self.err(&join(path, "group"), "must be a whole number");
                            1
                        }
                    },
                };
                match regex::Regex::new(&r) {
                    Ok(re) if group < re.captures_len() => {}
                    Ok(re) => self.err(
                        &join(path, "group"),
                        format!("the regex has {} capture groups", re.captures_len() - 1),
                    ),
                    Err(e) => self.err(&join(path, "regex"), format!("invalid regex: {e}")),
                }
                ExtractSource::Regex { regex: r, group }
            }
            "header" => ExtractSource::Header {
                header: self.required_str(path, obj, "header")?,
            },
            _ => {
                if obj.get("status") != Some(&Value::Bool(true)) {
                    self.err(&join(path, "status"), "must be true");
                }
                ExtractSource::Status { status: true }
            }
        };
        Some(Extractor { var: var?, source })
    }

    pub(super) fn assertion(&mut self, path: &str, value: &Value) -> Option<Assertion> {
        let obj = self.object(
            path,
            value,
            &[
                "status",
                "body_contains",
                "json",
                "exists",
                "equals",
                "header",
                "contains",
                "response_time_under_ms",
            ],
        )?;
        let has = |k: &str| obj.contains_key(k);
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        let only = |allowed: &[&str]| keys.iter().all(|k| allowed.contains(k));
        if has("status") && only(&["status"]) {
            let codes: Option<Vec<u16>> = match &obj["status"] {
                Value::Array(items) if !items.is_empty() => items.iter().map(status_code).collect(),
                v => status_code(v).map(|c| vec![c]),
            };
            return match codes {
                Some(status) => Some(Assertion::Status { status }),
                None => {
                    self.err(
                        &join(path, "status"),
                        "must be a status code (100-599) or a list of them",
                    );
                    None
                }
            };
        }
        if has("body_contains") && only(&["body_contains"]) {
            return Some(Assertion::BodyContains {
                body_contains: self.required_str(path, obj, "body_contains")?,
            });
        }
        if has("json") && has("exists") && only(&["json", "exists"]) {
            let json = self.required_str(path, obj, "json")?;
            self.json_path(&join(path, "json"), &json);
            let Some(exists) = obj["exists"].as_bool() else {
                self.err(&join(path, "exists"), "must be true or false");
                return None;
            };
            return Some(Assertion::JsonExists { json, exists });
        }
        if has("json") && has("equals") && only(&["json", "equals"]) {
            let json = self.required_str(path, obj, "json")?;
            self.json_path(&join(path, "json"), &json);
            return Some(Assertion::JsonEquals {
                json,
                equals: obj["equals"].clone(),
            });
        }
        if has("header") && has("equals") && only(&["header", "equals"]) {
            return Some(Assertion::HeaderEquals {
                header: self.required_str(path, obj, "header")?,
                equals: self.required_str(path, obj, "equals")?,
            });
        }
        if has("header") && has("contains") && only(&["header", "contains"]) {
            return Some(Assertion::HeaderContains {
                header: self.required_str(path, obj, "header")?,
                contains: self.required_str(path, obj, "contains")?,
            });
        }
        if has("response_time_under_ms") && only(&["response_time_under_ms"]) {
            return match obj["response_time_under_ms"].as_u64() {
                Some(ms) if ms > 0 => Some(Assertion::ResponseTimeUnder {
                    response_time_under_ms: ms,
                }),
                _ => {
                    self.err(
                        &join(path, "response_time_under_ms"),
                        "must be a whole number of milliseconds above 0",
                    );
                    None
                }
            };
        }
        self.err(
            path,
            "not a known assertion: {\"status\": 200 | [200, 201]}, {\"body_contains\": s}, \
             {\"json\": path, \"exists\": bool}, {\"json\": path, \"equals\": value}, \
             {\"header\": name, \"equals\" | \"contains\": s}, {\"response_time_under_ms\": n}",
        );
        None
    }
}

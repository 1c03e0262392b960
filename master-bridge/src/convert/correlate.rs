//! Correlation for recordings: a value a response returned (a session token, an id) that a
//! later request sends back is the user's own at run time, not the recorded one. For each
//! string in a JSON response that later requests send (in a header, the URL, the query or the
//! body), the responding step gets an extractor (`{"var": "token", "json": "$.token"}`) and
//! every later use becomes `{{token}}`, with a note. Only strings that look like generated
//! values are taken (8 characters or more, or 4 or more with a digit), so words like `paid`
//! that happen to recur are left alone; numbers are never correlated.

use serde_json::{Value, json};

use super::build::{BodyOut, Notes, StepOut};
use super::text::var_name;

/// A recorded step and the JSON its response carried, if any, in recording order.
pub(crate) struct Recorded {
    pub step: StepOut,
    pub response: Option<Value>,
}

pub(crate) fn correlate(recorded: &mut [Recorded], notes: &mut Notes) {
    let mut taken: Vec<String> = Vec::new();
    for i in 0..recorded.len() {
        let Some(response) = recorded[i].response.take() else {
            continue;
        };
        let mut leaves = Vec::new();
        string_leaves(&response, "$".to_string(), &mut leaves);
        for (path, value, key) in leaves {
            if !looks_generated(&value) {
                continue;
            }
            let var = unique_var(&key, &mut taken);
            let placeholder = format!("{{{{{var}}}}}");
            let users: Vec<String> = recorded[i + 1..]
                .iter_mut()
                .filter_map(|r| {
                    replace_in_step(&mut r.step, &value, &placeholder).then(|| r.step.item.clone())
                })
                .collect();
            if users.is_empty() {
                taken.retain(|t| *t != var);
                continue;
            }
            let source = &mut recorded[i].step;
            source.add_extract(json!({"var": var, "json": path}));
            notes.add(
                &source.item.clone(),
                format!(
                    "correlated: {path} of this response is sent by {} as {placeholder}, extracted per user (it was {value:?} when recorded)",
                    users.join(", ")
                ),
            );
        }
    }
}

fn looks_generated(s: &str) -> bool {
    let n = s.chars().count();
    !s.contains("{{")
        && !s.trim().is_empty()
        && (n >= 8 || (n >= 4 && s.chars().any(|c| c.is_ascii_digit())))
}

/// Every string of `v` with its JSONPath and the key that names it.
fn string_leaves(v: &Value, path: String, out: &mut Vec<(String, String, String)>) {
    match v {
        Value::String(s) => {
            let key = path
                .rsplit(['.', '['])
                .next()
                .unwrap_or("value")
                .trim_end_matches(']')
                .to_string();
            out.push((path, s.clone(), key));
        }
        Value::Object(map) => {
            for (k, child) in map {
                if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !k.is_empty() {
                    string_leaves(child, format!("{path}.{k}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (n, child) in items.iter().enumerate().take(20) {
                string_leaves(child, format!("{path}[{n}]"), out);
            }
        }
        _ => {}
    }
}

/// A plan variable named after `key` ([`var_name`]), made unique with a `_2`, `_3` suffix.
fn unique_var(key: &str, taken: &mut Vec<String>) -> String {
    let base = var_name(key);
    let mut name = base.clone();
    let mut n = 1;
    while taken.contains(&name) {
        n += 1;
        name = format!("{base}_{n}");
    }
    taken.push(name.clone());
    name
}

/// Replaces `value` by `with` everywhere `step` sends it; true if it did.
fn replace_in_step(step: &mut StepOut, value: &str, with: &str) -> bool {
    let mut hit = false;
    let mut swap = |s: &mut String| {
        if s.contains(value) {
            *s = s.replace(value, with);
            hit = true;
        }
    };
    swap(&mut step.url);
    for (_, v) in step.headers.iter_mut().chain(step.query.iter_mut()) {
        swap(v);
    }
    match &mut step.body {
        BodyOut::Raw { body, .. } => swap(body),
        BodyOut::Form(fields) => fields.iter_mut().for_each(|(_, v)| swap(v)),
        BodyOut::Json(v) => replace_in_json(v, &mut swap),
        BodyOut::None | BodyOut::Multipart(_) => {}
    }
    hit
}

fn replace_in_json(v: &mut Value, swap: &mut impl FnMut(&mut String)) {
    match v {
        Value::String(s) => swap(s),
        Value::Array(items) => items.iter_mut().for_each(|i| replace_in_json(i, swap)),
        Value::Object(map) => map.values_mut().for_each(|i| replace_in_json(i, swap)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(item: &str, url: &str) -> StepOut {
        StepOut {
            item: item.into(),
            name: item.into(),
            method: "GET".into(),
            url: url.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_returned_token_sent_back_later_is_extracted_and_templated() {
        let mut order = step("order", "/orders");
        order
            .headers
            .push(("Authorization".into(), "Bearer tok17".into()));
        order.body = BodyOut::Json(json!({"session": "tok17", "status": "paid"}));
        let mut recorded = vec![
            Recorded {
                step: step("login", "/login"),
                response: Some(json!({"token": "tok17", "status": "paid", "n": 12345678})),
            },
            Recorded {
                step: order,
                response: Some(json!({"id": 3})),
            },
            Recorded {
                step: step("status", "/status/paid"),
                response: None,
            },
        ];
        let mut notes = Notes::default();
        correlate(&mut recorded, &mut notes);
        assert_eq!(
            recorded[0].step.extract,
            [json!({"var": "token", "json": "$.token"})]
        );
        assert_eq!(recorded[1].step.headers[0].1, "Bearer {{token}}");
        assert_eq!(
            recorded[1].step.body,
            BodyOut::Json(json!({"session": "{{token}}", "status": "paid"}))
        );
        assert_eq!(
            recorded[2].step.url, "/status/paid",
            "a word is not a token"
        );
        assert_eq!(notes.0.len(), 1);
        assert!(notes.0[0].what.starts_with("correlated: $.token"));
    }
}

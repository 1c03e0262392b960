//! The checks a script states: `pm.response.to...`, `pm.expect(...)...` and the old syntax's
//! boolean expressions, each as one plan assertion.

use serde_json::{Value, json};

use super::js::{
    call_arg, chain_words, child, header_subject, literal, path_of_dotted, string_lit,
};
use super::{Alias, Tr};

impl Tr<'_> {
    /// `pm.response.to.<rest>`.
    pub(super) fn response_to(&mut self, rest: &str) -> bool {
        let words = chain_words(rest);
        let (op, args) = match words.last() {
            Some(w) => w.clone(),
            None => return false,
        };
        let c = match op.as_str() {
            "status" => args
                .first()
                .and_then(|a| a.parse::<u16>().ok())
                .map(|n| json!({"status": n})),
            "header" => match args.as_slice() {
                [h] => string_lit(h).map(|h| json!({"header": h, "contains": ""})),
                [h, v] => match (string_lit(h), string_lit(v)) {
                    (Some(h), Some(v)) => Some(json!({"header": h, "equals": v})),
                    _ => None,
                },
                _ => None,
            },
            "json" => Some(json!({"header": "Content-Type", "contains": "json"})),
            "jsonBody" => match args.as_slice() {
                [] => Some(json!({"header": "Content-Type", "contains": "json"})),
                [k] => string_lit(k).map(|k| json!({"json": path_of_dotted(&k), "exists": true})),
                _ => None,
            },
            _ => None,
        };
        self.push_check(c)
    }

    /// `pm.expect(subject)<chain>`.
    pub(super) fn expect(&mut self, subject: &str, chain: &str) -> bool {
        if subject == "pm.response" {
            // `pm.expect(pm.response).to.have.status(200)` says what `pm.response.to...` says.
            return self.response_to(chain.trim_start_matches('.'));
        }
        let words = chain_words(chain);
        let negated = words.iter().any(|(w, _)| w == "not");
        let Some((op, args)) = words.iter().rev().find(|(w, _)| w != "not").cloned() else {
            return false;
        };
        let arg = args.first().map(String::as_str).unwrap_or("");
        let num = arg.parse::<u64>().ok();
        let c = if matches!(subject, "pm.response.code" | "responseCode.code") {
            match (op.as_str(), negated) {
                ("eql" | "equal" | "equals" | "eq", false) => num
                    .filter(|n| (100..600).contains(n))
                    .map(|n| json!({"status": n})),
                ("oneOf", false) => {
                    let list: Option<Vec<u64>> = serde_json::from_str::<Vec<u64>>(arg).ok();
                    list.filter(|l| !l.is_empty()).map(|l| json!({"status": l}))
                }
                _ => None,
            }
        } else if subject == "pm.response.responseTime" {
            match (op.as_str(), negated) {
                ("below" | "lessThan" | "lt", false) => {
                    num.map(|n| json!({"response_time_under_ms": n}))
                }
                ("most" | "lte", false) => num.map(|n| json!({"response_time_under_ms": n + 1})),
                _ => None,
            }
        } else if matches!(subject, "pm.response.text()" | "responseBody") {
            match (op.as_str(), negated) {
                ("include" | "includes" | "contain" | "contains" | "string", false) => {
                    string_lit(arg).map(|s| json!({"body_contains": s}))
                }
                _ => None,
            }
        } else if let Some(h) = header_subject(subject) {
            match (op.as_str(), negated) {
                ("eql" | "equal" | "equals" | "eq", false) => {
                    string_lit(arg).map(|v| json!({"header": h, "equals": v}))
                }
                ("include" | "includes" | "contain" | "contains" | "string", false) => {
                    string_lit(arg).map(|v| json!({"header": h, "contains": v}))
                }
                ("exist", false) | ("undefined", true) => {
                    Some(json!({"header": h, "contains": ""}))
                }
                _ => None,
            }
        } else if let Some(p) = self.json_path(subject) {
            match (op.as_str(), negated) {
                ("eql" | "equal" | "equals" | "eq", false) => {
                    literal(arg).map(|v| json!({"json": p, "equals": v}))
                }
                ("exist", neg) => Some(json!({"json": p, "exists": !neg})),
                ("undefined", neg) => Some(json!({"json": p, "exists": neg})),
                ("true", false) => Some(json!({"json": p, "equals": true})),
                ("false", false) => Some(json!({"json": p, "equals": false})),
                ("property", false) => match args.as_slice() {
                    [k] => string_lit(k).map(|k| json!({"json": child(&p, &k), "exists": true})),
                    [k, v] => match (string_lit(k), literal(v)) {
                        (Some(k), Some(v)) => Some(json!({"json": child(&p, &k), "equals": v})),
                        _ => None,
                    },
                    _ => None,
                },
                _ => None,
            }
        } else {
            None
        };
        self.push_check(c)
    }

    /// A boolean expression of the old `tests[...] = ...` syntax.
    pub(super) fn cond(&self, e: &str) -> Option<Value> {
        let e = e.trim().trim_end_matches(';').trim();
        if let Some(Alias::Check(c)) = self.aliases.get(e) {
            return Some(c.clone());
        }
        if let Some(name) = e.strip_prefix("tests[").and_then(|r| r.strip_suffix(']')) {
            return self.tests.get(&string_lit(name)?).cloned();
        }
        for op in ["===", "=="] {
            if let Some((l, r)) = e.split_once(op) {
                let (l, r) = (l.trim(), r.trim());
                if matches!(l, "responseCode.code" | "pm.response.code") {
                    return r.parse::<u16>().ok().map(|n| json!({"status": n}));
                }
                if let Some(p) = self.json_path(l) {
                    return literal(r).map(|v| json!({"json": p, "equals": v}));
                }
                return None;
            }
        }
        for (op, extra) in [("<=", 1), ("<", 0)] {
            if let Some((l, r)) = e.split_once(op)
                && matches!(l.trim(), "responseTime" | "pm.response.responseTime")
            {
                return r
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .map(|n| json!({"response_time_under_ms": n + extra}));
            }
        }
        if let Some(arg) = call_arg(e, "responseBody.has(") {
            return string_lit(arg).map(|s| json!({"body_contains": s}));
        }
        for h in [
            "responseHeaders.hasOwnProperty(",
            "postman.getResponseHeader(",
            "pm.response.headers.has(",
        ] {
            if let Some(arg) = call_arg(e, h) {
                return string_lit(arg).map(|h| json!({"header": h, "contains": ""}));
            }
        }
        if let Some(i) = e.find(".hasOwnProperty(") {
            let base = self.json_path(&e[..i])?;
            let k = string_lit(call_arg(&e[i..], ".hasOwnProperty(")?)?;
            return Some(json!({"json": child(&base, &k), "exists": true}));
        }
        if let Some((k, obj)) = e.split_once(" in ") {
            let k = string_lit(k.trim())?;
            let base = self.json_path(obj.trim())?;
            return Some(json!({"json": child(&base, &k), "exists": true}));
        }
        None
    }
}

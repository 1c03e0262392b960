//! Postman test scripts → plan assertions and extractors, where a line says something a plan
//! can say; every other line is noted with its number and text.
//!
//! Understood: `pm.response.to.have.status(n)`, `pm.expect(pm.response.code).to.eql(n)` (and
//! `.oneOf([...])`), `pm.response.to.have.header(name[, value])`, `pm.response.to.be.json`,
//! `pm.expect(<json>).to.eql(v)`, `.to.exist`, `.to.not.exist`, `.to.have.property(k[, v])`,
//! `.to.be.true/false`, `pm.expect(pm.response.responseTime).to.be.below(n)`,
//! `pm.expect(pm.response.text()).to.include(s)`, `pm.expect(pm.response.headers.get(h))...`,
//! `pm.environment.set / collectionVariables.set / globals.set / variables.set` and
//! `postman.setEnvironmentVariable / setGlobalVariable("name", <json> | header | status)`,
//! and the old syntax `tests["..."] = responseCode.code === n`, `responseBody.has(s)`,
//! `responseTime < n`, `<json>.hasOwnProperty(k)`, `<json> === v`. `<json>` is
//! `pm.response.json()`, `JSON.parse(responseBody)` or a variable holding one, followed by
//! `.key`, `[0]` or `["key"]`. Wrappers (`pm.test(..., function () {`, `});`), comments,
//! blank lines and `console.*` carry nothing and are skipped; checks inside an `if` are only
//! translated when its condition is a status check (extractors run only on a passing step).

use std::collections::HashMap;

use serde_json::{Value, json};

mod checks;
mod js;

use super::build::{Notes, StepOut};
use super::text::{scalar_text, var_name};
use js::{
    balance, child, header_subject, is_ident, matching, split_assign, split_top, string_lit,
    test_wrapper,
};

/// The assertions and extractors a script translates to.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Translated {
    pub asserts: Vec<Value>,
    pub extracts: Vec<Value>,
}

impl Translated {
    pub fn is_empty(&self) -> bool {
        self.asserts.is_empty() && self.extracts.is_empty()
    }

    pub fn apply(&self, step: &mut StepOut) {
        for a in &self.asserts {
            step.add_assert(a.clone());
        }
        for e in &self.extracts {
            step.add_extract(e.clone());
        }
    }
}

/// `listen` and the script's lines of one Postman event.
pub(crate) fn event_lines(ev: &Value) -> (String, Vec<String>) {
    let listen = ev
        .get("listen")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let lines = match ev.pointer("/script/exec") {
        Some(Value::Array(a)) => a
            .iter()
            .map(scalar_text)
            .flat_map(|l| l.lines().map(str::to_string).collect::<Vec<_>>())
            .collect(),
        Some(Value::String(s)) => s.lines().map(str::to_string).collect(),
        _ => Vec::new(),
    };
    (listen, lines)
}

/// Notes every line of a script that is not translated (pre-request scripts); empty scripts
/// and comments are not noise.
pub(crate) fn note_untranslated(lines: &[String], listen: &str, item: &str, notes: &mut Notes) {
    let what = if listen == "prerequest" {
        "pre-request"
    } else {
        listen
    };
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if is_blank(t) {
            continue;
        }
        notes.add(
            item,
            format!("{what} script line {}: not carried over: {t}", i + 1),
        );
    }
}

fn is_blank(t: &str) -> bool {
    t.is_empty()
        || t.starts_with("//")
        || t.starts_with("console.")
        || t.chars().all(|c| "{}();".contains(c))
}

#[derive(Clone)]
enum Alias {
    Json(String),
    Check(Value),
}

struct Tr<'a> {
    out: Translated,
    aliases: HashMap<String, Alias>,
    /// One entry per open `{`: false inside a branch whose checks are not translated.
    frames: Vec<bool>,
    /// `tests["name"]` already translated, by name.
    tests: HashMap<String, Value>,
    notes: &'a mut Notes,
    item: &'a str,
}

/// Translates a test script.
pub(crate) fn translate(lines: &[String], item: &str, notes: &mut Notes) -> Translated {
    let mut tr = Tr {
        out: Translated::default(),
        aliases: HashMap::new(),
        frames: Vec::new(),
        tests: HashMap::new(),
        notes,
        item,
    };
    for (i, line) in lines.iter().enumerate() {
        tr.line(i + 1, line.trim());
    }
    tr.out
}

impl Tr<'_> {
    fn note(&mut self, n: usize, line: &str, why: &str) {
        self.notes
            .add(self.item, format!("test script line {n}: {why}: {line}"));
    }

    fn active(&self) -> bool {
        self.frames.iter().all(|f| *f)
    }

    fn line(&mut self, n: usize, line: &str) {
        if line.is_empty() || line.starts_with("//") {
            return;
        }
        let mut rest = line;
        // Leading closers: `}`, `});`, `} else {`.
        loop {
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix('}') {
                self.frames.pop();
                rest = r;
            } else if let Some(r) = rest.strip_prefix(')').or_else(|| rest.strip_prefix(';')) {
                rest = r;
            } else {
                break;
            }
        }
        if let Some(r) = rest.strip_prefix("else") {
            let r = r.trim_start();
            let open = r.find('{').map(|i| i + 1).unwrap_or(r.len());
            self.frames.push(false);
            self.note(n, line, "an else branch is not translated");
            rest = &r[open..];
        } else if rest.starts_with("if") && rest[2..].trim_start().starts_with('(') {
            let after = rest[2..].trim_start();
            let Some(close) = matching(after, 0) else {
                self.note(n, line, "not understood");
                return;
            };
            let cond = &after[1..close];
            // Transparent when the step must pass it anyway: extractors run only then.
            let status = match self.cond(cond) {
                Some(c) => c.get("status").is_some() || self.out.asserts.contains(&c),
                None => false,
            };
            if !status {
                self.note(
                    n,
                    line,
                    "a condition is not translated, nor the checks under it",
                );
            }
            let r = after[close + 1..].trim_start();
            match r.strip_prefix('{') {
                Some(r) => {
                    self.frames.push(status);
                    rest = r;
                }
                None => {
                    // `if (cond) statement;` on one line.
                    if status && self.active() {
                        self.statements(n, line, r);
                    }
                    return;
                }
            }
        } else if let Some(r) = test_wrapper(rest) {
            self.frames.push(true);
            rest = r;
        }
        self.statements(n, line, rest);
    }

    /// Translates the `;`-separated statements of `text` (part of `line`).
    fn statements(&mut self, n: usize, line: &str, text: &str) {
        for stmt in split_top(text, ';') {
            let mut s = stmt.trim();
            // Trailing closers of a one-line `pm.test(..., function () { ... })`.
            let mut pops = 0;
            loop {
                if let Some(r) = s.strip_suffix(';') {
                    s = r.trim_end();
                    continue;
                }
                if let Some(r) = s.strip_suffix(')')
                    && (balance(r, '(', ')') < 0 || r.trim_end().ends_with('}'))
                {
                    s = r.trim_end();
                    continue;
                }
                if let Some(r) = s.strip_suffix('}')
                    && balance(r, '{', '}') <= 0
                {
                    pops += 1;
                    s = r.trim_end();
                    continue;
                }
                break;
            }
            if !s.is_empty() && !s.starts_with("console.") && !s.starts_with("//") {
                if self.active() {
                    if !self.statement(s) {
                        self.note(n, line, "not translated");
                    }
                } else {
                    self.note(n, line, "inside a branch that is not translated");
                }
            }
            let opens = balance(s, '{', '}');
            for _ in 0..opens.max(0) {
                self.frames.push(true);
            }
            for _ in 0..(pops + (-opens).max(0)) {
                self.frames.pop();
            }
        }
    }

    /// One statement; false when it says nothing a plan can say.
    fn statement(&mut self, s: &str) -> bool {
        // Declarations and assignments: remember what the name stands for.
        let decl = ["var ", "let ", "const "]
            .iter()
            .find_map(|k| s.strip_prefix(k))
            .or_else(|| (!s.starts_with("tests")).then_some(s));
        if let Some(d) = decl
            && let Some((name, expr)) = split_assign(d)
            && is_ident(name)
        {
            if let Some(p) = self.json_path(expr) {
                self.aliases.insert(name.to_string(), Alias::Json(p));
                return true;
            }
            if let Some(c) = self.cond(expr) {
                self.aliases.insert(name.to_string(), Alias::Check(c));
                return true;
            }
            return false;
        }
        if let Some(r) = s.strip_prefix("tests")
            && let Some((name, expr)) = split_assign(r)
        {
            let c = self.cond(expr);
            if let (Some(c), Some(name)) = (&c, string_lit(name)) {
                self.tests.insert(name, c.clone());
            }
            return self.push_check(c);
        }
        for setter in [
            "pm.environment.set(",
            "pm.collectionVariables.set(",
            "pm.globals.set(",
            "pm.variables.set(",
            "postman.setEnvironmentVariable(",
            "postman.setGlobalVariable(",
        ] {
            if let Some(args) = s.strip_prefix(setter).and_then(|a| a.strip_suffix(')')) {
                let parts = split_top(args, ',');
                let [name, expr] = parts.as_slice() else {
                    return false;
                };
                let Some(name) = string_lit(name.trim()) else {
                    return false;
                };
                let Some(source) = self.source(expr.trim()) else {
                    return false;
                };
                let mut e = json!({"var": var_name(&name)});
                if let (Some(o), Some(src)) = (e.as_object_mut(), source.as_object()) {
                    o.extend(src.clone());
                }
                self.out.extracts.push(e);
                return true;
            }
        }
        if let Some(r) = s.strip_prefix("pm.response.to.") {
            return self.response_to(r);
        }
        if let Some(r) = s.strip_prefix("pm.expect(") {
            let Some(close) = matching(&format!("({r}"), 0) else {
                return false;
            };
            let subject = &r[..close - 1];
            let chain = &r[close..];
            return self.expect(subject.trim(), chain);
        }
        false
    }

    fn push_check(&mut self, c: Option<Value>) -> bool {
        match c {
            Some(c) => {
                if !self.out.asserts.contains(&c) {
                    self.out.asserts.push(c);
                }
                true
            }
            None => false,
        }
    }

    /// What a `set("name", expr)` extracts: a JSON path, a header or the status.
    fn source(&self, e: &str) -> Option<Value> {
        if let Some(p) = self.json_path(e) {
            return Some(json!({"json": p}));
        }
        if let Some(h) = header_subject(e) {
            return Some(json!({"header": h}));
        }
        matches!(e, "pm.response.code" | "responseCode.code").then(|| json!({"status": true}))
    }

    /// `pm.response.json().a[0]["b"]` (or an alias) as the JSONPath `$.a[0].b`.
    fn json_path(&self, e: &str) -> Option<String> {
        let mut e = e.trim();
        for fallback in ["|| {}", "|| []", "||{}", "||[]"] {
            if let Some(r) = e.strip_suffix(fallback) {
                e = r.trim_end();
            }
        }
        let (mut path, mut rest) = if let Some(r) = e.strip_prefix("pm.response.json()") {
            ("$".to_string(), r)
        } else if let Some(r) = e.strip_prefix("JSON.parse(responseBody)") {
            ("$".to_string(), r)
        } else {
            let end = e
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(e.len());
            match self.aliases.get(&e[..end]) {
                Some(Alias::Json(p)) => (p.clone(), &e[end..]),
                _ => return None,
            }
        };
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                let end = r
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                    .unwrap_or(r.len());
                let key = &r[..end];
                if key.is_empty() || key == "length" {
                    return None;
                }
                path = child(&path, key);
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let close = r.find(']')?;
                let inner = r[..close].trim();
                if let Ok(i) = inner.parse::<usize>() {
                    path = format!("{path}[{i}]");
                } else {
                    path = child(&path, &string_lit(inner)?);
                }
                rest = &r[close + 1..];
            } else {
                return None;
            }
        }
        Some(path)
    }
}

#[cfg(test)]
mod tests;

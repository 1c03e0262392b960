//! The bits of JavaScript syntax the script translator needs: matching parentheses, splitting
//! on a separator outside strings and brackets, brace balance (strings and regex literals
//! skipped), string and JSON literals, chai chains and JSONPath segments.

use serde_json::Value;

/// The rest of a line after `pm.test("...", function () {` or `pm.test("...", () => {`.
pub(super) fn test_wrapper(s: &str) -> Option<&str> {
    let r = s.strip_prefix("pm.test(")?;
    let brace = r.find('{')?;
    let head = &r[..brace];
    (head.contains("function") || head.contains("=>")).then(|| &r[brace + 1..])
}

/// The index of the `)` matching the `(` at `open`, outside strings.
pub(super) fn matching(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip_while(|(i, _)| *i < open) {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits on `sep` outside strings, parentheses, brackets and braces.
pub(super) fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in s.chars() {
        if let Some(q) = quote {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Opening minus closing characters, outside strings and regex literals.
pub(super) fn balance(s: &str, open: char, close: char) -> i32 {
    let mut n = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut prev = ' ';
    for c in s.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if c == '"' || c == '\'' || c == '`' || (c == '/' && "=(,:!&|?{};".contains(prev)) {
            quote = Some(c);
        } else if c == open {
            n += 1;
        } else if c == close {
            n -= 1;
        }
        if !c.is_whitespace() {
            prev = c;
        }
    }
    n
}

/// `name = expr` (not `==`), the name trimmed.
pub(super) fn split_assign(s: &str) -> Option<(&str, &str)> {
    let i = s.find('=')?;
    if s[i + 1..].starts_with('=') || s[..i].ends_with(['!', '<', '>', '=']) {
        return None;
    }
    let name = s[..i].trim();
    let name = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    Some((name, s[i + 1..].trim()))
}

pub(super) fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// `'x'`, `"x"` or `` `x` `` (no interpolation) as its text.
pub(super) fn string_lit(s: &str) -> Option<String> {
    let s = s.trim();
    let q = s.chars().next()?;
    if !matches!(q, '"' | '\'' | '`') || s.len() < 2 || !s.ends_with(q) {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    if q == '`' && inner.contains("${") {
        return None;
    }
    if q == '"' {
        return serde_json::from_str(s).ok();
    }
    Some(
        inner
            .replace(&format!("\\{q}"), &q.to_string())
            .replace("\\\\", "\\"),
    )
}

/// A JavaScript literal as JSON: numbers, booleans, null, strings, JSON objects and arrays.
pub(super) fn literal(s: &str) -> Option<Value> {
    let s = s.trim();
    if let Some(t) = string_lit(s) {
        return Some(Value::String(t));
    }
    serde_json::from_str(s).ok()
}

/// The argument of a call `prefix...)` that `e` is.
pub(super) fn call_arg<'a>(e: &'a str, prefix: &str) -> Option<&'a str> {
    e.trim().strip_prefix(prefix)?.strip_suffix(')')
}

/// `pm.response.headers.get("X")` or `postman.getResponseHeader("X")` → `X`.
pub(super) fn header_subject(e: &str) -> Option<String> {
    let arg = call_arg(e, "pm.response.headers.get(")
        .or_else(|| call_arg(e, "postman.getResponseHeader("))?;
    string_lit(arg)
}

/// The words of a chai chain (`.to.be.oneOf([1, 2])` → `oneOf` with its arguments), without
/// the filler words.
pub(super) fn chain_words(chain: &str) -> Vec<(String, Vec<String>)> {
    const FILLER: &[&str] = &[
        "to", "be", "been", "is", "that", "which", "and", "has", "have", "with", "at", "of",
        "same", "does", "deep", "an", "a",
    ];
    let mut out = Vec::new();
    for part in split_top(chain.trim().trim_start_matches('.'), '.') {
        let part = part.trim();
        let (word, args) = match part.find('(') {
            Some(i) => {
                let inner = part[i + 1..].strip_suffix(')').unwrap_or(&part[i + 1..]);
                let args = split_top(inner, ',')
                    .into_iter()
                    .map(|a| a.trim().to_string());
                let args: Vec<String> = if inner.trim_start().starts_with('[') {
                    vec![inner.trim().to_string()]
                } else {
                    args.collect()
                };
                (&part[..i], args)
            }
            None => (part, Vec::new()),
        };
        if FILLER.contains(&word) && args.is_empty() {
            continue;
        }
        out.push((word.to_string(), args));
    }
    out
}

/// `$.a` + `b` → `$.a.b` (or `$.a['b c']`).
pub(super) fn child(path: &str, key: &str) -> String {
    if !key.is_empty()
        && key.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit())
    {
        format!("{path}.{key}")
    } else {
        format!(
            "{path}['{}']",
            key.replace('\\', "\\\\").replace('\'', "\\'")
        )
    }
}

/// `a.b.c` (Postman's `jsonBody` path) as `$.a.b.c`.
pub(super) fn path_of_dotted(k: &str) -> String {
    k.split('.').fold("$".to_string(), |p, seg| child(&p, seg))
}

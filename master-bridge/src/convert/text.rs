//! Text helpers shared by the importers: `{{templates}}` made valid for the plan, variable
//! names, percent-encoding that never fails (a stray `%` stays a `%`) and query strings.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

use contract::template::Template;

use super::build::Notes;

/// Characters encoded in a query key or value (templates are kept as they are).
const COMPONENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'=')
    .add(b'<')
    .add(b'>')
    .add(b'`');

/// Percent-encodes a query component, leaving `{{templates}}` as they are.
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        out.extend(utf8_percent_encode(&rest[..open], COMPONENT));
        out.push_str(&rest[open..open + close + 2]);
        rest = &rest[open + close + 2..];
    }
    out.extend(utf8_percent_encode(rest, COMPONENT));
    out
}

/// Decodes `%XX` (and `+` as a space when `plus` is set); invalid sequences stay as they are.
pub(crate) fn decode_component(s: &str, plus: bool) -> String {
    let s = if plus {
        s.replace('+', " ")
    } else {
        s.to_string()
    };
    percent_decode_str(&s).decode_utf8_lossy().into_owned()
}

/// `a=1&b=&a=2` as ordered pairs (repeated keys kept), decoded.
pub(crate) fn parse_query(qs: &str) -> Vec<(String, String)> {
    qs.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_component(k, true), decode_component(v, true))
        })
        .collect()
}

/// Splits a URL into the part before `?` and its query string (the fragment is dropped).
/// A `?` inside a `{{template}}` does not count.
pub(crate) fn split_url(raw: &str) -> (String, Option<String>) {
    let raw = match raw.find('#') {
        Some(i)
            if !raw[..i].contains("{{")
                || raw[..i].matches("{{").count() == raw[..i].matches("}}").count() =>
        {
            &raw[..i]
        }
        _ => raw,
    };
    match raw.find('?') {
        Some(i) => (raw[..i].to_string(), Some(raw[i + 1..].to_string())),
        None => (raw.to_string(), None),
    }
}

/// A variable name the plan accepts: letters, digits, `_`, `-`, `.`; anything else becomes `_`.
pub(crate) fn var_name(name: &str) -> String {
    let n: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if n.is_empty() { "_".into() } else { n }
}

/// Makes every `{{placeholder}}` in `s` one the plan understands: names with other characters
/// are renamed with [`var_name`], Postman's dynamic variables this plan has no built-in for
/// (`{{$randomFirstName}}`) become the plan variable of that name (returned in `dynamic`, to
/// be defined), each with a note.
pub(crate) fn fix_templates(
    s: &str,
    item: &str,
    notes: &mut Notes,
    dynamic: &mut Vec<String>,
) -> String {
    if !s.contains("{{") {
        return s.to_string();
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            notes.add(item, format!("unclosed {{{{ in {s:?}: kept as text"));
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = after[..close].trim();
        let whole = format!("{{{{{inner}}}}}");
        if Template::parse(&whole).is_ok() {
            out.push_str(&whole);
        } else if let Some(d) = inner.strip_prefix('$') {
            let name = var_name(d);
            notes.add(
                item,
                format!(
                    "dynamic variable {{{{${d}}}}} has no plan built-in: it became the plan variable {{{{{name}}}}} (give it a value)"
                ),
            );
            if !dynamic.contains(&name) {
                dynamic.push(name.clone());
            }
            out.push_str(&format!("{{{{{name}}}}}"));
        } else {
            let name = var_name(inner);
            notes.add(
                item,
                format!("variable {{{{{inner}}}}} renamed {{{{{name}}}}} (names are letters, digits, _ - .)"),
            );
            out.push_str(&format!("{{{{{name}}}}}"));
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// A JSON scalar as the text Postman would send (`true`, `3`, `"x"` → `x`, null → ``).
pub(crate) fn scalar_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stray_percent_survives_decoding() {
        assert_eq!(decode_component("100%", true), "100%");
        assert_eq!(decode_component("a%20b+c%zz", true), "a b c%zz");
        assert_eq!(
            parse_query("a=1&a=2&b"),
            vec![
                ("a".into(), "1".into()),
                ("a".into(), "2".into()),
                ("b".into(), "".into())
            ]
        );
    }

    #[test]
    fn templates_are_not_encoded() {
        assert_eq!(encode_component("{{a b}}&x=1 %"), "{{a b}}%26x%3D1%20%25");
    }

    #[test]
    fn templates_are_fixed_with_notes() {
        let mut notes = Notes::default();
        let mut dynamic = Vec::new();
        let s = fix_templates(
            "{{Base URL}}/x/{{$guid}}/{{ $randomFirstName }}",
            "r",
            &mut notes,
            &mut dynamic,
        );
        assert_eq!(s, "{{Base_URL}}/x/{{$guid}}/{{randomFirstName}}");
        assert_eq!(dynamic, vec!["randomFirstName".to_string()]);
        assert_eq!(notes.0.len(), 2);
    }

    #[test]
    fn urls_split_at_the_query() {
        assert_eq!(
            split_url("http://h/p?a=1#f"),
            ("http://h/p".into(), Some("a=1".into()))
        );
        assert_eq!(split_url("{{u}}/p"), ("{{u}}/p".into(), None));
    }
}

//! Postman-style templates: `{{name}}` and built-ins such as `{{$uuid}}`, parsed once.
//!
//! A [`Template`] is a list of literal and placeholder parts. Parsing happens when a plan is
//! validated and again when it is compiled; rendering (in the worker) only looks values up.

use std::fmt;

/// A built-in dynamic value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// A random UUID v4.
    Uuid,
    /// Unix time in whole seconds.
    Timestamp,
    /// ISO 8601 UTC time with milliseconds, e.g. `2026-11-22T03:04:05.678Z`.
    IsoTimestamp,
    /// A random integer in `lo..=hi` (`{{$randomInt}}` is `0..=1000`, as in Postman).
    RandomInt { lo: i64, hi: i64 },
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    /// A variable (plan variable, data column, extracted value or `--var`).
    Var(String),
    Builtin(Builtin),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// A template that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

impl Template {
    /// Parses `text`. `{{` must be closed by `}}`; names are letters, digits, `_`, `-` and `.`.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| TemplateError(format!("unclosed {{{{ in {text:?}")))?;
            let inner = after[..close].trim();
            parts.push(parse_placeholder(inner)?);
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// True when the template has no placeholders.
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// The variables the template refers to.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            _ => None,
        })
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.parts {
            match p {
                Part::Literal(s) => f.write_str(s)?,
                Part::Var(v) => write!(f, "{{{{{v}}}}}")?,
                Part::Builtin(Builtin::Uuid) => f.write_str("{{$uuid}}")?,
                Part::Builtin(Builtin::Timestamp) => f.write_str("{{$timestamp}}")?,
                Part::Builtin(Builtin::IsoTimestamp) => f.write_str("{{$isoTimestamp}}")?,
                Part::Builtin(Builtin::RandomInt { lo, hi }) => {
                    write!(f, "{{{{$randomInt({lo},{hi})}}}}")?
                }
            }
        }
        Ok(())
    }
}

fn parse_placeholder(inner: &str) -> Result<Part, TemplateError> {
    if let Some(builtin) = inner.strip_prefix('$') {
        return parse_builtin(builtin).map(Part::Builtin);
    }
    if inner.is_empty() {
        return Err(TemplateError("empty {{}} placeholder".into()));
    }
    if !inner
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
    {
        return Err(TemplateError(format!(
            "invalid variable name {inner:?} (letters, digits, _ - . only)"
        )));
    }
    Ok(Part::Var(inner.to_string()))
}

fn parse_builtin(s: &str) -> Result<Builtin, TemplateError> {
    let unknown = || {
        TemplateError(format!(
            "unknown built-in {{{{${s}}}}} (known: $uuid, $timestamp, $isoTimestamp, $randomInt, $randomInt(a,b))"
        ))
    };
    match s {
        "uuid" | "guid" | "randomUUID" => Ok(Builtin::Uuid),
        "timestamp" => Ok(Builtin::Timestamp),
        "isoTimestamp" => Ok(Builtin::IsoTimestamp),
        "randomInt" => Ok(Builtin::RandomInt { lo: 0, hi: 1000 }),
        _ => {
            let args = s
                .strip_prefix("randomInt(")
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(unknown)?;
            let (a, b) = args.split_once(',').ok_or_else(|| {
                TemplateError(format!("$randomInt takes two integers, found ({args})"))
            })?;
            let parse = |x: &str| {
                x.trim().parse::<i64>().map_err(|_| {
                    TemplateError(format!("$randomInt: {:?} is not an integer", x.trim()))
                })
            };
            let (lo, hi) = (parse(a)?, parse(b)?);
            if lo > hi {
                return Err(TemplateError(format!(
                    "$randomInt({lo},{hi}): the first bound is larger"
                )));
            }
            Ok(Builtin::RandomInt { lo, hi })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_literals_vars_and_builtins() {
        let t = Template::parse("Bearer {{ token }}/{{$randomInt(5, 9)}}{{$uuid}}").unwrap();
        assert_eq!(
            t.parts,
            vec![
                Part::Literal("Bearer ".into()),
                Part::Var("token".into()),
                Part::Literal("/".into()),
                Part::Builtin(Builtin::RandomInt { lo: 5, hi: 9 }),
                Part::Builtin(Builtin::Uuid),
            ]
        );
        assert_eq!(t.vars().collect::<Vec<_>>(), ["token"]);
        assert!(Template::parse("plain").unwrap().is_static());
        assert_eq!(
            Template::parse("u{{$randomInt}}").unwrap().parts[1],
            Part::Builtin(Builtin::RandomInt { lo: 0, hi: 1000 })
        );
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in [
            "{{a",
            "{{}}",
            "{{$nope}}",
            "{{$randomInt(3,1)}}",
            "{{$randomInt(x,1)}}",
            "{{a b}}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn displays_back_to_source_form() {
        let t = Template::parse("a{{b}}c{{$timestamp}}").unwrap();
        assert_eq!(t.to_string(), "a{{b}}c{{$timestamp}}");
    }
}

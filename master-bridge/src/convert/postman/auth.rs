//! Postman auth (request, folder or collection level, v2.0 or v2.1 shape) rendered into the
//! step's headers or query, since plans have no structured auth yet: bearer and API key keep
//! their templates; basic auth is base64 of `user:password`, so credentials made of variables
//! are rendered from the collection's and environment's values at import time (with a note),
//! or left out (with a note) when a value is unknown. Other schemes are noted.

use base64::Engine;

use serde_json::Value;

use super::super::build::StepOut;
use super::{Ctx, auth_param};

pub(super) fn apply(ctx: &mut Ctx, step: &mut StepOut, auth: &Value, path: &str) {
    let kind = auth.get("type").and_then(Value::as_str).unwrap_or("noauth");
    if kind == "noauth" || kind == "inherit" {
        return;
    }
    let p = |key: &str| auth_param(auth, kind, key).unwrap_or_default();
    let header = |ctx: &mut Ctx, step: &mut StepOut, name: &str, value: String| {
        if step.header(name).is_some() {
            ctx.notes.add(
                path,
                format!("{kind} auth not applied: the request sets its own {name} header"),
            );
        } else {
            let v = ctx.fix(&value, path);
            step.headers.push((name.to_string(), v));
        }
    };
    match kind {
        "bearer" => {
            let token = p("token");
            if token.trim().is_empty() {
                ctx.notes.add(
                    path,
                    "bearer auth with an empty token: no Authorization header sent",
                );
            } else {
                header(ctx, step, "Authorization", format!("Bearer {token}"));
            }
        }
        "basic" => {
            let (user, pass) = (p("username"), p("password"));
            match (render(ctx, &user), render(ctx, &pass)) {
                (Some(u), Some(pw)) => {
                    if user.contains("{{") || pass.contains("{{") {
                        ctx.notes.add(
                            path,
                            format!(
                                "basic auth {user}:{pass} rendered at import time from the variables' values (plans have no structured auth yet; it will not follow later changes)"
                            ),
                        );
                    }
                    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{pw}"));
                    header(ctx, step, "Authorization", format!("Basic {b64}"));
                }
                _ => ctx.notes.add(
                    path,
                    format!(
                        "basic auth {user}:{pass} uses a variable with no known value (plans have no structured auth yet): no Authorization header sent"
                    ),
                ),
            }
        }
        "apikey" => {
            let key = p("key");
            let value = p("value");
            if key.trim().is_empty() {
                ctx.notes
                    .add(path, "API key auth without a key name: not sent");
            } else if p("in") == "query" {
                let k = ctx.fix(&key, path);
                let v = ctx.fix(&value, path);
                step.query.push((k, v));
            } else {
                header(ctx, step, key.trim(), value);
            }
        }
        "oauth2" => {
            let token = p("accessToken");
            let prefix = auth_param(auth, kind, "headerPrefix").unwrap_or_else(|| "Bearer".into());
            if token.trim().is_empty() {
                ctx.notes.add(
                    path,
                    "OAuth 2.0 auth not carried over (no access token saved; plans cannot fetch one yet)",
                );
            } else {
                ctx.notes.add(
                    path,
                    "OAuth 2.0: the saved access token is sent as is (plans cannot refresh it)",
                );
                header(
                    ctx,
                    step,
                    "Authorization",
                    format!("{prefix} {token}").trim().to_string(),
                );
            }
        }
        other => ctx.notes.add(
            path,
            format!("{other} auth not carried over (plans support bearer, basic and API key)"),
        ),
    }
}

/// `s` with every `{{var}}` replaced by its known value; `None` if one is unknown.
fn render(ctx: &Ctx, s: &str) -> Option<String> {
    render_at(ctx, s, 0)
}

fn render_at(ctx: &Ctx, s: &str, depth: usize) -> Option<String> {
    if depth > 8 {
        return None;
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}")?;
        let name = super::super::text::var_name(&after[..close]);
        // A value may itself hold templates.
        out.push_str(&render_at(ctx, ctx.values.get(&name)?, depth + 1)?);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Some(out)
}

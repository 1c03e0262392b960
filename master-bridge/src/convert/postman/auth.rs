//! Postman auth (request, folder or collection level, v2.0 or v2.1 shape) → the plan's
//! structured `auth` at the same level (step, transaction, plan), templates kept: the worker
//! renders them at send time, so credentials made of variables follow the environment.
//! `inherit` stays inheritance; `noauth` below the collection is `{"type": "none"}`. An OAuth
//! 2.0 block with a saved access token becomes bearer auth with that token (noted); digest,
//! AWS, Hawk, NTLM and the rest are noted and send no auth.

use serde_json::{Value, json};

use super::{Ctx, auth_param};

/// The plan's auth for a Postman auth block; `None` to inherit.
pub(super) fn convert(ctx: &mut Ctx, auth: &Value, path: &str) -> Option<Value> {
    let kind = auth.get("type").and_then(Value::as_str).unwrap_or("noauth");
    let p = |ctx: &mut Ctx, key: &str| {
        let v = auth_param(auth, kind, key).unwrap_or_default();
        ctx.fix(&v, path)
    };
    let none = Some(json!({"type": "none"}));
    match kind {
        "inherit" => None,
        "noauth" => none,
        "bearer" => {
            let token = p(ctx, "token");
            if token.trim().is_empty() {
                ctx.notes.add(
                    path,
                    "bearer auth with an empty token: no Authorization header sent",
                );
                return none;
            }
            Some(json!({"type": "bearer", "token": token}))
        }
        "basic" => Some(json!({
            "type": "basic",
            "username": p(ctx, "username"),
            "password": p(ctx, "password"),
        })),
        "apikey" => {
            let key = auth_param(auth, kind, "key").unwrap_or_default();
            let key = key.trim();
            if key.is_empty() || key.contains("{{") {
                ctx.notes.add(
                    path,
                    format!("API key auth with the key name {key:?}: not sent (plans need a literal name)"),
                );
                return none;
            }
            let place = if p(ctx, "in") == "query" {
                "query"
            } else {
                "header"
            };
            Some(json!({"type": "apikey", "key": key, "value": p(ctx, "value"), "in": place}))
        }
        "oauth2" => {
            let token = p(ctx, "accessToken");
            let prefix = auth_param(auth, kind, "headerPrefix").unwrap_or_else(|| "Bearer".into());
            if token.trim().is_empty() {
                ctx.notes.add(
                    path,
                    "OAuth 2.0 auth not carried over (no access token saved; log in with a step and an extractor instead): no auth sent",
                );
                return none;
            }
            ctx.notes.add(
                path,
                "OAuth 2.0: the saved access token is sent as is (plans do not refresh it)",
            );
            if prefix.trim().eq_ignore_ascii_case("bearer") {
                Some(json!({"type": "bearer", "token": token}))
            } else {
                let value = format!("{} {token}", prefix.trim()).trim().to_string();
                Some(
                    json!({"type": "apikey", "key": "Authorization", "value": value, "in": "header"}),
                )
            }
        }
        other => {
            ctx.notes.add(
                path,
                format!("{other} auth not carried over (plans support basic, bearer and API key): no auth sent"),
            );
            none
        }
    }
}

/// The plan's auth (its JSON) as a Postman v2.1 auth block; `None` for inherit.
pub(crate) fn to_postman(auth: &Value) -> Option<Value> {
    let s = |k: &str| auth.get(k).and_then(Value::as_str).unwrap_or_default();
    let param = |k: &str, v: &str| json!({"key": k, "value": v, "type": "string"});
    match s("type") {
        "none" => Some(json!({"type": "noauth"})),
        "basic" => Some(json!({"type": "basic", "basic": [
            param("username", s("username")), param("password", s("password"))]})),
        "bearer" => Some(json!({"type": "bearer", "bearer": [param("token", s("token"))]})),
        "apikey" => {
            let place = if s("in") == "query" {
                "query"
            } else {
                "header"
            };
            Some(json!({"type": "apikey", "apikey": [
                param("key", s("key")), param("value", s("value")), param("in", place)]}))
        }
        _ => None,
    }
}

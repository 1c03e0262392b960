//! The `auth` field of a step, a transaction or the plan (see [`Auth`]).

use serde_json::{Map, Value};

use super::*;

impl Validator {
    /// The `auth` of `obj` (`Inherit` when absent), every wrong field reported.
    pub(super) fn auth(&mut self, path: &str, obj: &Map<String, Value>) -> Auth {
        let Some(value) = obj.get("auth").filter(|v| !v.is_null()) else {
            return Auth::Inherit;
        };
        let path = join(path, "auth");
        let Some(obj) = self.object(
            &path,
            value,
            &[
                "type", "username", "password", "token", "key", "value", "in",
            ],
        ) else {
            return Auth::Inherit;
        };
        let Some(kind) = self.required_str(&path, obj, "type") else {
            return Auth::Inherit;
        };
        let allowed: &[&str] = match kind.as_str() {
            "inherit" | "none" => &["type"],
            "basic" => &["type", "username", "password"],
            "bearer" => &["type", "token"],
            "apikey" => &["type", "key", "value", "in"],
            other => {
                self.err(
                    &join(&path, "type"),
                    format!(
                        "unknown auth type {other:?} (expected one of: {})",
                        AUTH_TYPES.join(", ")
                    ),
                );
                return Auth::Inherit;
            }
        };
        for k in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
            self.err(
                &join(&path, k),
                format!(
                    "does not apply to {kind} auth (it takes: {})",
                    allowed[1..].join(", ")
                ),
            );
        }
        let text = |v: &mut Validator, key: &str, required: bool| -> String {
            let s = if required {
                v.required_str(&path, obj, key)
            } else {
                v.optional_str(&path, obj, key)
            };
            let s = s.unwrap_or_default();
            v.template(&join(&path, key), &s);
            s
        };
        match kind.as_str() {
            "inherit" => Auth::Inherit,
            "none" => Auth::None,
            "basic" => Auth::Basic {
                username: text(self, "username", true),
                password: text(self, "password", false),
            },
            "bearer" => Auth::Bearer {
                token: text(self, "token", true),
            },
            _ => {
                let key = self.required_str(&path, obj, "key").unwrap_or_default();
                let place = match obj.get("in").and_then(Value::as_str) {
                    None if !obj.contains_key("in") => ApiKeyIn::Header,
                    Some("header") => ApiKeyIn::Header,
                    Some("query") => ApiKeyIn::Query,
                    _ => {
                        self.err(&join(&path, "in"), "must be \"header\" or \"query\"");
                        ApiKeyIn::Header
                    }
                };
                if key.contains("{{") {
                    self.err(&join(&path, "key"), "is a name, not a template");
                } else if place == ApiKeyIn::Header && !key.is_empty() && !is_token(&key) {
                    self.err(&join(&path, "key"), "is not a valid header name");
                }
                Auth::ApiKey {
                    key,
                    value: text(self, "value", true),
                    place,
                }
            }
        }
    }
}

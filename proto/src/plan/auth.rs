//! Auth: a structured part of a step, a transaction and the plan, inherited the Postman way
//! (step → transaction → plan) and rendered by the worker at send time, so credentials made of
//! variables follow the environment, extractors and `--var`.
//!
//! ```json
//! "auth": {"type": "basic", "username": "{{user}}", "password": "{{pass}}"}
//! "auth": {"type": "bearer", "token": "{{token}}"}
//! "auth": {"type": "apikey", "key": "X-Api-Key", "value": "{{key}}", "in": "header"}
//! "auth": {"type": "none"}        // this step (or transaction) sends no auth
//! "auth": {"type": "inherit"}     // the default: use the enclosing level's
//! ```
//!
//! A header the step sets itself wins over its auth (the step said it literally). Digest and
//! OAuth 2.0 flows are not built: a plan can log in with a step and an extractor instead.

use serde::Serialize;

/// Where an API key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyIn {
    #[default]
    Header,
    Query,
}

/// A step's, transaction's or plan's auth. Every string may hold templates.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Auth {
    /// Use the enclosing level's auth (the plan's own `inherit` means none).
    #[default]
    Inherit,
    /// Send no auth, whatever the enclosing levels say.
    None,
    /// `Authorization: Basic base64(username:password)`, encoded after rendering.
    Basic { username: String, password: String },
    /// `Authorization: Bearer <token>`.
    Bearer { token: String },
    /// A key sent as a header (`key: value`) or a query parameter (`key=value`).
    #[serde(rename = "apikey")]
    ApiKey {
        key: String,
        value: String,
        #[serde(rename = "in")]
        place: ApiKeyIn,
    },
}

/// The auth types a plan accepts, as written.
pub const AUTH_TYPES: &[&str] = &["inherit", "none", "basic", "bearer", "apikey"];

impl Auth {
    pub fn is_inherit(&self) -> bool {
        *self == Auth::Inherit
    }

    /// The auth that applies: the first of `levels` (innermost first) that does not inherit.
    /// `None` when every level inherits or the one that decides says `none`.
    pub fn effective<'a>(levels: impl IntoIterator<Item = &'a Auth>) -> Option<&'a Auth> {
        levels
            .into_iter()
            .find(|a| !a.is_inherit())
            .filter(|a| **a != Auth::None)
    }

    /// Every template of this auth with its field name, for the variable check.
    pub fn templates(&self) -> Vec<(&'static str, &str)> {
        match self {
            Auth::Inherit | Auth::None => Vec::new(),
            Auth::Basic { username, password } => {
                vec![("username", username), ("password", password)]
            }
            Auth::Bearer { token } => vec![("token", token)],
            Auth::ApiKey { value, .. } => vec![("value", value)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_innermost_level_that_does_not_inherit_decides() {
        let bearer = Auth::Bearer { token: "t".into() };
        let inherit = Auth::Inherit;
        assert_eq!(
            Auth::effective([&inherit, &inherit, &bearer]),
            Some(&bearer)
        );
        assert_eq!(Auth::effective([&inherit, &Auth::None, &bearer]), None);
        assert_eq!(Auth::effective([&inherit, &inherit]), None);
        let json = serde_json::to_value(Auth::ApiKey {
            key: "k".into(),
            value: "v".into(),
            place: ApiKeyIn::Query,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "apikey", "key": "k", "value": "v", "in": "query"})
        );
    }
}

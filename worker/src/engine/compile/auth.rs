//! The step's auth, compiled: its header (basic credentials encoded after rendering, or once
//! when they hold no template) or its API key added to the query.

use std::borrow::Cow;

use contract::plan::{ApiKeyIn, Auth, KeyValues};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::engine::template::{HeaderTpl, Tpl, VarTable, basic_value};

/// The step's query, with the API key of its auth when that goes in the query and the step
/// does not set the parameter itself.
pub(super) fn query_with_key<'a>(auth: Option<&Auth>, query: &'a KeyValues) -> Cow<'a, KeyValues> {
    match auth {
        Some(Auth::ApiKey {
            key,
            value,
            place: ApiKeyIn::Query,
        }) if query.get(key).is_none() => {
            let mut q = query.clone();
            q.0.push((key.clone(), value.clone()));
            Cow::Owned(q)
        }
        _ => Cow::Borrowed(query),
    }
}

/// A header: static ones go in `headers`, templated ones in `templates`.
pub(super) fn push_header(
    headers: &mut HeaderMap,
    templates: &mut Vec<(HeaderName, HeaderTpl)>,
    name: HeaderName,
    value: HeaderTpl,
) -> Result<(), String> {
    let fixed = match &value {
        HeaderTpl::Text(t) => t.as_static(),
        HeaderTpl::Basic(t) => t.as_static().map(|c| basic_value(&c)),
    };
    match fixed {
        Some(s) => {
            headers.append(name, HeaderValue::from_str(&s).map_err(|e| e.to_string())?);
        }
        None => templates.push((name, value)),
    }
    Ok(())
}

/// The header an auth sends (an API key in the query is added to the URL instead).
pub(super) fn header(auth: &Auth, vars: &mut VarTable) -> Option<(HeaderName, HeaderTpl)> {
    let authorization = reqwest::header::AUTHORIZATION;
    match auth {
        Auth::Basic { username, password } => Some((
            authorization,
            HeaderTpl::Basic(Tpl::compile(&format!("{username}:{password}"), vars)),
        )),
        Auth::Bearer { token } => Some((
            authorization,
            HeaderTpl::Text(Tpl::compile(&format!("Bearer {token}"), vars)),
        )),
        Auth::ApiKey {
            key,
            value,
            place: ApiKeyIn::Header,
        } => Some((
            HeaderName::from_bytes(key.as_bytes()).ok()?,
            HeaderTpl::Text(Tpl::compile(value, vars)),
        )),
        _ => None,
    }
}

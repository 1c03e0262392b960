//! Code generation: a step as a curl command line ([`curl`]) and a whole plan as a Locust
//! locustfile ([`locust`]), so a plan can be handed to anyone with curl or plain Locust.
//! Both work on the validated [`Plan`]. What the target language cannot say is written as a
//! comment in the code, never dropped silently.

mod curl;
mod locust;

pub use curl::curl;
pub use locust::locustfile;

use std::collections::BTreeMap;

use contract::Plan;
use contract::template::{Part, Template};

/// `text` with every `{{name}}` that `values` defines replaced; other placeholders kept.
pub(crate) fn fill(text: &str, values: &BTreeMap<String, String>) -> String {
    let Ok(t) = Template::parse(text) else {
        return text.to_string();
    };
    t.parts
        .iter()
        .map(|p| match p {
            Part::Literal(s) => s.clone(),
            Part::Var(v) => values
                .get(v)
                .cloned()
                .unwrap_or_else(|| format!("{{{{{v}}}}}")),
            Part::Builtin(_) => Template {
                parts: vec![p.clone()],
            }
            .to_string(),
        })
        .collect()
}

/// The step's URL joined to the plan's host as Locust joins them (`host + url`).
pub(crate) fn full_url(plan: &Plan, url: &str) -> String {
    if url.contains("://") || url.starts_with("{{") {
        return url.to_string();
    }
    match &plan.host {
        Some(h) => format!("{}{url}", h.trim_end_matches('/')),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests;

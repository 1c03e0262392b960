//! Conversions between plans and what people already have: Postman collections (v2.0 and v2.1)
//! and environments, curl command lines, HAR recordings, and back to Postman.
//!
//! Pure functions, no I/O: [`import`] turns a document into a plan (a `serde_json::Value` that
//! `contract`'s validator accepts, except for variables defined only in an environment) plus a
//! [`Note`] for every thing that was not carried over, item by item; nothing is dropped
//! silently. [`export_postman`] writes a plan as a Postman v2.1 collection, keeping the
//! plan-only features in a namespaced extension field ([`EXTENSION`]) so that plan → Postman →
//! plan is lossless.
//!
//! # Layout
//! - [`build`]: the plan being built (steps with ordered pairs, notes) and its JSON form.
//! - [`text`]: templates (`{{var}}`), percent-decoding and query strings.
//! - [`postman`]: collections, their auth and environments.
//! - [`scripts`]: Postman test scripts → assertions and extractors.
//! - [`shell`] and [`curl`]: curl command lines.
//! - [`har`]: HAR 1.2 recordings, and [`correlate`]: values a response returns that later
//!   requests send back become extractors and `{{variables}}`.
//! - [`export`]: plan → Postman v2.1; [`codegen`]: a step as curl, a plan as a locustfile.

mod build;
mod codegen;
mod correlate;
mod curl;
mod export;
mod har;
mod postman;
mod scripts;
mod shell;
mod text;

#[cfg(test)]
mod fixtures;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use codegen::{curl, locustfile};
pub use export::{export_postman, export_postman_environment};

/// The key of the extension field in exported collections (collection, folders and requests).
pub const EXTENSION: &str = "x-locust-http";

/// What an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// A Postman collection, schema v2.0 or v2.1.
    Postman,
    /// A Postman environment file (a variable map, no plan).
    PostmanEnvironment,
    /// One or more curl command lines.
    Curl,
    /// A HAR 1.2 recording (browser DevTools "Save all as HAR").
    Har,
}

impl Format {
    /// `postman`, `postman-environment`, `curl` or `har`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "postman" => Some(Format::Postman),
            "postman-environment" => Some(Format::PostmanEnvironment),
            "curl" => Some(Format::Curl),
            "har" => Some(Format::Har),
            _ => None,
        }
    }
}

/// Options of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// A Postman environment file (its JSON text) to read along with a collection: its
    /// variables come back in [`Imported::environment`] (auth and every other template keep
    /// their `{{variables}}`, rendered by the worker at send time).
    pub environment: Option<String>,
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imported {
    /// The plan (JSON). `Value::Null` for [`Format::PostmanEnvironment`].
    pub plan: Value,
    /// Variables from an environment (the environment format, or `options.environment`), in
    /// file order, names made valid as in the plan. Empty when there is none.
    pub environment: Map<String, Value>,
    /// Everything not carried over, item by item.
    pub notes: Vec<Note>,
}

/// One thing not carried over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// Where: folder path and request name (`Auth / Login`), `collection`, a curl command, ...
    pub item: String,
    /// What was not carried over, and why.
    pub what: String,
}

/// Why an import failed (no plan at all came out).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The input is not JSON (Postman, environment, HAR).
    #[error("not valid JSON: {0}")]
    Json(String),
    /// The document is JSON but not the expected format.
    #[error("not a {format}: {message}")]
    Shape {
        format: &'static str,
        message: String,
    },
    /// A curl command line that cannot be read.
    #[error("curl: {0}")]
    Curl(String),
    /// Nothing to import (no request in the document).
    #[error("nothing to import: {0}")]
    Empty(String),
}

/// Why an export failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot export: {0}")]
pub struct ExportError(pub String);

/// Converts `input` (the file's text) from `format` into a plan and its notes.
pub fn import(
    format: Format,
    input: &str,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    match format {
        Format::Postman => {
            let doc = parse_json(input)?;
            let env = match &options.environment {
                Some(text) => Some(postman::environment(&parse_json(text)?)?),
                None => None,
            };
            postman::collection(&doc, env)
        }
        Format::PostmanEnvironment => {
            let env = postman::environment(&parse_json(input)?)?;
            Ok(Imported {
                plan: Value::Null,
                environment: env.variables,
                notes: env.notes,
            })
        }
        Format::Curl => curl::import(input),
        Format::Har => har::import(&parse_json(input)?),
    }
}

fn parse_json(text: &str) -> Result<Value, ImportError> {
    // A UTF-8 byte order mark is common in files saved on Windows.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_json::from_str(text).map_err(|e| ImportError::Json(e.to_string()))
}

//! What can be wrong with a plan: field errors with their JSON path, the plan error, and the
//! options of a check (which variables come from outside the plan, strict or lenient).

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::Plan;

/// One wrong field: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of the field, e.g. `transactions[0].steps[1].url`; empty for the document itself.
    pub path: String,
    pub message: String,
}

impl FieldError {
    /// `path: message; path: message`, for one-line messages.
    pub fn join(errors: &[FieldError]) -> String {
        join_errors(errors)
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// What a plan is checked against besides its own definitions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckOptions {
    /// Variable names defined outside the plan: the selected environment, `--var`, the values
    /// a Send passes along.
    pub defined: BTreeSet<String>,
    /// Report variables nobody defines in [`Validated::undefined`] instead of rejecting the
    /// plan (saving a draft). Off, they are errors like any other.
    pub allow_undefined: bool,
}

impl CheckOptions {
    /// Undefined variables are errors; `defined` names what the environment and `--var` define.
    pub fn strict<I: IntoIterator<Item = S>, S: Into<String>>(defined: I) -> CheckOptions {
        CheckOptions {
            defined: defined.into_iter().map(Into::into).collect(),
            allow_undefined: false,
        }
    }

    /// Undefined variables are reported, not errors.
    pub fn lenient<I: IntoIterator<Item = S>, S: Into<String>>(defined: I) -> CheckOptions {
        CheckOptions {
            allow_undefined: true,
            ..CheckOptions::strict(defined)
        }
    }
}

/// A valid plan, and the uses of variables nothing defines (only with
/// [`CheckOptions::allow_undefined`]; empty otherwise).
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    pub plan: Plan,
    pub undefined: Vec<UndefinedVar>,
}

/// One use of a variable that nothing defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndefinedVar {
    /// The variable's name (without braces).
    pub name: String,
    /// JSON path of the template that uses it.
    pub path: String,
}

impl UndefinedVar {
    /// The use as a field error (what strict validation reports).
    pub fn field_error(&self) -> FieldError {
        FieldError {
            path: self.path.clone(),
            message: format!(
                "undefined variable {{{{{}}}}}: not a plan variable, data column, extracted value, --var or environment variable",
                self.name
            ),
        }
    }

    /// The distinct names, sorted.
    pub fn names(uses: &[UndefinedVar]) -> Vec<String> {
        let set: BTreeSet<&str> = uses.iter().map(|u| u.name.as_str()).collect();
        set.into_iter().map(str::to_string).collect()
    }
}

/// Why a plan was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    /// The text is not JSON at all.
    #[error("plan is not valid JSON: {message} at line {line}, column {column}")]
    Syntax {
        message: String,
        line: usize,
        column: usize,
    },
    /// The JSON is not a valid plan; every problem is listed.
    #[error("invalid plan: {}", join_errors(.0))]
    Invalid(Vec<FieldError>),
}

impl PlanError {
    /// Every problem as a field error (a syntax error is one error at the document root).
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            PlanError::Invalid(errors) => errors.clone(),
            other => vec![FieldError {
                path: String::new(),
                message: other.to_string(),
            }],
        }
    }
}

fn join_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

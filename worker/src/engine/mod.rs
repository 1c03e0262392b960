//! The HTTP engine: the plan-to-task compiler and the execution of one step.
//!
//! - [`compile`]: a validated plan becomes a [`CompiledPlan`] (URLs resolved, static parts
//!   pre-built, templates bound to variable slots, stats keys interned).
//! - [`template`]: compiled templates and each user's variables.
//! - [`http`]: sending a step and reading its response, with an optional [`Trace`].
//! - [`checks`]: assertions and extractors.
//! - [`allow`]: the `--allow-target` host allow-list.
//! - [`outcome`]: [`Failure`], why a request failed; depends on nothing else in the crate.

pub mod allow;
pub mod checks;
pub mod compile;
pub mod http;
pub mod outcome;
pub mod template;

pub use allow::AllowList;
pub use compile::{CompiledPlan, CompiledStep, CompiledTransaction, compile, compile_with};
pub use http::{Outcome, StepContext, Trace, http_client, run_step};
pub use outcome::Failure;

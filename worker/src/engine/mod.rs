//! The HTTP engine: the plan-to-task compiler and the execution of one step.
//!
//! - [`compile`]: a validated plan becomes a [`CompiledPlan`] (URLs resolved, static parts
//!   pre-built, templates bound to variable slots, stats keys interned).
//! - [`template`]: compiled templates and each user's variables.
//! - [`http`]: sending a step and reading its response, with an optional [`Trace`].
//! - [`checks`]: assertions and extractors.

pub mod checks;
pub mod compile;
pub mod http;
pub mod template;

pub use compile::{CompiledPlan, CompiledStep, CompiledTransaction, compile};
pub use http::{Outcome, StepContext, Trace, http_client, run_step};

//! The HTTP engine: the plan-to-task compiler and the execution of one step.
//!
//! Modules, each depending only on those listed before it (no cycles):
//! 1. [`outcome`]: [`Failure`], [`Outcome`], [`Trace`], the clock; depends on nothing else here.
//! 2. [`template`]: compiled templates and each user's variables.
//! 3. [`allow`]: the `--allow-target` host allow-list.
//! 4. [`feed`]: the plan's data rows handed to users; [`limiter`]: the `max_rps` slots.
//! 5. [`compiled`]: the compiled types ([`CompiledPlan`] and its parts, the [`StatRow`] table).
//! 6. [`request`]: URL resolution and rendering a step into a request.
//! 7. [`compile`](mod@compile): the compiler (a plan becomes a [`CompiledPlan`]); uses
//!    `request` for URLs.
//! 8. [`checks`]: assertions and extractors, as verdicts.
//! 9. [`conns`]: the HTTP/1.1 connections one user owns (on `crate::h1`).
//! 10. [`send`]: a rendered request on the wire (the user's connections, or the shared pool of
//!     HTTP/2 plans), redirects, cookies, the body limit.
//! 11. [`http`]: one step: render, send, judge, with an optional [`Trace`].
//!
//! Statistics are not part of the engine: a compiled plan lists its rows, `crate::stats` counts.

pub mod allow;
pub mod checks;
pub mod compile;
pub mod compiled;
pub mod conns;
pub mod feed;
pub mod http;
pub mod limiter;
pub mod outcome;
pub mod request;
pub mod send;
pub mod template;

pub use allow::AllowList;
pub use compile::{CompileError, compile, compile_with};
pub use compiled::{CompiledPlan, CompiledStep, CompiledTransaction, RowId, StatRow};
pub use conns::Conns;
pub use http::{StepContext, http_client, run_step};
pub use outcome::{Failure, Outcome, Trace};

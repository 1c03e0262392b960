//! The worker's running load: simulated users (and, as the reshaping of issue 9 proceeds, the one
//! owner of the compiled plan, the host override, the allow-list and the statistics).
//!
//! - [`users`]: simulated users as tokio tasks, started and stopped exactly.

pub mod users;

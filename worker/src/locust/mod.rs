//! The Locust master/worker protocol in three layers:
//! - [`codec`]: pure msgpack encoding and decoding of typed messages (no I/O);
//! - [`transport`]: the ZeroMQ DEALER socket (the only user of the `zeromq` crate);
//! - [`session`]: the worker state machine that drives users and statistics.

pub mod codec;
pub mod session;
pub mod transport;

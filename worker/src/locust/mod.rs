//! The Locust master/worker protocol in three layers:
//! - [`codec`]: pure msgpack encoding and decoding of typed messages (no I/O);
//! - [`transport`]: the ZeroMQ DEALER socket (the only user of the `zeromq` crate);
//! - [`session`]: the worker state machine, driving the running load through a trait;
//! - [`node`]: node ids (the worker's name at the master and its ZeroMQ identity).

pub mod codec;
pub mod node;
pub mod session;
pub mod transport;

//! Any frame from a "master": decoding never panics and never allocates without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &[u8]| {
    let _ = worker::locust::codec::decode(frame);
});

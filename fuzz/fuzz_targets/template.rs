//! Any template text: parsing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = contract::template::Template::parse(text);
});

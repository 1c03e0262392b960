//! Any plan document: validation never panics, and a valid plan survives a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(plan) = contract::Plan::from_json(text) {
        let again = contract::Plan::from_json(&plan.to_json())
            .expect("a valid plan's canonical JSON is valid");
        assert_eq!(again.to_json(), plan.to_json());
    }
});

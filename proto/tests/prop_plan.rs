//! Property tests: plan parsing and validation never panic, whatever plan-shaped JSON they get.

use contract::Plan;
use proptest::prelude::*;
use serde_json::{Value, json};

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[ -~]{0,12}".prop_map(Value::from),
        Just(Value::from("{{x}}")),
        Just(Value::from("1s")),
        Just(Value::from("GET")),
        Just(Value::from("/")),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Real field names mostly, so validation goes deep.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "name",
            "host",
            "timeout",
            "variables",
            "session",
            "think_time",
            "max_rps",
            "report_transactions",
            "data",
            "setup",
            "transactions",
            "steps",
            "method",
            "url",
            "headers",
            "body",
            "json",
            "form",
            "multipart",
            "extract",
            "assert",
            "between",
            "constant",
            "csv",
            "file",
            "order",
            "weight",
            "status",
            "var",
            "from",
        ])
        .prop_map(String::from),
        "[a-z]{1,6}",
    ]
}

fn plan_like() -> impl Strategy<Value = Value> {
    (
        value(),
        value(),
        value(),
        prop::collection::vec((key(), value()), 0..4),
        value(),
    )
        .prop_map(|(step_extra, tx_extra, top, steps_fields, max_rps)| {
            let mut step = json!({"name": "s", "method": "GET", "url": "/", "x": step_extra});
            for (k, v) in steps_fields {
                step[k] = v;
            }
            json!({
                "name": "p",
                "max_rps": max_rps,
                "variables": top,
                "transactions": [{"name": "t", "weight": tx_extra, "steps": [step]}],
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn validation_never_panics_on_plan_shaped_json(v in plan_like()) {
        let _ = Plan::from_json(&v.to_string());
    }

    #[test]
    fn validation_never_panics_on_any_json(v in value()) {
        let _ = Plan::from_json(&v.to_string());
    }

    #[test]
    fn valid_plans_round_trip(v in plan_like()) {
        if let Ok(plan) = Plan::from_json(&v.to_string()) {
            prop_assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
        }
    }
}

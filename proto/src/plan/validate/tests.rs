//! Validation tests: every wrong field named, examples valid, round trips.

use std::path::Path;

use super::*;

const SHOP: &str = include_str!("../../../../examples/shop.json");

fn errors(json: &str) -> Vec<FieldError> {
    Plan::from_json(json).unwrap_err().field_errors()
}

fn paths(json: &str) -> Vec<String> {
    errors(json).into_iter().map(|e| e.path).collect()
}

#[test]
fn shop_example_is_valid() {
    let plan = Plan::from_json(SHOP).expect("shop.json is valid");
    assert_eq!(plan.name, "shop");
    assert_eq!(plan.transactions.len(), 2);
    assert_eq!(plan.transactions[1].steps[1].method, Method::Post);
    assert_eq!(plan.timeout, DEFAULT_TIMEOUT);
    assert_eq!(plan.variables.get("item"), Some("42"));
    assert_eq!(plan.transactions[1].steps[0].extract[0].var, "token");
}

#[test]
fn journey_example_loads_its_data_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/journey.json");
    let plan = Plan::from_file(&path, &[("qty".into(), "3".into())]).unwrap();
    let data = plan.data.as_ref().unwrap();
    assert_eq!(data.columns, ["user", "password"]);
    assert_eq!(data.rows.len(), 3);
    assert_eq!(plan.variables.get("qty"), Some("3"));
    assert_eq!(
        plan.think_time,
        Some(ThinkTime::Between(
            Duration::from_millis(500),
            Duration::from_millis(1500)
        ))
    );
    assert!(plan.session && plan.report_transactions);
    // and it survives a round trip through canonical JSON (the data inlined)
    assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
}

#[test]
fn canonical_json_round_trips() {
    let plan = Plan::from_json(SHOP).unwrap();
    let again = Plan::from_json(&plan.to_json()).unwrap();
    assert_eq!(plan, again);
}

#[test]
fn every_wrong_field_is_named() {
    let bad = r#"{"name": "x", "host": "ftp://h", "transactions": [
        {"name": "a", "weight": 0, "steps": [{"name": "s", "method": "FETCH"}]},
        {"name": "a", "steps": [{"name": "t", "method": "get", "url": "/", "json": 1, "form": {}}]}]}"#;
    let got = paths(bad);
    for want in [
        "host",
        "transactions[0].weight",
        "transactions[0].steps[0].method",
        "transactions[0].steps[0].url",
        "transactions[1].steps[0]",
    ] {
        assert!(
            got.contains(&want.to_string()),
            "{want} missing from {got:?}"
        );
    }
    let msg = Plan::from_json(bad).unwrap_err().to_string();
    assert!(msg.contains("unknown HTTP method \"FETCH\""), "{msg}");
    assert!(msg.contains("url: is required"), "{msg}");
}

#[test]
fn duplicate_transaction_names_are_rejected() {
    let bad = r#"{"name": "x", "transactions": [
        {"name": "a", "steps": [{"name": "s", "method": "GET", "url": "/"}]},
        {"name": "a", "steps": [{"name": "s", "method": "GET", "url": "/"}]}]}"#;
    assert_eq!(paths(bad), ["transactions[1].name"]);
}

#[test]
fn syntax_errors_give_a_position() {
    let err = Plan::from_json("{\"name\": \"x\",\n \"transactions\": [}").unwrap_err();
    assert!(matches!(err, PlanError::Syntax { line: 2, .. }), "{err:?}");
}

#[test]
fn unknown_fields_are_rejected() {
    let bad = r#"{"name": "x", "transactions": [
        {"name": "a", "steps": [{"name": "s", "method": "GET", "url": "/", "heders": {}}]}]}"#;
    assert_eq!(paths(bad), ["transactions[0].steps[0].heders"]);
}

#[test]
fn undefined_variables_are_caught_up_front() {
    let bad = r#"{"name": "x", "variables": {"a": "1"}, "transactions": [
        {"name": "t", "steps": [
            {"name": "s", "method": "GET", "url": "/{{a}}/{{nope}}", "headers": {"X": "{{token}}"},
             "json": {"k": ["{{missing}}"]}},
            {"name": "l", "method": "POST", "url": "/login", "extract": [{"var": "token", "json": "$.t"}]}]}]}"#;
    let errs = errors(bad);
    let got: Vec<(&str, &str)> = errs
        .iter()
        .map(|e| (e.path.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "transactions[0].steps[0].url");
    assert!(got[0].1.contains("{{nope}}"));
    assert_eq!(got[1].0, "transactions[0].steps[0].json.k[0]");
}

const ENV_PLAN: &str = r#"{"$schema": "https://example.invalid/plan.schema.json", "name": "x",
    "variables": {"a": "1"}, "transactions": [{"name": "t", "steps": [
        {"name": "s", "method": "GET", "url": "/{{a}}/{{trace_id}}", "headers": {"X-Trace": "{{trace_id}}", "X-B": "{{b}}"}}]}]}"#;

#[test]
fn the_environment_defines_variables_and_schema_is_ignored() {
    // Strict with the environment's names: only {{b}} is missing.
    let err = Plan::from_json_with(ENV_PLAN, &CheckOptions::strict(["trace_id"])).unwrap_err();
    let errs = err.field_errors();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].path, "transactions[0].steps[0].headers.X-B");
    assert!(errs[0].message.contains("{{b}}"));
    // Everything defined: valid, and "$schema" does not reach the plan.
    let ok = Plan::from_json_with(ENV_PLAN, &CheckOptions::strict(["trace_id", "b"])).unwrap();
    assert!(ok.undefined.is_empty());
    assert!(!ok.plan.to_json().contains("$schema"));
    // The old entry point still rejects what only an environment defines.
    assert_eq!(errors(ENV_PLAN).len(), 3);
}

#[test]
fn lenient_checks_report_undefined_variables_instead_of_failing() {
    let v = Plan::from_json_with(ENV_PLAN, &CheckOptions::lenient(Vec::<String>::new())).unwrap();
    let uses: Vec<(&str, &str)> = v
        .undefined
        .iter()
        .map(|u| (u.name.as_str(), u.path.as_str()))
        .collect();
    assert_eq!(
        uses,
        [
            ("trace_id", "transactions[0].steps[0].url"),
            ("trace_id", "transactions[0].steps[0].headers.X-Trace"),
            ("b", "transactions[0].steps[0].headers.X-B"),
        ]
    );
    assert_eq!(UndefinedVar::names(&v.undefined), ["b", "trace_id"]);
    // A structural error is still an error, lenient or not.
    let bad = ENV_PLAN.replace("\"GET\"", "\"FETCH\"");
    assert!(Plan::from_json_with(&bad, &CheckOptions::lenient(["b"])).is_err());
}

#[test]
fn templates_extractors_and_assertions_are_checked() {
    let bad = r#"{"name": "x", "transactions": [{"name": "t", "steps": [
        {"name": "s", "method": "GET", "url": "/{{$nope}}",
         "extract": [{"var": "a", "json": "$[bad"}, {"var": "b", "regex": "(", "group": 1},
                     {"var": "c", "regex": "x(y)", "group": 2}, {"var": "d"}, {"var": "e", "json": "$.a", "header": "x"}],
         "assert": [{"status": 999}, {"json": "$.a"}, {"response_time_under_ms": 0}, {"bogus": 1}]}]}]}"#;
    let got = paths(bad);
    for want in [
        "transactions[0].steps[0].url",
        "transactions[0].steps[0].extract[0].json",
        "transactions[0].steps[0].extract[1].regex",
        "transactions[0].steps[0].extract[2].group",
        "transactions[0].steps[0].extract[3]",
        "transactions[0].steps[0].extract[4]",
        "transactions[0].steps[0].assert[0].status",
        "transactions[0].steps[0].assert[1]",
        "transactions[0].steps[0].assert[2].response_time_under_ms",
        "transactions[0].steps[0].assert[3].bogus",
    ] {
        assert!(
            got.contains(&want.to_string()),
            "{want} missing from {got:?}"
        );
    }
}

#[test]
fn think_time_data_and_settings_are_checked() {
    let bad = r#"{"name": "x", "max_rps": 0, "session": "yes", "think_time": {"between": ["3s", "1s"]},
        "data": {"csv": "a b\n1\n", "order": "shuffled"},
        "transactions": [{"name": "t", "think_time": {"constant": "soon"}, "steps": [{"name": "s", "method": "GET", "url": "/"}]}]}"#;
    let got = paths(bad);
    for want in [
        "max_rps",
        "session",
        "think_time.between",
        "data.csv",
        "data.order",
        "transactions[0].think_time.constant",
    ] {
        assert!(
            got.contains(&want.to_string()),
            "{want} missing from {got:?}"
        );
    }
    let file = r#"{"name": "x", "data": {"file": "u.csv"}, "transactions": [{"name": "t", "steps": [{"name": "s", "method": "GET", "url": "/"}]}]}"#;
    assert_eq!(paths(file), ["data.file"]);
}

#[test]
fn max_rps_has_a_sane_range() {
    let plan = |rps: &str| {
        format!(
            r#"{{"name": "x", "max_rps": {rps}, "transactions": [{{"name": "t", "steps": [{{"name": "s", "method": "GET", "url": "/"}}]}}]}}"#
        )
    };
    for ok in ["0.001", "1", "2.5", "10000000"] {
        let got = Plan::from_json(&plan(ok)).map(|p| p.max_rps);
        assert_eq!(got.ok(), Some(Some(ok.parse::<f64>().unwrap())), "{ok}");
    }
    for bad in [
        "1e-300",
        "0.0009",
        "0",
        "-1",
        "10000000.5",
        "1e300",
        "\"5\"",
    ] {
        assert_eq!(paths(&plan(bad)), ["max_rps"], "{bad}");
    }
    let err = &errors(&plan("1e-300"))[0];
    assert!(err.message.contains("0.001 to 10000000"), "{err:?}");
}

#[test]
fn multipart_bodies() {
    let ok = r#"{"name": "x", "variables": {"v": "1"}, "transactions": [{"name": "t", "steps": [{"name": "s", "method": "POST", "url": "/",
        "multipart": {"a": "{{v}}", "n": 3, "f": {"file": "a.txt", "content": "hi", "content_type": "text/plain"}}}]}]}"#;
    let plan = Plan::from_json(ok).unwrap();
    assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
    let bad = r#"{"name": "x", "transactions": [{"name": "t", "steps": [{"name": "s", "method": "POST", "url": "/",
        "multipart": {"f": {"file": "a.txt"}, "g": [1]}}]}]}"#;
    let got = paths(bad);
    for want in [
        "transactions[0].steps[0].multipart.f.content",
        "transactions[0].steps[0].multipart.g",
    ] {
        assert!(
            got.contains(&want.to_string()),
            "{want} missing from {got:?}"
        );
    }
    let two = r#"{"name": "x", "transactions": [{"name": "t", "steps": [{"name": "s", "method": "POST", "url": "/",
        "multipart": {}, "form": {}}]}]}"#;
    assert_eq!(paths(two), ["transactions[0].steps[0]"]);
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
    assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
    assert_eq!(parse_duration("15"), Some(Duration::from_secs(15)));
    assert_eq!(parse_duration("1.5"), Some(Duration::from_millis(1500)));
    assert_eq!(parse_duration("10x"), None);
    assert_eq!(parse_duration(""), None);
    assert_eq!(parse_duration("-1"), None);
    assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
}

#[test]
fn auth_fields_are_checked_at_every_level_all_at_once_and_round_trip() {
    let bad = r#"{"name": "x", "auth": {"type": "digest"}, "transactions": [
        {"name": "t", "auth": {"type": "bearer", "username": "u"}, "steps": [
            {"name": "s", "method": "GET", "url": "/", "auth": {"type": "apikey", "key": "bad key", "value": "{{nope}}", "in": "cookie"}},
            {"name": "b", "method": "GET", "url": "/", "auth": {"type": "basic", "password": "{{pw}}"}}]}]}"#;
    let got: Vec<(String, String)> = errors(bad)
        .into_iter()
        .map(|e| (e.path, e.message))
        .collect();
    let where_: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        where_,
        [
            "auth.type",
            "transactions[0].auth.username",
            "transactions[0].auth.token",
            "transactions[0].steps[0].auth.in",
            "transactions[0].steps[0].auth.key",
            "transactions[0].steps[1].auth.username",
        ],
        "{got:?}"
    );
    assert!(got[0].1.contains("inherit, none, basic, bearer, apikey"));
    let undefined = r#"{"name": "x", "auth": {"type": "basic", "username": "{{user}}", "password": "{{pw}}"},
        "transactions": [{"name": "t", "steps": [{"name": "s", "method": "GET", "url": "/"}]}]}"#;
    assert_eq!(paths(undefined), ["auth.username", "auth.password"]);
    let good = r#"{"name": "x", "variables": {"u": "ann"}, "auth": {"type": "basic", "username": "{{u}}", "password": "p"},
        "transactions": [{"name": "t", "auth": {"type": "none"}, "steps": [
            {"name": "s", "method": "GET", "url": "/", "auth": {"type": "apikey", "key": "k", "value": "v", "in": "query"}},
            {"name": "i", "method": "GET", "url": "/", "auth": {"type": "inherit"}}]}]}"#;
    let plan = Plan::from_json(good).unwrap();
    assert_eq!(plan.transactions[0].auth, Auth::None);
    assert_eq!(plan.transactions[0].steps[1].auth, Auth::Inherit);
    assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
    assert!(!plan.to_json().contains("inherit"));
}

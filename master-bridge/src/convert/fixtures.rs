//! Fixture tests: real public collections and recordings (`tests/fixtures/import/*`, each with
//! a `SOURCE.md`) import with their environment, validate with `contract`'s validator (the
//! environment's variables supplied as variables), and round-trip through the Postman export;
//! every plan in `examples/` survives plan → Postman → plan unchanged.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Format, ImportOptions, Imported, export_postman, import};

fn fixture(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/import")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The plan with the environment's variables added (as `--environment` would), validated.
fn validate(out: &Imported) -> contract::Plan {
    validate_with(out, &[])
}

/// [`validate`], with `globals` added too (as `--var` would).
fn validate_with(out: &Imported, globals: &[(&str, &str)]) -> contract::Plan {
    let mut plan = out.plan.clone();
    let vars = plan
        .as_object_mut()
        .unwrap()
        .entry("variables")
        .or_insert_with(|| json!({}));
    for (k, v) in &out.environment {
        vars.as_object_mut()
            .unwrap()
            .entry(k.clone())
            .or_insert(v.clone());
    }
    for (k, v) in globals {
        vars.as_object_mut()
            .unwrap()
            .entry(k.to_string())
            .or_insert(json!(v));
    }
    contract::Plan::from_value(&plan).unwrap_or_else(|e| panic!("{e}"))
}

fn steps(plan: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for t in plan["transactions"].as_array().unwrap() {
        for s in t["steps"].as_array().unwrap() {
            out.push((
                format!(
                    "{} / {}",
                    t["name"].as_str().unwrap(),
                    s["name"].as_str().unwrap()
                ),
                s.clone(),
            ));
        }
    }
    out
}

/// Export, import again: the same plan (same requests by folder path and name: method, URL,
/// query, headers, body, auth headers, assertions, extractors), with no new note.
fn round_trip(out: &Imported) {
    let collection = export_postman(&out.plan).unwrap();
    let text = serde_json::to_string(&collection).unwrap();
    let back = import(Format::Postman, &text, &ImportOptions::default()).unwrap();
    assert_eq!(steps(&back.plan), steps(&out.plan));
    assert_eq!(back.plan, out.plan);
    assert_eq!(back.notes, vec![], "the export of an import needs no note");
}

fn postman(collection: &str, environment: Option<&str>) -> Imported {
    let options = ImportOptions {
        environment: environment.map(fixture),
    };
    import(Format::Postman, &fixture(collection), &options).unwrap()
}

#[test]
fn conduit_v2_1_with_its_environment() {
    let out = postman(
        "conduit/Conduit.postman_collection.json",
        Some("conduit/Conduit.postman_environment.json"),
    );
    let plan = validate(&out);
    let all = steps(&out.plan);
    assert_eq!(all.len(), 32);
    assert_eq!(plan.transactions.len(), 5);
    assert!(
        all.iter()
            .any(|(_, s)| s["extract"] == json!([{"var": "token", "json": "$.user.token"}]))
    );
    let asserted = all
        .iter()
        .filter(|(_, s)| s.get("assert").is_some())
        .count();
    assert_eq!(asserted, 24, "steps with assertions");
    let login = &all.iter().find(|(n, _)| n == "Auth / Login").unwrap().1;
    assert_eq!(login["url"], "{{APIURL}}/users/login");
    assert_eq!(login["json"]["user"]["email"], "{{EMAIL}}");
    assert!(
        out.notes
            .iter()
            .all(|n| !n.what.contains("script line") || n.what.contains("test script line"))
    );
    round_trip(&out);
}

#[test]
fn conduit_v2_0_with_its_published_environments() {
    for env in [
        "Conduit.postman_environment.json",
        "Conduit.postman_integration_test_environment.json",
    ] {
        let out = postman(
            "conduit-v2.0/Conduit.postman_collection.json",
            Some(&format!("conduit-v2.0/{env}")),
        );
        // EMAIL and PASSWORD were globals given to newman on its command line.
        validate_with(&out, &[("EMAIL", "a@b.c"), ("PASSWORD", "pw")]);
        assert_eq!(steps(&out.plan).len(), 31);
        assert_eq!(
            out.environment["apiUrl"],
            "https://conduit.productionready.io/api"
        );
        round_trip(&out);
    }
}

#[test]
fn postman_sdk_examples_v2_0() {
    let out = postman("postman-sdk/collection-v2.json", None);
    validate(&out);
    let all = steps(&out.plan);
    // A folder three deep keeps its path; v2.0 object-shaped basic auth is kept as auth.
    assert!(
        all.iter().any(|(n, _)| n.matches(" / ").count() >= 3),
        "{:?}",
        all.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    assert!(all.iter().any(|(_, s)| s["auth"]
        == json!({"type": "basic", "username": "yosam", "password": "asdhjajsd"})));
    assert!(all.iter().any(|(_, s)| s.get("form").is_some()));
    assert!(out.notes.iter().any(|n| n.what.contains("description")));
    round_trip(&out);
    let out = postman("postman-sdk/nested-v2-collection.json", None);
    validate(&out);
    round_trip(&out);
}

#[test]
fn chrome_har() {
    let out = import(
        Format::Har,
        &fixture("chrome-har/chrome.har"),
        &ImportOptions::default(),
    )
    .unwrap();
    validate(&out);
    let p = &out.plan;
    assert_eq!(p["host"], "https://mitmproxy.org");
    assert_eq!(p["transactions"][0]["name"], "https://mitmproxy.org/");
    assert_eq!(p["transactions"][0]["steps"][0]["url"], "/");
    assert_eq!(
        p["transactions"][0]["steps"][1]["url"],
        "https://www.google.com/"
    );
    assert!(
        out.notes
            .iter()
            .any(|n| n.what.contains("googlelogo") && n.what.contains("static asset"))
    );
    let home = &p["transactions"][0]["steps"][0]["headers"];
    for h in home.as_object().unwrap().keys() {
        let h = h.to_ascii_lowercase();
        assert!(
            !h.starts_with(':')
                && !h.starts_with("sec-")
                && h != "accept-encoding"
                && h != "cookie",
            "{h}"
        );
    }
}

#[test]
fn every_example_plan_survives_postman_unchanged() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let plan = contract::Plan::from_file(&path, &[]).unwrap();
        let value: Value = serde_json::from_str(&plan.to_json()).unwrap();
        let collection = export_postman(&value).unwrap();
        let back = import(
            Format::Postman,
            &collection.to_string(),
            &ImportOptions::default(),
        )
        .unwrap();
        assert_eq!(back.notes, vec![], "{}", path.display());
        assert_eq!(
            contract::Plan::from_value(&back.plan).unwrap(),
            plan,
            "{}",
            path.display()
        );
        n += 1;
    }
    assert!(n >= 2);
}

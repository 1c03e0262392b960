use serde_json::{Value, json};

use super::super::{Format, ImportOptions, Imported, import};

fn run(doc: Value, env: Option<Value>) -> Imported {
    let options = ImportOptions {
        environment: env.map(|e| e.to_string()),
    };
    import(Format::Postman, &doc.to_string(), &options).unwrap()
}

fn notes(out: &Imported) -> Vec<String> {
    out.notes
        .iter()
        .map(|n| format!("{}: {}", n.item, n.what))
        .collect()
}

fn step<'a>(out: &'a Imported, txn: &str, name: &str) -> &'a Value {
    let t = out.plan["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == txn)
        .unwrap_or_else(|| panic!("no transaction {txn}: {:#}", out.plan));
    t["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

const V20: &str = "https://schema.getpostman.com/json/collection/v2.0.0/collection.json";
const V21: &str = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json";

#[test]
fn v2_0_collection_bearer_and_path_variables() {
    let out = run(
        json!({"info": {"name": "shop", "schema": V20},
        "auth": {"type": "bearer", "bearer": {"token": "{{token}}"}},
        "item": [
            {"name": "order", "request": {"method": "GET",
                "url": {"raw": "{{base}}/orders/:order_id/lines/:line", "variable": [
                    {"key": "order_id", "value": "42"}, {"key": "line", "value": "{{line_no}}"}]}}},
            {"name": "other order", "request": {"method": "GET",
                "url": {"raw": "{{base}}/orders/:order_id", "variable": [{"key": "order_id", "value": "7"}]}}},
            {"name": "public", "request": {"method": "GET", "url": "{{base}}/health", "auth": {"type": "noauth"}}}
        ]}),
        Some(
            json!({"name": "dev", "values": [{"key": "base", "value": "http://127.0.0.1:8000"},
            {"key": "token", "value": "t0k"}, {"key": "line_no", "value": "1"}]}),
        ),
    );
    let order = step(&out, "shop", "order");
    assert_eq!(
        order["url"],
        "{{base}}/orders/{{order_id}}/lines/{{line_no}}"
    );
    assert!(order.get("headers").is_none());
    assert!(order.get("auth").is_none(), "inherits the plan's");
    assert_eq!(
        out.plan["auth"],
        json!({"type": "bearer", "token": "{{token}}"})
    );
    assert_eq!(out.plan["variables"], json!({"order_id": "42"}));
    assert_eq!(
        step(&out, "shop", "other order")["url"],
        "{{base}}/orders/7"
    );
    assert_eq!(
        step(&out, "shop", "public")["auth"],
        json!({"type": "none"})
    );
    assert_eq!(out.environment["token"], "t0k");
    assert_eq!(notes(&out), Vec::<String>::new());
}

#[test]
fn v2_1_auth_inheritance_through_folders_and_basic_auth_of_variables() {
    let basic = |u: &str, p: &str| json!({"type": "basic", "basic": [{"key": "username", "value": u}, {"key": "password", "value": p}]});
    let out = run(
        json!({"info": {"name": "c", "schema": V21},
        "variable": [{"key": "user", "value": "ann"}],
        "auth": basic("{{user}}", "{{pass}}"),
        "item": [{"name": "A", "item": [
            {"name": "B", "auth": {"type": "apikey", "apikey": [{"key": "key", "value": "X-Key"}, {"key": "value", "value": "{{k}}"}]},
             "item": [{"name": "C", "auth": {"type": "inherit"}, "item": [
                {"name": "deep", "request": {"method": "POST", "url": "http://h/x",
                    "body": {"mode": "urlencoded", "urlencoded": [
                        {"key": "a", "value": "1"}, {"key": "a", "value": "2"}, {"key": "off", "value": "x", "disabled": true}]}}},
                {"name": "query key", "request": {"method": "GET", "url": "http://h/y",
                    "auth": {"type": "apikey", "apikey": [{"key": "key", "value": "api_key"}, {"key": "value", "value": "s"}, {"key": "in", "value": "query"}]}}}
             ]}]},
            {"name": "top", "request": {"method": "GET", "url": "http://h/top"}},
            {"name": "digest", "request": {"method": "GET", "url": "http://h/d", "auth": {"type": "digest", "digest": []}}}
        ]}]}),
        Some(json!({"name": "e", "values": [{"key": "pass", "value": "secret"}]})),
    );
    let deep = step(&out, "A / B / C", "deep");
    assert!(deep.get("headers").is_none() && deep.get("auth").is_none());
    assert_eq!(deep["body"], "a=1&a=2");
    assert_eq!(deep["content_type"], "application/x-www-form-urlencoded");
    // Folder B's key is the transaction's, through C which inherits; its own auth, the step's.
    let txn = |name: &str| {
        out.plan["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()
            .clone()
    };
    let key = json!({"type": "apikey", "key": "X-Key", "value": "{{k}}", "in": "header"});
    assert_eq!(txn("A / B / C")["auth"], key);
    assert_eq!(
        step(&out, "A / B / C", "query key")["auth"],
        json!({"type": "apikey", "key": "api_key", "value": "s", "in": "query"})
    );
    // Basic auth of variables stays templated at the plan's level: rendered at send time.
    assert_eq!(
        out.plan["auth"],
        json!({"type": "basic", "username": "{{user}}", "password": "{{pass}}"})
    );
    assert!(txn("A").get("auth").is_none());
    assert!(step(&out, "A", "top").get("auth").is_none());
    assert_eq!(step(&out, "A", "digest")["auth"], json!({"type": "none"}));
    let n = notes(&out);
    assert_eq!(n.len(), 2, "{n:#?}");
    assert!(n[0].starts_with("A / digest: digest auth not carried over"));
    assert!(n[1].starts_with("A / B / C / deep: disabled url-encoded field off"));
    // The plan validates with the environment, and exports back to the same auth blocks.
    let exported = crate::convert::export_postman(&out.plan).unwrap();
    assert_eq!(exported["auth"]["type"], "basic");
    assert_eq!(
        run(exported, None).plan,
        out.plan,
        "plan -> Postman -> plan keeps auth"
    );
}

#[test]
fn urls_queries_headers_and_descriptions() {
    let out = run(
        json!({"info": {"name": "c", "schema": V21, "description": "about"},
        "item": [
            {"name": "string url", "request": {"method": "get", "url": "{{h}}/s?a=1&b=x%20y&a=2&p=100%"}},
            {"name": "spaces", "request": {"method": "GET", "url": "{{ h }}/a b"}},
            {"name": "object url", "description": "does things", "request": {"method": "GET",
                "header": [{"key": "X-On", "value": "{{v}}"}, {"key": "X-Off", "value": "1", "disabled": true}],
                "url": {"raw": "{{h}}/o?q=1&q=2", "query": [{"key": "q", "value": "1"}, {"key": "r", "value": "a+b"},
                    {"key": "gone", "value": "1", "disabled": true}]}}},
            {"name": "odd", "request": {"method": "LINK", "url": "http://h/"}},
            {"name": "dyn", "request": {"method": "GET", "url": "{{Base Url}}/{{$randomFirstName}}/{{$guid}}"}}
        ]}),
        None,
    );
    let s = step(&out, "c", "string url");
    // The query is taken once; repeated keys and a stray % survive.
    assert_eq!(s["url"], "{{h}}/s?a=1&b=x%20y&a=2&p=100%25");
    assert!(s.get("query").is_none());
    assert_eq!(s["method"], "GET");
    assert_eq!(step(&out, "c", "spaces")["url"], "{{h}}/a%20b");
    let o = step(&out, "c", "object url");
    assert_eq!(o["url"], "{{h}}/o");
    assert_eq!(o["query"], json!({"q": "1", "r": "a b"}));
    assert_eq!(o["headers"], json!({"X-On": "{{v}}"}));
    let d = step(&out, "c", "dyn");
    assert_eq!(d["url"], "{{Base_Url}}/{{randomFirstName}}/{{$guid}}");
    assert_eq!(out.plan["variables"]["randomFirstName"], "randomFirstName");
    let n = notes(&out);
    for want in [
        "collection: description not carried over",
        "object url: description not carried over",
        "object url: disabled header X-Off not sent",
        "object url: disabled query parameter gone=1 not sent",
        "odd: HTTP method LINK is not supported",
        "dyn: variable {{Base Url}} renamed {{Base_Url}}",
        "dyn: dynamic variable {{$randomFirstName}}",
    ] {
        assert!(n.iter().any(|x| x.starts_with(want)), "{want}: {n:#?}");
    }
    assert_eq!(n.len(), 7, "{n:#?}");
}

#[test]
fn bodies() {
    let raw = |raw: &str, lang: Option<&str>, ct: Option<&str>| {
        let mut r =
            json!({"method": "POST", "url": "http://h/", "body": {"mode": "raw", "raw": raw}});
        if let Some(l) = lang {
            r["body"]["options"] = json!({"raw": {"language": l}});
        }
        if let Some(c) = ct {
            r["header"] = json!([{"key": "Content-Type", "value": c}]);
        }
        r
    };
    let out = run(
        json!({"info": {"name": "c", "schema": V21}, "item": [
            {"name": "json", "request": raw("{\"a\": \"{{x}}\"}", Some("json"), None)},
            {"name": "json header", "request": raw("[1]", None, Some("application/json"))},
            {"name": "templated json", "request": raw("{\"n\": {{n}}}", Some("json"), None)},
            {"name": "text", "request": raw("{\"a\": 1}", Some("text"), None)},
            {"name": "xml", "request": raw("<a/>", None, Some("text/xml"))},
            {"name": "form-data", "request": {"method": "POST", "url": "http://h/", "body": {"mode": "formdata", "formdata": [
                {"key": "name", "value": "ann", "type": "text"}, {"key": "pic", "type": "file", "src": "/tmp/p.png"}]}}},
            {"name": "graphql", "request": {"method": "POST", "url": "http://h/", "body": {"mode": "graphql",
                "graphql": {"query": "{ me { id } }", "variables": "{\"a\": 1}"}}}}
        ]}),
        None,
    );
    assert_eq!(step(&out, "c", "json")["json"], json!({"a": "{{x}}"}));
    assert_eq!(step(&out, "c", "json header")["json"], json!([1]));
    let t = step(&out, "c", "templated json");
    assert_eq!(
        (t["body"].as_str(), t["content_type"].as_str()),
        (Some("{\"n\": {{n}}}"), Some("application/json"))
    );
    let t = step(&out, "c", "text");
    assert_eq!(t["body"], "{\"a\": 1}");
    assert!(t.get("content_type").is_none());
    let x = step(&out, "c", "xml");
    assert_eq!(
        (x["content_type"].as_str(), x.get("headers")),
        (Some("text/xml"), None)
    );
    assert_eq!(
        step(&out, "c", "form-data")["multipart"],
        json!({"name": "ann"})
    );
    assert_eq!(
        step(&out, "c", "graphql")["json"],
        json!({"query": "{ me { id } }", "variables": {"a": 1}})
    );
    let n = notes(&out);
    assert_eq!(n.len(), 1, "{n:#?}");
    assert!(n[0].contains("file field pic (/tmp/p.png)"));
}

#[test]
fn scripts_at_every_level() {
    let test = |lines: &[&str]| json!([{"listen": "test", "script": {"exec": lines}}, {"listen": "prerequest", "script": {"exec": [""]}}]);
    let out = run(
        json!({"info": {"name": "c", "schema": V21},
        "event": test(&["pm.test('ok', function () { pm.response.to.have.status(200); });"]),
        "item": [{"name": "F", "event": test(&["pm.expect(pm.response.responseTime).to.be.below(900);"]), "item": [
            {"name": "login", "event": test(&["pm.environment.set(\"token\", pm.response.json().token);", "postman.setNextRequest('x');"]),
             "request": {"method": "POST", "url": "http://h/login"}},
            {"name": "me", "request": {"method": "GET", "url": "http://h/me", "header": [{"key": "Authorization", "value": "Bearer {{token}}"}]}}
        ]}]}),
        None,
    );
    contract::Plan::from_value(&out.plan).unwrap();
    let login = step(&out, "F", "login");
    assert_eq!(
        login["assert"],
        json!([{"status": 200}, {"response_time_under_ms": 900}])
    );
    assert_eq!(
        login["extract"],
        json!([{"var": "token", "json": "$.token"}])
    );
    assert_eq!(
        step(&out, "F", "me")["assert"],
        json!([{"status": 200}, {"response_time_under_ms": 900}])
    );
    let n = notes(&out);
    assert_eq!(n.len(), 3, "{n:#?}");
    assert!(n[2].contains("line 2") && n[2].contains("setNextRequest"));
}

#[test]
fn environments_and_errors() {
    let out = import(
        Format::PostmanEnvironment,
        r#"{"name": "e", "values": [{"key": "a", "value": "1"}]}"#,
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(out.plan, Value::Null);
    assert_eq!(out.environment["a"], "1");
    for bad in [
        "nope",
        "{}",
        r#"{"requests": [], "order": []}"#,
        r#"{"info": {}, "item": []}"#,
    ] {
        assert!(
            import(Format::Postman, bad, &ImportOptions::default()).is_err(),
            "{bad}"
        );
    }
}

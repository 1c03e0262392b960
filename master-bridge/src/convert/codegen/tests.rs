use std::collections::BTreeMap;

use contract::Plan;

use super::*;

const PLAN: &str = r#"{"name": "shop", "host": "http://127.0.0.1:9", "variables": {"item": "42"},
  "auth": {"type": "basic", "username": "{{user}}", "password": "it's"},
  "think_time": {"between": ["1s", "2s"]},
  "setup": [{"name": "login", "method": "POST", "url": "/login", "json": {"user": "u{{$randomInt}}"},
             "extract": [{"var": "token", "json": "$.token"}], "assert": [{"status": 200}]}],
  "transactions": [{"name": "check out", "weight": 3, "auth": {"type": "bearer", "token": "{{token}}"}, "steps": [
    {"name": "order", "method": "POST", "url": "/orders", "query": {"q": "a b"}, "json": {"item": "{{item}}"},
     "assert": [{"status": [200, 201]}, {"json": "$.id", "exists": true}]},
    {"name": "form", "method": "POST", "url": "/f", "form": {"a": "1"}, "auth": {"type": "none"}}]}]}"#;

#[test]
fn curl_fills_known_variables_and_keeps_the_rest() {
    let plan = Plan::from_json_with(PLAN, &contract::CheckOptions::lenient(["user".to_string()]))
        .unwrap()
        .plan;
    let env = BTreeMap::from([("user".to_string(), "ann".to_string())]);
    let setup = curl(&plan, None, &plan.setup[0], &env);
    assert!(
        setup.starts_with("curl -X POST 'http://127.0.0.1:9/login'"),
        "{setup}"
    );
    assert!(setup.contains(r#"-u 'ann:it'\''s'"#), "{setup}");
    assert!(
        setup.contains(r#"--data-raw '{"user":"u{{$randomInt(0,1000)}}"}'"#),
        "{setup}"
    );
    let order = curl(&plan, Some(0), &plan.transactions[0].steps[0], &env);
    assert!(
        order.contains("'http://127.0.0.1:9/orders?q=a%20b'"),
        "{order}"
    );
    assert!(
        order.contains("-H 'Authorization: Bearer {{token}}'"),
        "{order}"
    );
    assert!(order.contains(r#"--data-raw '{"item":"42"}'"#), "{order}");
    let form = curl(&plan, Some(0), &plan.transactions[0].steps[1], &env);
    assert!(
        !form.contains("Authorization") && !form.contains("-u "),
        "{form}"
    );
    assert!(form.contains("--data-urlencode 'a=1'"), "{form}");
}

#[test]
fn the_locustfile_is_python_with_every_step() {
    let plan = Plan::from_json_with(PLAN, &contract::CheckOptions::lenient(["user".to_string()]))
        .unwrap()
        .plan;
    let py = locustfile(&plan);
    assert!(py.contains("class PlanUser(HttpUser):"));
    assert!(py.contains("wait_time = between(1, 2)"));
    assert!(py.contains("@task(3)\n    def check_out(self):"));
    assert!(py.contains("auth=(render(\"{{user}}\", self.v), render(\"it's\", self.v))"));
    assert!(py.contains("\"Authorization\": \"Bearer \" + render(\"{{token}}\", self.v)"));
    assert!(py.contains("self.v[\"token\"] = json_path(r.json(), \"$.token\")"));
    assert!(py.contains("if r.status_code not in [200, 201]:"));
}

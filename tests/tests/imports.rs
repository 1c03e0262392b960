//! Imports, exports and environments, end to end: a real `master-bridge` process (with a real
//! etcd; no master or worker is needed to convert, save and check) and the offline subcommands
//! run as processes.
//!
//! - Every real fixture (`tests/fixtures/import/*`) imports through `POST /api/import` with its
//!   environment, saves with no warning against that environment, and its Postman export
//!   imports back to the same plan with no note.
//! - Send, push and run refuse a plan whose variables the chosen environment does not define,
//!   naming every missing one; with the environment they get past the check.
//! - `master-bridge import curl` reports exactly what was not carried over for the curl
//!   command lines of issue 13; `import`/`export`/`validate` exit codes and outputs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use integration_tests::*;
use serde_json::{Value, json};

/// A bridge with its own store and a real etcd; the master it names is not running.
struct Bridge {
    _etcd: Etcd,
    _proc: Proc,
    port: u16,
    http: reqwest::Client,
}

impl Bridge {
    async fn start(dir: &Path) -> Bridge {
        let etcd = Etcd::start(dir).await;
        let mut cmd = Command::new(bin("master-bridge"));
        cmd.args([
            "--etcd-addr",
            &etcd.endpoint(),
            "--master-host",
            "127.0.0.1",
        ])
        .args(["--master-port", &free_port().to_string()])
        .args(["--locust-web", &format!("http://127.0.0.1:{}", free_port())])
        .args(["--web-host", "127.0.0.1", "--web-port", "0"])
        .arg("--data-dir")
        .arg(dir.join("bridge-data"))
        .env("LOCUST_HTTP_TOKEN", FLEET_TOKEN)
        .env("NO_COLOR", "1");
        let mut proc = Proc::spawn(cmd, dir, "bridge");
        let port = proc.listening("http").await.port();
        let b = Bridge {
            _etcd: etcd,
            _proc: proc,
            port,
            http: reqwest::Client::new(),
        };
        eventually(Duration::from_secs(15), "the bridge's API", || async {
            b.http.get(b.url("/api/plans")).send().await.ok()
        })
        .await;
        b
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let v = r.json().await.unwrap_or(Value::Null);
        assert!(
            ct.starts_with("application/json"),
            "{path}: {status} answered {ct:?}"
        );
        (status, v)
    }
}

fn fixture(path: &str) -> String {
    let p = root().join("tests/fixtures/import").join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One real fixture: its format, file, environment file and globals its runner passed.
struct Case {
    format: &'static str,
    file: &'static str,
    environment: Option<&'static str>,
    globals: &'static [(&'static str, &'static str)],
}

const CASES: &[Case] = &[
    Case {
        format: "postman",
        file: "conduit/Conduit.postman_collection.json",
        environment: Some("conduit/Conduit.postman_environment.json"),
        globals: &[],
    },
    // EMAIL and PASSWORD were globals given to newman on its command line.
    Case {
        format: "postman",
        file: "conduit-v2.0/Conduit.postman_collection.json",
        environment: Some("conduit-v2.0/Conduit.postman_environment.json"),
        globals: &[("EMAIL", "a@b.c"), ("PASSWORD", "pw")],
    },
    Case {
        format: "postman",
        file: "conduit-v2.0/Conduit.postman_collection.json",
        environment: Some("conduit-v2.0/Conduit.postman_integration_test_environment.json"),
        globals: &[("EMAIL", "a@b.c"), ("PASSWORD", "pw")],
    },
    Case {
        format: "postman",
        file: "postman-sdk/collection-v2.json",
        environment: None,
        globals: &[],
    },
    Case {
        format: "postman",
        file: "postman-sdk/nested-v2-collection.json",
        environment: None,
        globals: &[],
    },
    Case {
        format: "har",
        file: "chrome-har/chrome.har",
        environment: None,
        globals: &[],
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_fixtures_import_save_check_and_round_trip_through_the_api() {
    let dir = test_dir("imports_api");
    let bridge = Bridge::start(&dir).await;
    for (n, case) in CASES.iter().enumerate() {
        let what = format!("{} {:?}", case.file, case.environment);
        let mut body = json!({"format": case.format, "content": fixture(case.file)});
        if let Some(env) = case.environment {
            body["environment"] = json!(fixture(env));
        }
        let (status, imported) = bridge.call("POST", "/api/import", Some(&body)).await;
        assert_eq!(status, 200, "{what}: {imported}");
        assert!(imported["notes"].is_array(), "{what}");
        let plan = imported["plan"].clone();
        let first_txn = plan["transactions"][0]["name"].clone();

        // The environment that came with it, plus the globals its runner passed.
        let env_name = format!("fixture-{n}");
        let mut variables = imported["environment"]["variables"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            case.environment.is_some(),
            !imported["environment"].is_null(),
            "{what}"
        );
        for (k, v) in case.globals {
            variables.insert(k.to_string(), json!(v));
        }
        let (status, _) = bridge
            .call(
                "PUT",
                &format!("/api/environments/{env_name}"),
                Some(&json!({ "variables": variables })),
            )
            .await;
        assert_eq!(status, 200, "{what}");

        // Saved against its environment: no error, no warning.
        let (status, saved) = bridge
            .call(
                "POST",
                &format!("/api/plans?environment={env_name}"),
                Some(&plan),
            )
            .await;
        assert_eq!(status, 201, "{what}: {saved}");
        assert_eq!(saved["warnings"], json!([]), "{what}");
        let id = saved["id"].as_str().expect("an id").to_string();

        // Saved without it: still saved, the environment's variables listed as warnings.
        if case.environment.is_some() {
            let (status, again) = bridge
                .call("PUT", &format!("/api/plans/{id}"), Some(&plan))
                .await;
            assert_eq!(status, 200, "{what}: {again}");
            let warned: Vec<&str> = again["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["variable"].as_str().unwrap())
                .collect();
            assert!(!warned.is_empty(), "{what}");
            assert!(
                warned.iter().all(|v| variables.contains_key(*v)),
                "{what}: {warned:?}"
            );
        }

        // Send, push and run check against the chosen environment.
        let try_body = json!({"plan": id, "transaction": first_txn});
        let push_path = format!("/api/plans/{id}/push");
        let run_body = json!({"plan": id, "users": 1, "spawn_rate": 1});
        if case.environment.is_some() {
            let (status, err) = bridge.call("POST", "/api/try", Some(&try_body)).await;
            assert_eq!(status, 422, "{what}: {err}");
            let missing = err["missing"].as_array().expect("missing names");
            assert!(!missing.is_empty());
            assert!(
                err["error"]
                    .as_str()
                    .unwrap()
                    .contains("undefined variables")
            );
            for m in missing {
                assert!(variables.contains_key(m.as_str().unwrap()), "{what}: {m}");
                assert!(
                    err["errors"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|e| e["message"].as_str().unwrap().contains(m.as_str().unwrap())),
                    "{what}: every missing name has its uses"
                );
            }
            // Push and run need the whole plan: what Send missed (for the one transaction it
            // sends) is part of what they miss.
            let (status, pushed) = bridge.call("POST", &push_path, Some(&json!({}))).await;
            assert_eq!(status, 422, "{what}");
            let all = pushed["missing"].as_array().expect("missing names");
            assert!(missing.iter().all(|m| all.contains(m)), "{what}");
            let (status, run) = bridge.call("POST", "/api/runs", Some(&run_body)).await;
            assert_eq!(
                (status, &run["missing"]),
                (422, &pushed["missing"]),
                "{what}"
            );
        }
        // With the environment the check passes; there is no worker to send with.
        let mut try_env = try_body.clone();
        try_env["environment"] = json!(env_name);
        let (status, err) = bridge.call("POST", "/api/try", Some(&try_env)).await;
        assert_eq!(status, 409, "{what}: {err}");
        let (status, pushed) = bridge
            .call("POST", &push_path, Some(&json!({"environment": env_name})))
            .await;
        assert_eq!((status, &pushed["results"]), (200, &json!([])), "{what}");

        // Export → import: the same plan, nothing to note.
        let (status, collection) = bridge
            .call(
                "GET",
                &format!("/api/plans/{id}/export?format=postman"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{what}");
        assert!(
            collection["info"]["schema"]
                .as_str()
                .unwrap()
                .contains("v2.1.0"),
            "{what}"
        );
        let (status, back) = bridge
            .call(
                "POST",
                "/api/import",
                Some(&json!({"format": "postman", "content": collection.to_string()})),
            )
            .await;
        assert_eq!(status, 200, "{what}");
        assert_eq!(back["plan"], plan, "{what}: round trip");
        assert_eq!(
            back["notes"],
            json!([]),
            "{what}: the export of an import needs no note"
        );
        let (status, same) = bridge
            .call("GET", &format!("/api/plans/{id}/export?format=plan"), None)
            .await;
        assert_eq!((status, &same), (200, &plan), "{what}");

        // The environment exports as a Postman environment that imports back the same.
        let (status, env_doc) = bridge
            .call(
                "GET",
                &format!("/api/environments/{env_name}/export?format=postman"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{what}");
        let (status, env_back) = bridge
            .call(
                "POST",
                "/api/import",
                Some(&json!({"format": "postman-environment", "content": env_doc.to_string()})),
            )
            .await;
        assert_eq!(status, 200, "{what}");
        assert_eq!(env_back["plan"], Value::Null);
        assert_eq!(env_back["environment"]["name"], json!(env_name));
        assert_eq!(
            env_back["environment"]["variables"],
            json!(variables),
            "{what}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_json_422_and_nothing_is_stored() {
    let dir = test_dir("imports_bad");
    let bridge = Bridge::start(&dir).await;
    for body in [
        json!({"format": "postman", "content": "{"}),
        json!({"format": "postman", "content": "{\"info\": {}}"}),
        json!({"format": "har", "content": "[]"}),
        json!({"format": "curl", "content": "echo hi"}),
        json!({"format": "postman", "content": "{\"item\": []}", "environment": "nope"}),
        json!({"format": "openapi", "content": "{}"}),
        json!({"format": "curl"}),
    ] {
        let (status, err) = bridge.call("POST", "/api/import", Some(&body)).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert!(err["error"].is_string(), "{body}: {err}");
    }
    let (status, plans) = bridge.call("GET", "/api/plans", None).await;
    assert_eq!((status, plans), (200, json!([])));
    let (status, _) = bridge
        .call("GET", "/api/plans/nope/export?format=postman", None)
        .await;
    assert_eq!(status, 404);
    // A plan whose variables nothing defines is saved, with the warnings Postman would show.
    let plan = json!({"$schema": "../proto/plan.schema.json", "name": "w", "host": "http://127.0.0.1:1",
        "transactions": [{"name": "t", "steps": [{"name": "s", "method": "GET",
        "url": "/{{trace_id}}", "headers": {"X-Token": "{{token}}"}}]}]});
    let (status, saved) = bridge.call("POST", "/api/plans", Some(&plan)).await;
    assert_eq!(status, 201, "{saved}");
    let warned: Vec<(&str, &str)> = saved["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["variable"].as_str().unwrap(), w["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        warned,
        [
            ("trace_id", "transactions[0].steps[0].url"),
            ("token", "transactions[0].steps[0].headers.X-Token")
        ]
    );
    // ...and Send refuses it naming both at once; an unknown environment is a 404.
    let try_body = json!({"plan_json": plan, "transaction": "t"});
    let (status, err) = bridge.call("POST", "/api/try", Some(&try_body)).await;
    assert_eq!(
        (status, &err["missing"]),
        (422, &json!(["token", "trace_id"]))
    );
    let mut with_values = try_body.clone();
    with_values["variables"] = json!({"token": "t"});
    let (status, err) = bridge.call("POST", "/api/try", Some(&with_values)).await;
    assert_eq!((status, &err["missing"]), (422, &json!(["trace_id"])));
    with_values["environment"] = json!("nope");
    let (status, _) = bridge.call("POST", "/api/try", Some(&with_values)).await;
    assert_eq!(status, 404);
}

/// Runs `master-bridge ARGS` (no etcd or master flags) with `stdin`; exit code, stdout, stderr.
fn cli(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    let mut cmd = Command::new(bin("master-bridge"));
    cmd.args(args)
        .env_remove("LOCUST_HTTP_ETCD")
        .env_remove("LOCUST_HTTP_MASTER_HOST")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("master-bridge runs");
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .expect("stdin");
    }
    let out = child.wait_with_output().expect("master-bridge ends");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn notes(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("note: ")).collect()
}

#[test]
fn cli_imports_the_curl_commands_of_the_issue_and_says_what_it_left() {
    // (command line, what the step must be, the notes exactly)
    let cases: [(&str, Value, &[&str]); 8] = [
        (
            "curl -o /dev/null https://shop.test/items",
            json!({"method": "GET", "url": "https://shop.test/items"}),
            &[],
        ),
        (
            "curl -F name=alice https://shop.test/upload",
            json!({"method": "POST", "url": "https://shop.test/upload", "multipart": {"name": "alice"}}),
            &[],
        ),
        (
            "curl -F avatar=@me.png -F name=alice https://shop.test/upload",
            json!({"method": "POST", "url": "https://shop.test/upload", "multipart": {"name": "alice"}}),
            &[
                "note: curl: -F avatar=@me.png: file part not carried over (the file's content is not in the command)",
            ],
        ),
        (
            r#"curl 'https://shop.test/api' -H $'x-note: it\'s' --data-raw $'{"a":"b\\nc"}'"#,
            json!({"method": "POST", "url": "https://shop.test/api", "headers": {"x-note": "it's"},
                   "body": "{\"a\":\"b\\nc\"}", "content_type": "application/x-www-form-urlencoded"}),
            &[],
        ),
        (
            "curl --compressed https://shop.test/",
            json!({"method": "GET", "url": "https://shop.test/"}),
            &[
                "note: curl: --compressed not carried over: workers do not decompress responses, so no Accept-Encoding is sent",
            ],
        ),
        (
            "curl -w '%{http_code}' --max-time 5 https://shop.test/",
            json!({"method": "GET", "url": "https://shop.test/"}),
            &[],
        ),
        (
            "curl -G -d q=shoes -u bob:pw -b 'sid=1' -A 'UA/1' -e https://ref.test/ https://shop.test/search",
            json!({"method": "GET", "url": "https://shop.test/search", "query": {"q": "shoes"},
                   "headers": {"Cookie": "sid=1", "User-Agent": "UA/1", "Referer": "https://ref.test/"},
                   "auth": {"type": "basic", "username": "bob", "password": "pw"}}),
            &[],
        ),
        (
            "curl -I --url https://shop.test/head",
            json!({"method": "HEAD", "url": "https://shop.test/head"}),
            &[],
        ),
    ];
    let dir = test_dir("imports_curl");
    for (i, (line, want, want_notes)) in cases.iter().enumerate() {
        let file = dir.join(format!("c{i}.sh"));
        std::fs::write(&file, format!("{line}\n")).unwrap();
        let (code, out, err) = cli(&["import", "curl", file.to_str().unwrap()], None);
        assert_eq!(code, 0, "{line}: {err}");
        assert_eq!(notes(&err), *want_notes, "{line}");
        let plan: Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{line}: {e}: {out}"));
        let step = &plan["transactions"][0]["steps"][0];
        for (k, v) in want.as_object().unwrap() {
            assert_eq!(&step[k], v, "{line}: {k}");
        }
        for k in ["json", "form", "multipart", "body", "headers", "query"] {
            if want.get(k).is_none() {
                assert!(step.get(k).is_none(), "{line}: unexpected {k}: {step}");
            }
        }
        if line.contains("--max-time 5") {
            assert_eq!(plan["timeout"], "5000ms", "--max-time becomes the timeout");
        }
    }
    // From stdin too; a command line that is not curl is bad input (exit 2, nothing on stdout).
    let (code, out, _) = cli(&["import", "curl", "-"], Some("curl https://shop.test/\n"));
    assert_eq!(code, 0);
    assert!(out.contains("https://shop.test/"));
    let (code, out, err) = cli(&["import", "curl", "-"], Some("wget https://shop.test/\n"));
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.starts_with("error: "), "{err}");
}

#[test]
fn cli_import_export_and_validate_need_no_fleet() {
    let dir = test_dir("imports_cli");
    let fx = |p: &str| -> PathBuf { root().join("tests/fixtures/import").join(p) };
    let collection = fx("conduit/Conduit.postman_collection.json");
    let env = fx("conduit/Conduit.postman_environment.json");
    let (code, out, err) = cli(
        &[
            "import",
            "postman",
            collection.to_str().unwrap(),
            "--environment",
            env.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        !notes(&err).is_empty(),
        "the untranslated script lines are listed"
    );
    assert!(
        !err.contains("warning:"),
        "the environment defines every variable: {err}"
    );
    let plan: Value = serde_json::from_str(&out).expect("the plan on stdout");
    assert_eq!(plan["name"], "Conduit");
    let plan_file = dir.join("conduit.json");
    std::fs::write(&plan_file, &out).unwrap();
    let plan_path = plan_file.to_str().unwrap();

    // Without the environment the import still succeeds and says what to define.
    let (code, _, err) = cli(&["import", "postman", collection.to_str().unwrap()], None);
    assert_eq!(code, 0);
    assert!(err.contains("warning: define APIURL"), "{err}");

    // validate: 0 with the Postman environment, 1 without (every use with its path), JSON too.
    let (code, out, err) = cli(
        &[
            "validate",
            plan_path,
            "--environment",
            env.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        (code, out.trim()),
        (0, format!("{plan_path}: ok (Conduit)").as_str()),
        "{err}"
    );
    let (code, out, _) = cli(&["validate", plan_path], None);
    assert_eq!(code, 1);
    assert!(
        out.lines()
            .all(|l| l.starts_with(&format!("{plan_path}: transactions["))),
        "{out}"
    );
    assert!(out.contains("undefined variable {{APIURL}}"), "{out}");
    let vars: Vec<String> = ["APIURL", "USERNAME", "EMAIL", "PASSWORD"]
        .iter()
        .map(|k| format!("{k}=x"))
        .collect();
    let mut args = vec!["validate", plan_path, "--json"];
    for v in &vars {
        args.extend(["--var", v.as_str()]);
    }
    let (code, out, _) = cli(&args, None);
    let report: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!((code, &report["valid"]), (0, &json!(true)), "{out}");
    let (code, out, _) = cli(&["validate", plan_path, "--json"], None);
    let report: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(code, 1);
    assert_eq!(report["valid"], false);
    assert!(report["files"][0]["errors"][0]["path"].is_string());
    let (code, _, err) = cli(
        &["validate", plan_path, "--environment", "/nonexistent.json"],
        None,
    );
    assert_eq!(code, 2, "{err}");

    // export prints the collection; it imports back to the same plan.
    let (code, out, err) = cli(&["export", "--format", "postman", plan_path], None);
    assert_eq!(code, 0, "{err}");
    let exported = dir.join("conduit.postman_collection.json");
    std::fs::write(&exported, &out).unwrap();
    let (code, back, _) = cli(&["import", "postman", exported.to_str().unwrap()], None);
    assert_eq!(code, 0);
    // The export writes the canonical plan (defaults spelled out): compare as plans.
    let as_plan = |v: &Value| {
        contract::Plan::from_value_with(v, &contract::CheckOptions::lenient(Vec::<String>::new()))
            .expect("a valid plan")
            .plan
    };
    let back: Value = serde_json::from_str(&back).unwrap();
    assert!(
        as_plan(&back) == as_plan(&plan),
        "export → import is the same plan"
    );

    // A Postman environment imports as ours; bad input exits 2.
    let (code, out, _) = cli(
        &["import", "postman-environment", env.to_str().unwrap()],
        None,
    );
    assert_eq!(code, 0);
    let ours: Value = serde_json::from_str(&out).unwrap();
    assert!(ours["variables"]["APIURL"].is_string(), "{ours}");
    let (code, _, _) = cli(&["import", "postman", "/nonexistent.json"], None);
    assert_eq!(code, 2);
    let (code, _, _) = cli(&["import", "yaml", collection.to_str().unwrap()], None);
    assert_eq!(code, 2);
    let (code, _, _) = cli(&["export", env.to_str().unwrap()], None);
    assert_eq!(code, 2);
}

/// The acceptance case of issue 13: a login whose test script sets `token` in the environment and
/// an order using `{{token}}`, the base URL only in the Postman environment, run as a load test
/// against the demo shop, which refuses an order without a token it issued: zero failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_collection_runs_with_its_environment_and_zero_failures() {
    let dir = test_dir("imports_run");
    let etcd = Etcd::start(&dir).await;
    // The demo shop (`master-bridge demo-target`) refuses an order without a token it issued.
    let (_shop, shop_url) = demo_shop(&dir).await;
    let master = Master::start(&dir, "master", MasterOpts::web()).await;
    let bridge = BridgeProc::start(&dir, "bridge", &etcd, &master, &[]).await;
    let _w1 = FleetWorker::start(&dir, "w1", &etcd.endpoint(), &[]).await;
    eventually(Duration::from_secs(10), "a worker", || async {
        (bridge.workers().await.len() == 1).then_some(())
    })
    .await;
    master.wait_web().await;

    let collection = json!({
        "info": {"name": "shop", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
        "item": [{"name": "checkout", "item": [
            {"name": "login", "request": {"method": "POST", "url": "{{base}}/login",
              "header": [{"key": "Content-Type", "value": "application/json"}],
              "body": {"mode": "raw", "raw": "{\"user\": \"pat\"}"}},
             "event": [{"listen": "test", "script": {"exec": [
                "pm.test(\"logged in\", function () { pm.response.to.have.status(200); });",
                "pm.environment.set(\"token\", pm.response.json().token);"]}}]},
            {"name": "order", "request": {"method": "POST", "url": "{{base}}/orders",
              "header": [{"key": "Authorization", "value": "Bearer {{token}}"}],
              "body": {"mode": "raw", "raw": "{\"item\": 1}"}},
             "event": [{"listen": "test", "script": {"exec": ["pm.expect(pm.response.code).to.eql(201);"]}}]}]}]
    });
    let environment = json!({"name": "shop-env", "values": [{"key": "base", "value": shop_url, "enabled": true}]});
    let (status, imported) = bridge
        .post(
            "/api/import",
            &json!({"format": "postman", "content": collection.to_string(), "environment": environment.to_string()}),
        )
        .await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(
        imported["notes"],
        json!([]),
        "every script line is translated"
    );
    assert_eq!(imported["warnings"], json!([]));
    let r = reqwest::Client::new()
        .put(bridge.url("/api/environments/shop-env"))
        .json(&json!({"variables": imported["environment"]["variables"]}))
        .send()
        .await
        .expect("PUT");
    assert_eq!(r.status().as_u16(), 200);
    let (status, saved) = bridge
        .post("/api/plans?environment=shop-env", &imported["plan"])
        .await;
    assert_eq!((status, &saved["warnings"]), (201, &json!([])), "{saved}");

    let run = json!({"plan": saved["id"], "users": 2, "spawn_rate": 2, "run_time": "4s"});
    let (status, err) = bridge.post("/api/runs", &run).await;
    assert_eq!((status, &err["missing"]), (422, &json!(["base"])));
    let mut run = run;
    run["environment"] = json!("shop-env");
    let (status, started) = bridge.post("/api/runs", &run).await;
    assert_eq!(status, 201, "{started}");
    let done = bridge
        .wait_run(started["id"].as_str().unwrap(), Duration::from_secs(60))
        .await;
    assert_eq!(done["state"], "finished", "{done}");
    let total = run_row(&done, "Aggregated");
    assert!(total["num_requests"].as_u64().unwrap() >= 2, "{total}");
    assert_eq!(total["num_failures"], 0, "{done}");
    // Every order carried a token the shop issued: the shop answers 401 otherwise, and the
    // translated script asserts 201.
    let orders = run_row(&done, "order");
    assert!(orders["num_requests"].as_u64().unwrap() >= 1, "{done}");
    assert_eq!(orders["num_failures"], 0, "{done}");
}

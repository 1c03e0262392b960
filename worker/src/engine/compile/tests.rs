use super::*;
use crate::engine::compiled::CompiledBody;
use crate::engine::compiled::JsonTpl;

fn plan(json: &str) -> Plan {
    Plan::from_json(json).unwrap()
}

fn fixed(step: &CompiledStep) -> String {
    match &step.url {
        UrlSource::Fixed(u) => u.to_string(),
        other => panic!("not fixed: {other:?}"),
    }
}

fn row(method: &str, name: &str) -> StatRow {
    StatRow {
        method: method.into(),
        name: name.into(),
    }
}

#[test]
fn master_host_overrides_plan_host_and_urls_join_like_locust() {
    let p = plan(
        r#"{"name": "p", "host": "http://plan:1/api", "transactions": [{"name": "t", "steps": [
            {"name": "a", "method": "GET", "url": "/x", "query": {"q": "1 2"}},
            {"name": "b", "method": "get", "url": "y"},
            {"name": "c", "method": "GET", "url": "http://abs:2/z"}]}]}"#,
    );
    let c = compile(&p, None).unwrap();
    let urls: Vec<String> = c.transactions[0].steps.iter().map(fixed).collect();
    assert_eq!(
        urls,
        [
            "http://plan:1/api/x?q=1+2",
            "http://plan:1/api/y",
            "http://abs:2/z"
        ]
    );
    let c = compile(&p, Some("http://master:3")).unwrap();
    assert_eq!(
        fixed(&c.transactions[0].steps[0]),
        "http://master:3/x?q=1+2"
    );
    let err = compile(&p, Some("not a url")).unwrap_err();
    assert!(matches!(&err, CompileError::Invalid(e) if e[0].path == "host (from the master's -H)"));
}

#[test]
fn relative_url_without_any_host_fails_at_request_time() {
    let p = plan(
        r#"{"name": "p", "transactions": [{"name": "t", "steps": [{"name": "a", "method": "GET", "url": "/x"}]}]}"#,
    );
    let c = compile(&p, None).unwrap();
    assert!(matches!(c.transactions[0].steps[0].url, UrlSource::NoHost));
}

#[test]
fn static_parts_are_prebuilt_and_templates_kept() {
    let p = plan(
        r#"{"name": "p", "host": "http://h", "variables": {"v": "1"}, "transactions": [{"name": "t", "steps": [
            {"name": "j", "method": "POST", "url": "/", "json": {"a": 1}},
            {"name": "k", "method": "POST", "url": "/{{v}}", "json": {"a": "{{v}}", "b": [1]}, "headers": {"X": "{{v}}", "Y": "y"}},
            {"name": "f", "method": "POST", "url": "/", "form": {"a": "b c"}},
            {"name": "r", "method": "POST", "url": "/", "body": "<x/>", "content_type": "application/xml"}]}]}"#,
    );
    let c = compile(&p, None).unwrap();
    let s = &c.transactions[0].steps;
    assert_eq!(s[0].headers[CONTENT_TYPE], "application/json");
    assert!(matches!(&s[0].body, CompiledBody::Fixed(b) if b.as_ref() == b"{\"a\":1}"));
    assert!(matches!(&s[1].body, CompiledBody::Json(JsonTpl::Object(_))));
    assert!(matches!(&s[1].url, UrlSource::Template { .. }));
    assert_eq!(s[1].header_templates.len(), 1);
    assert_eq!(s[1].headers["Y"], "y");
    assert!(matches!(&s[2].body, CompiledBody::Form(_)));
    assert_eq!(s[3].headers[CONTENT_TYPE], "application/xml");
}

#[test]
fn only_steps_that_read_the_body_keep_it() {
    let p = plan(
        r#"{"name": "p", "host": "http://h", "transactions": [{"name": "t", "steps": [
            {"name": "a", "method": "GET", "url": "/", "assert": [{"status": 200}, {"header": "x", "equals": "y"}],
             "extract": [{"var": "s", "status": true}]},
            {"name": "b", "method": "GET", "url": "/", "assert": [{"body_contains": "x"}]},
            {"name": "c", "method": "GET", "url": "/", "extract": [{"var": "v", "json": "$.a"}]}]}]}"#,
    );
    let c = compile(&p, None).unwrap();
    let keeps: Vec<bool> = c.transactions[0]
        .steps
        .iter()
        .map(|s| s.needs_body)
        .collect();
    assert_eq!(keeps, [false, true, true]);
}

#[test]
fn picks_follow_weights() {
    let p = plan(
        r#"{"name": "p", "host": "http://h", "transactions": [
            {"name": "a", "weight": 3, "steps": [{"name": "a", "method": "GET", "url": "/"}]},
            {"name": "b", "weight": 1, "steps": [{"name": "b", "method": "GET", "url": "/"}]}]}"#,
    );
    let c = compile(&p, None).unwrap();
    let mut rng = rand::rng();
    let a = (0..4000).filter(|_| c.pick(&mut rng).name == "a").count();
    assert!((2700..3300).contains(&a), "{a}");
}

#[test]
fn data_rows_are_wired_to_their_variables() {
    let p = plan(
        r#"{"name": "p", "host": "http://h", "data": {"csv": "u,p\na,1\nb,2\n"}, "transactions": [
            {"name": "a", "steps": [{"name": "a", "method": "GET", "url": "/{{u}}"}]}]}"#,
    );
    let c = compile(&p, None).unwrap();
    let feed = c.data.as_ref().unwrap();
    let mut rng = rand::rng();
    let got: Vec<String> = (0..3)
        .map(|_| {
            let mut vars = c.vars.vars();
            feed.next_into(&mut vars, &mut rng);
            vars.get(feed.columns[0]).unwrap().to_string()
        })
        .collect();
    assert_eq!(got, ["a", "b", "a"]);
}

#[test]
fn stat_rows_are_a_table_of_distinct_method_and_name_pairs() {
    let p = plan(
        r#"{"name": "p", "host": "http://h", "report_transactions": true,
            "setup": [{"name": "login", "method": "POST", "url": "/"}],
            "transactions": [
            {"name": "t", "steps": [{"name": "home", "method": "GET", "url": "/"},
                                    {"name": "home", "method": "GET", "url": "/again"},
                                    {"name": "home", "method": "POST", "url": "/"}]},
            {"name": "u", "steps": [{"name": "login", "method": "POST", "url": "/"}]}]}"#,
    );
    let c = compile(&p, None).unwrap();
    assert_eq!(
        c.stat_rows,
        [
            row("POST", "login"),
            row("GET", "home"),
            row("POST", "home"),
            row("TXN", "t")
        ]
    );
    let ids = |t: usize| -> Vec<u32> { c.transactions[t].steps.iter().map(|s| s.stat.0).collect() };
    assert_eq!(ids(0), [1, 1, 2]);
    assert_eq!(ids(1), [0]);
    assert_eq!(c.setup[0].stat, RowId(0));
    assert_eq!(c.transactions[0].stat, Some(RowId(3)));
    // a one-step transaction is its step: no TXN row
    assert_eq!(c.transactions[1].stat, None);
    assert_eq!(c.stat_row(RowId(2)), Some(&row("POST", "home")));
}

#[test]
fn a_plan_compiled_after_another_keeps_its_row_ids() {
    let first = compile(
        &plan(
            r#"{"name": "p", "host": "http://h", "transactions": [{"name": "t", "steps": [
                {"name": "a", "method": "GET", "url": "/"}, {"name": "b", "method": "GET", "url": "/"}]}]}"#,
        ),
        None,
    )
    .unwrap();
    let second = compile_with(
        &plan(
            r#"{"name": "q", "host": "http://h", "transactions": [{"name": "t", "steps": [
                {"name": "c", "method": "GET", "url": "/"}, {"name": "b", "method": "GET", "url": "/"}]}]}"#,
        ),
        None,
        None,
        &first.stat_rows,
    )
    .unwrap();
    assert_eq!(second.stat_rows[..2], first.stat_rows[..]);
    assert_eq!(second.stat_rows[2], row("GET", "c"));
    let ids: Vec<u32> = second.transactions[0]
        .steps
        .iter()
        .map(|s| s.stat.0)
        .collect();
    assert_eq!(ids, [2, 1]);
}

#[test]
fn targets_outside_the_allow_list_are_refused_as_such() {
    let p = plan(
        r#"{"name": "p", "host": "http://bad:1", "transactions": [{"name": "t", "steps": [
            {"name": "a", "method": "GET", "url": "/"},
            {"name": "b", "method": "GET", "url": "http://good/x"}]}]}"#,
    );
    let allow = Some(Arc::new(AllowList::parse(&["good"]).unwrap()));
    let err = compile_with(&p, None, allow.clone(), &[]).unwrap_err();
    let CompileError::NotAllowed(errors) = &err else {
        panic!("{err:?}")
    };
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["host", "transaction \"t\", step \"a\""]);
    assert_eq!(
        errors[0].message,
        "target bad is not allowed (allowed: good)"
    );
    assert_eq!(err.field_errors().len(), 2);

    // The master's -H can make the same plan allowed; an invalid -H is invalid, not refused.
    let c = compile_with(&p, Some("http://good:8"), allow.clone(), &[]).unwrap();
    assert!(c.allow.is_some());
    let err = compile_with(&p, Some("nope"), allow, &[]).unwrap_err();
    assert!(matches!(err, CompileError::Invalid(_)), "{err:?}");
}

#[test]
fn without_an_allow_list_the_default_policy_refuses_link_local_targets() {
    let p = plan(
        r#"{"name": "p", "host": "http://169.254.169.254", "transactions": [{"name": "t", "steps": [
            {"name": "a", "method": "GET", "url": "/latest/meta-data"}]}]}"#,
    );
    let err = compile(&p, None).unwrap_err();
    let CompileError::NotAllowed(errors) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(errors[0].path, "host");
    assert!(
        errors[0].message.contains("link-local"),
        "{}",
        errors[0].message
    );
}

#[test]
fn steps_without_templates_are_laid_out_once_and_the_same_as_per_request() {
    let json = r#"{"name": "p", "host": "http://h:8/api", "variables": {"v": "1"},
        "transactions": [{"name": "t", "steps": [
            {"name": "a", "method": "POST", "url": "/a", "query": {"q": "1 2"},
             "headers": {"X-A": "b"}, "body": "<x/>", "content_type": "application/xml"},
            {"name": "b", "method": "GET", "url": "/b/{{v}}"},
            {"name": "c", "method": "GET", "url": "/c", "headers": {"X-T": "{{v}}"}},
            {"name": "d", "method": "GET", "url": "/d", "query": {"q": "{{v}}"}}]}]}"#;
    let c = compile(&plan(json), None).unwrap();
    let steps = &c.transactions[0].steps;
    let wire = steps[0].wire.as_ref().expect("a fixed step is laid out");
    let mut once = Vec::new();
    wire.write_into(&[], &mut once).unwrap();
    let text = String::from_utf8(once.clone()).unwrap();
    assert!(
        text.starts_with("POST /api/a?q=1+2 HTTP/1.1\r\nHost: h:8\r\n"),
        "{text}"
    );
    assert!(text.contains("x-a: b\r\n") && text.contains("content-type: application/xml\r\n"));
    assert!(text.ends_with("Content-Length: 4\r\n\r\n<x/>"), "{text}");
    // The same bytes the per-request path lays out.
    let UrlSource::Fixed(url) = &steps[0].url else {
        panic!("not fixed")
    };
    let CompiledBody::Fixed(body) = &steps[0].body else {
        panic!("not a fixed body")
    };
    let mut per_request = Vec::new();
    crate::engine::request::lay_out("POST", url, &steps[0].headers, Some(body))
        .write_into(&[], &mut per_request)
        .unwrap();
    assert_eq!(once, per_request);
    // Anything templated is rendered per request.
    assert!(steps[1..].iter().all(|s| s.wire.is_none()));
    // HTTP/2 plans use reqwest, never these bytes.
    let h2 = json.replacen(r#""name": "p","#, r#""name": "p", "http": "2","#, 1);
    let c = compile(&plan(&h2), None).unwrap();
    assert!(c.transactions[0].steps[0].wire.is_none());
}

#[test]
fn auth_is_inherited_step_then_transaction_then_plan_and_rendered_at_send_time() {
    let p = plan(
        r#"{"name": "p", "host": "http://h", "variables": {"u": "ann", "t": "tok"},
            "auth": {"type": "basic", "username": "{{u}}", "password": "secret"},
            "setup": [{"name": "s", "method": "GET", "url": "/s"}],
            "transactions": [
              {"name": "a", "steps": [
                {"name": "plan", "method": "GET", "url": "/1"},
                {"name": "none", "method": "GET", "url": "/2", "auth": {"type": "none"}},
                {"name": "own", "method": "GET", "url": "/3", "headers": {"Authorization": "Mine"}},
                {"name": "fixed", "method": "GET", "url": "/4", "auth": {"type": "basic", "username": "ann", "password": "secret"}}]},
              {"name": "b", "auth": {"type": "bearer", "token": "{{t}}"}, "steps": [
                {"name": "txn", "method": "GET", "url": "/5"},
                {"name": "key", "method": "GET", "url": "/6", "auth": {"type": "apikey", "key": "api_key", "value": "{{t}}", "in": "query"}},
                {"name": "hkey", "method": "GET", "url": "/7", "auth": {"type": "apikey", "key": "X-Key", "value": "k"}}]}]}"#,
    );
    let c = compile(&p, None).unwrap();
    let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(1);
    let vars = c.vars.vars();
    let auth_of = |s: &CompiledStep| -> Option<String> {
        let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(1);
        s.headers
            .get(reqwest::header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap().to_string())
            .or_else(|| {
                s.header_templates
                    .iter()
                    .find(|(n, _)| *n == reqwest::header::AUTHORIZATION)
                    .map(|(_, t)| t.render(&vars, &mut rng).unwrap())
            })
    };
    let basic = Some("Basic YW5uOnNlY3JldA==".to_string());
    assert_eq!(auth_of(&c.setup[0]), basic);
    let a = &c.transactions[0].steps;
    assert_eq!(auth_of(&a[0]), basic);
    assert!(matches!(a[0].header_templates[0].1, HeaderTpl::Basic(_)));
    assert_eq!(auth_of(&a[1]), None);
    assert_eq!(auth_of(&a[2]), Some("Mine".into()));
    assert_eq!(
        a[3].headers[reqwest::header::AUTHORIZATION],
        "Basic YW5uOnNlY3JldA=="
    );
    assert!(
        a[3].wire.is_some(),
        "a fixed auth keeps the precomputed request"
    );
    let b = &c.transactions[1].steps;
    assert_eq!(auth_of(&b[0]), Some("Bearer tok".into()));
    assert_eq!(auth_of(&b[1]), None);
    assert_eq!(b[1].query[0].0, "api_key");
    assert_eq!(b[1].query[0].1.render(&vars, &mut rng).unwrap(), "tok");
    assert_eq!(b[2].headers["X-Key"], "k");
}

use super::*;

fn tr(script: &str) -> (Translated, Vec<String>) {
    let mut notes = Notes::default();
    let lines: Vec<String> = script.lines().map(str::to_string).collect();
    let t = translate(&lines, "r", &mut notes);
    (t, notes.0.into_iter().map(|n| n.what).collect())
}

#[test]
fn the_common_pm_forms_become_assertions_and_extractors() {
    let (t, notes) = tr(r#"
pm.test("Status code is 201", function () {
    pm.response.to.have.status(201);
});
pm.test("code", () => { pm.expect(pm.response.code).to.eql(201); });
pm.expect(pm.response.code).to.be.oneOf([200, 201]);
pm.response.to.have.header("Content-Type");
pm.response.to.have.header('X-Id', 'abc');
pm.expect(pm.response).to.have.status(201);
var jsonData = pm.response.json();
pm.expect(jsonData.user.name).to.eql("ann");
pm.expect(jsonData.items[0]["the id"]).to.exist;
pm.expect(jsonData.gone).to.not.exist;
pm.expect(jsonData).to.have.property('count', 3);
pm.expect(pm.response.responseTime).to.be.below(500);
pm.expect(pm.response.text()).to.include("ok");
pm.environment.set("token", jsonData.token);
pm.collectionVariables.set("id", pm.response.json().data.id);
pm.globals.set("loc", pm.response.headers.get("Location"));
console.log("done");
"#);
    assert_eq!(notes, Vec::<String>::new());
    assert_eq!(
        t.asserts,
        vec![
            json!({"status": 201}),
            json!({"status": [200, 201]}),
            json!({"header": "Content-Type", "contains": ""}),
            json!({"header": "X-Id", "equals": "abc"}),
            json!({"json": "$.user.name", "equals": "ann"}),
            json!({"json": "$.items[0]['the id']", "exists": true}),
            json!({"json": "$.gone", "exists": false}),
            json!({"json": "$.count", "equals": 3}),
            json!({"response_time_under_ms": 500}),
            json!({"body_contains": "ok"}),
        ]
    );
    assert_eq!(
        t.extracts,
        vec![
            json!({"var": "token", "json": "$.token"}),
            json!({"var": "id", "json": "$.data.id"}),
            json!({"var": "loc", "header": "Location"}),
        ]
    );
}

#[test]
fn the_old_tests_syntax_is_translated() {
    let (t, notes) = tr(r#"var responseJSON = JSON.parse(responseBody);
var is200Response = responseCode.code === 200;
tests['Response code is 200 OK'] = is200Response;
if(is200Response){
  var user = responseJSON.user || {};
  tests['User has "token" property'] = user.hasOwnProperty('token');
  if(tests['User has "token" property']){
    pm.globals.set('token', user.token);
  }
  tests['fast'] = responseTime < 200;
  tests['body'] = responseBody.has("token");
  tests['Array'] = Array.isArray(user.tags);
}
if(responseJSON.articles.length){
  tests['x'] = responseJSON.articles[0].hasOwnProperty('title');
} else {
  tests['y'] = responseJSON.articlesCount === 0;
}
"#);
    assert_eq!(
        t.asserts,
        vec![
            json!({"status": 200}),
            json!({"json": "$.user.token", "exists": true}),
            json!({"response_time_under_ms": 200}),
            json!({"body_contains": "token"}),
        ]
    );
    assert_eq!(
        t.extracts,
        vec![json!({"var": "token", "json": "$.user.token"})]
    );
    assert_eq!(notes.len(), 5, "{notes:#?}");
    assert!(
        notes[0].starts_with("test script line 12: not translated: tests['Array']"),
        "{notes:#?}"
    );
    assert!(notes[1].contains("line 14") && notes[1].contains("condition"));
    assert!(notes[2].contains("line 15") && notes[2].contains("branch"));
    assert!(notes[3].contains("line 16") && notes[3].contains("else"));
    assert!(notes[4].contains("line 17"));
}

#[test]
fn anything_else_is_noted_with_its_line_and_empty_scripts_are_not_noise() {
    let (t, notes) = tr("pm.response.to.be.ok;\npm.expect(jsonData.a).to.eql(1);\n\n// c\n");
    assert!(t.is_empty());
    assert_eq!(notes.len(), 2);
    assert!(notes[0].contains("line 1") && notes[0].contains("pm.response.to.be.ok"));
    let (t, notes) = tr("\n\n");
    assert!(t.is_empty() && notes.is_empty());
    let mut n = Notes::default();
    note_untranslated(&["".into(), "  ".into()], "prerequest", "r", &mut n);
    assert!(n.0.is_empty());
}

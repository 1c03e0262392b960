use serde_json::json;

use super::*;

fn one(cmd: &str) -> (Value, Vec<String>) {
    let out = import(cmd).unwrap();
    contract::Plan::from_value(&out.plan).unwrap();
    let step = out.plan["transactions"][0]["steps"][0].clone();
    (step, out.notes.into_iter().map(|n| n.what).collect())
}

#[test]
fn options_that_take_values_are_never_the_url() {
    let (s, notes) = one(
        "curl -s -o /dev/null -w '%{http_code}' --max-time 5 -m 5 -x http://proxy:3128 \
         --connect-timeout 2 https://api.example.com/v1/items?a=1",
    );
    assert_eq!(s["url"], "https://api.example.com/v1/items");
    assert_eq!(s["query"], json!({"a": "1"}));
    assert_eq!(s["method"], "GET");
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("--proxy") || n.contains("-x"))
    );
    assert!(notes.iter().any(|n| n.contains("connect-timeout")));
    let out = import("curl -m 5 http://h/").unwrap();
    assert_eq!(out.plan["timeout"], "5000ms");
}

#[test]
fn form_parts_files_and_combined_short_options() {
    let (s, notes) = one("curl -sSL -XPUT -F name=alice -F 'avatar=@me.png' http://h/u");
    assert_eq!(s["method"], "PUT");
    assert_eq!(s["url"], "http://h/u");
    assert_eq!(s["multipart"], json!({"name": "alice"}));
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("avatar"));
}

#[test]
fn chrome_copy_as_curl() {
    let (s, notes) = one(r#"curl 'https://shop.example/api/cart' \
  -H 'accept: application/json' \
  -H 'content-type: application/json' \
  -b 'sid=abc; theme=dark' \
  -A 'Mozilla/5.0' -e 'https://shop.example/' \
  --data-raw $'{"item":"it\'s","qty":2}' \
  --compressed -k"#);
    assert_eq!(s["method"], "POST");
    assert_eq!(s["json"], json!({"item": "it's", "qty": 2}));
    assert_eq!(
        s["headers"],
        json!({"accept": "application/json", "Cookie": "sid=abc; theme=dark",
            "User-Agent": "Mozilla/5.0", "Referer": "https://shop.example/"})
    );
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("--compressed") && notes[1].contains("insecure"));
}

#[test]
fn data_get_head_user_and_url_flag() {
    let (s, _) = one("curl -G -d q=a+b --data-urlencode 'name=x y&z' --url http://h/search");
    assert_eq!(s["query"], json!({"q": "a b", "name": "x y&z"}));
    assert_eq!(s["method"], "GET");
    let (s, _) = one("curl -I http://h/");
    assert_eq!(s["method"], "HEAD");
    let (s, _) = one("curl -u ann:secret -d 'a=1&b=2' http://h/login");
    assert_eq!(
        s["auth"],
        json!({"type": "basic", "username": "ann", "password": "secret"})
    );
    assert_eq!(s["form"], json!({"a": "1", "b": "2"}));
    let (s, _) = one("curl -H 'Content-Type: text/xml' -d '<a/>' http://h/x");
    assert_eq!(s["body"], "<a/>");
    assert_eq!(s["content_type"], "text/xml");
    let (s, notes) = one("curl -d @body.json http://h/x");
    assert!(s.get("body").is_none() && notes[0].contains("@body.json"));
}

#[test]
fn several_commands_and_errors() {
    let out = import("curl http://h/a\ncurl http://h/b").unwrap();
    assert_eq!(
        out.plan["transactions"][0]["steps"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(import("wget http://h/").is_err());
    assert!(import("curl -s").is_err());
    assert!(import("curl 'http://h/").is_err());
    assert!(import("curl -H").is_err());
}

use serde_json::json;

use super::*;

#[test]
fn pages_become_transactions_and_assets_are_left_out() {
    let har = json!({"log": {"version": "1.2", "creator": {"name": "WebInspector"},
    "pages": [{"id": "page_1", "title": "http://shop/"}, {"id": "page_2", "title": "Checkout"}],
    "entries": [
        {"pageref": "page_1", "_resourceType": "document",
         "request": {"method": "GET", "url": "http://shop/?ref=a",
            "headers": [{"name": ":authority", "value": "shop"}, {"name": "Accept", "value": "text/html"},
                        {"name": "Cookie", "value": "sid=1; x=2"}, {"name": "sec-fetch-mode", "value": "navigate"},
                        {"name": "Accept-Encoding", "value": "gzip"}]},
         "response": {"status": 200, "content": {"mimeType": "text/html"}}},
        {"pageref": "page_1", "_resourceType": "stylesheet",
         "request": {"method": "GET", "url": "http://shop/a.css", "headers": []},
         "response": {"status": 200, "content": {"mimeType": "text/css"}}},
        {"pageref": "page_1", "request": {"method": "GET", "url": "http://shop/logo.png", "headers": []},
         "response": {"status": 200, "content": {"mimeType": "image/png"}}},
        {"pageref": "page_2", "_resourceType": "fetch",
         "request": {"method": "POST", "url": "http://shop/api/orders",
            "headers": [{"name": "Content-Type", "value": "application/json"}, {"name": "Content-Length", "value": "9"}],
            "postData": {"mimeType": "application/json", "text": "{\"item\":1}"}},
         "response": {"status": 201, "content": {"mimeType": "application/json"}}},
        {"pageref": "page_2", "_resourceType": "xhr",
         "request": {"method": "POST", "url": "https://cdn.other/track",
            "headers": [], "postData": {"mimeType": "application/x-www-form-urlencoded", "text": "a=1&b=x+y"}},
         "response": {"status": 204, "content": {"mimeType": ""}}},
        {"request": {"method": "GET", "url": "data:image/png;base64,AAAA", "headers": []}, "response": {}}
    ]}});
    let out = import(&har).unwrap();
    contract::Plan::from_value(&out.plan).unwrap();
    let p = &out.plan;
    assert_eq!(p["host"], "http://shop");
    assert_eq!(p["session"], true);
    assert_eq!(p["transactions"][0]["name"], "http://shop/");
    let home = &p["transactions"][0]["steps"][0];
    assert_eq!(home["url"], "/");
    assert_eq!(home["query"], json!({"ref": "a"}));
    assert_eq!(home["headers"], json!({"Accept": "text/html"}));
    assert_eq!(p["transactions"][0]["steps"].as_array().unwrap().len(), 1);
    let order = &p["transactions"][1]["steps"][0];
    assert_eq!(p["transactions"][1]["name"], "Checkout");
    assert_eq!(order["json"], json!({"item": 1}));
    assert!(order.get("headers").is_none());
    let track = &p["transactions"][1]["steps"][1];
    assert_eq!(track["url"], "https://cdn.other/track");
    assert_eq!(track["form"], json!({"a": "1", "b": "x y"}));
    let notes: Vec<String> = out.notes.iter().map(|n| n.what.clone()).collect();
    assert_eq!(notes.len(), 5, "{notes:#?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("a.css") && n.contains("stylesheet"))
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("logo.png") && n.contains("image"))
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("data:") && n.contains("not an HTTP"))
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("cookies not replayed (sid, x)"))
    );
    assert!(notes.iter().any(|n| n.contains(":authority")
        && n.contains("sec-fetch-mode")
        && n.contains("content-length")));
}

#[test]
fn not_a_har() {
    assert!(import(&json!({"x": 1})).is_err());
    assert!(import(&json!({"log": {"entries": []}})).is_err());
}

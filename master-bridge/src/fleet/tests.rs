//! The fleet without etcd: listings, watch events, selections and status views.

use super::*;

fn record(id: &str, port: u16, labels: &[(&str, &str)]) -> WorkerRecord {
    WorkerRecord {
        id: id.into(),
        address: format!("127.0.0.1:{port}"),
        version: "0".into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        cpus: 1,
        started_at: 0.0,
        tls: false,
    }
}

fn drain(rx: &mut broadcast::Receiver<FleetEvent>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(match e {
            FleetEvent::Joined(r) => format!("+{}", r.id),
            FleetEvent::Left(k) => format!("-{k}"),
        });
    }
    out
}

#[test]
fn a_listing_skips_what_is_not_a_worker() {
    let good = contract::etcd::encode_record("/w/a", &record("a", 1, &[]), None).into_bytes();
    let kvs: Vec<(&[u8], &[u8])> = vec![
        (b"/w/a", &good),
        (b"/w/junk", b"not json"),
        (b"/w/other", b"{\"id\": 1}"),
    ];
    let listed = listing(kvs, None);
    assert_eq!(listed.keys().collect::<Vec<_>>(), ["/w/a"]);
}

#[test]
fn joins_and_leaves_are_announced_once() {
    let fleet = Fleet::new(WorkerAuth::default());
    let mut rx = fleet.subscribe();
    let a = contract::etcd::encode_record("/w/a", &record("a", 1, &[]), None).into_bytes();
    apply(&fleet, Change::Put, b"/w/a", &a);
    apply(&fleet, Change::Put, b"/w/a", &a); // a keep-alive rewrite: no news
    assert_eq!(drain(&mut rx), ["+a"]);
    // Same key, a new process: announced again.
    let a2 = contract::etcd::encode_record("/w/a", &record("a2", 1, &[]), None).into_bytes();
    apply(&fleet, Change::Put, b"/w/a", &a2);
    assert_eq!(drain(&mut rx), ["+a2"]);
    apply(&fleet, Change::Put, b"/w/bad", b"{");
    assert_eq!(fleet.workers().len(), 1);
    apply(&fleet, Change::Delete, b"/w/a", b"");
    apply(&fleet, Change::Delete, b"/w/a", b"");
    assert_eq!(drain(&mut rx), ["-/w/a"]);
    assert!(fleet.workers().is_empty());
}

#[test]
fn a_new_listing_replaces_the_fleet() {
    let fleet = Fleet::new(WorkerAuth::default());
    fleet.upsert("/w/a".into(), record("a", 1, &[]), Trust::Unchecked);
    fleet.upsert("/w/b".into(), record("b", 2, &[]), Trust::Unchecked);
    let mut rx = fleet.subscribe();
    fleet.replace(BTreeMap::from([
        ("/w/b".to_string(), (record("b", 2, &[]), Trust::Unchecked)),
        ("/w/c".to_string(), (record("c", 3, &[]), Trust::Unchecked)),
    ]));
    assert_eq!(drain(&mut rx), ["-/w/a", "+c"]);
    let keys: Vec<String> = fleet.workers().into_iter().map(|w| w.key).collect();
    assert_eq!(keys, ["/w/b", "/w/c"]);
}

#[test]
fn selections_by_label_id_address_or_key() {
    let fleet = Fleet::new(WorkerAuth::default());
    fleet.upsert(
        "/w/a".into(),
        record("a", 1, &[("team", "x")]),
        Trust::Unchecked,
    );
    fleet.upsert(
        "/w/b".into(),
        record("b", 2, &[("team", "y")]),
        Trust::Unchecked,
    );
    let ids = |sel: Selection| -> Vec<String> {
        fleet
            .select(&sel)
            .into_iter()
            .map(|w| w.record.id)
            .collect()
    };
    assert_eq!(ids(Selection::default()), ["a", "b"]);
    assert_eq!(
        ids(Selection::pool(BTreeMap::from([(
            "team".into(),
            "y".into()
        )]))),
        ["b"]
    );
    for name in ["a", "127.0.0.1:1", "/w/a"] {
        let sel = Selection {
            workers: vec![name.into()],
            labels: BTreeMap::new(),
        };
        assert_eq!(ids(sel), ["a"], "{name}");
    }
    let none = Selection {
        workers: vec!["a".into()],
        labels: BTreeMap::from([("team".into(), "y".into())]),
    };
    assert!(ids(none).is_empty(), "names and labels must both match");
}

#[test]
fn status_answers_and_failures_show_in_the_view() {
    let fleet = Fleet::new(WorkerAuth::default());
    fleet.upsert("/w/a".into(), record("a", 1, &[]), Trust::Unchecked);
    assert_eq!(fleet.workers()[0].state, "unknown");
    let status = pb::WorkerStatus {
        state: pb::WorkerState::Running as i32,
        plan_name: "shop".into(),
        users: 7,
        ..Default::default()
    };
    fleet.set_status("/w/a", Ok(status));
    let w = &fleet.workers()[0];
    assert_eq!(
        (w.state.as_str(), w.plan.as_str(), w.users),
        ("running", "shop", 7)
    );
    assert!(w.unreachable.is_none());
    fleet.set_status("/w/a", Err(StatusError::Refused("refused".into())));
    let w = &fleet.workers()[0];
    assert_eq!(w.state, "unreachable");
    assert_eq!(w.unreachable.as_deref(), Some("refused"));
    assert_eq!(w.users, 7, "the last numbers stay");
    fleet.set_status("/w/gone", Err(StatusError::Timeout));
    assert_eq!(fleet.workers().len(), 1);
}

#[test]
fn untrusted_records_are_listed_but_never_selected() {
    let key = Arc::new(FleetKey::from_secret(b"a-fleet-token-of-32-characters!!").unwrap());
    let fleet = Fleet::new(WorkerAuth {
        key: Some(key.clone()),
        tls: None,
    });
    let signed = contract::etcd::encode_record("/w/a", &record("a", 1, &[]), Some(&key));
    let forged = contract::etcd::encode_record("/w/b", &record("b", 2, &[]), None);
    let other = FleetKey::from_secret(b"not-the-fleet-token-0123456789").unwrap();
    let wrong = contract::etcd::encode_record("/w/c", &record("c", 3, &[]), Some(&other));
    // A genuine record copied under another key does not verify either.
    let moved = signed.clone();
    for (k, v) in [
        ("/w/a", &signed),
        ("/w/b", &forged),
        ("/w/c", &wrong),
        ("/w/d", &moved),
    ] {
        apply(&fleet, Change::Put, k.as_bytes(), v.as_bytes());
    }
    let trust: BTreeMap<String, Trust> = fleet
        .workers()
        .into_iter()
        .map(|w| (w.key, w.trust))
        .collect();
    assert_eq!(trust["/w/a"], Trust::Verified);
    assert_eq!(trust["/w/b"], Trust::Untrusted);
    assert_eq!(trust["/w/c"], Trust::Untrusted);
    assert_eq!(trust["/w/d"], Trust::Untrusted);
    let callable: Vec<String> = fleet
        .select(&Selection::default())
        .into_iter()
        .map(|w| w.key)
        .collect();
    assert_eq!(callable, ["/w/a"]);
    let untrusted = fleet
        .workers()
        .into_iter()
        .find(|w| w.key == "/w/b")
        .unwrap();
    assert_eq!(untrusted.state, "untrusted");
}

#[test]
fn calls_are_signed_for_their_worker_and_payloads_sealed() {
    let key = Arc::new(FleetKey::from_secret(b"a-fleet-token-of-32-characters!!").unwrap());
    let fleet = Fleet::new(WorkerAuth {
        key: Some(key.clone()),
        tls: None,
    });
    let r = record("w1", 1, &[]);
    let req = fleet.sealed_request(
        &r,
        "Apply",
        pb::ApplyRequest {
            plan_json: "{\"headers\": {\"x-api-key\": \"k3y\"}}".into(),
            ..Default::default()
        },
    );
    assert!(
        req.get_ref().plan_json.is_empty(),
        "the plan travels sealed"
    );
    let verifier = contract::auth::CallVerifier::new(key.clone(), "w1");
    assert_eq!(auth_grpc::verify(&verifier, "Apply", &req), Ok(()));
    let other = contract::auth::CallVerifier::new(key, "w2");
    assert!(auth_grpc::verify(&other, "Apply", &req).is_err());
    let opened: pb::ApplyRequest =
        auth_grpc::open_msg(fleet.auth.key.as_deref(), "w1", "Apply", req.into_inner()).unwrap();
    assert!(opened.plan_json.contains("k3y"));
}

#[test]
fn an_oversized_record_is_ignored_before_parsing() {
    let fleet = Fleet::new(WorkerAuth::default());
    // Valid JSON, padded past the cap with whitespace: refused for its size alone.
    let mut big =
        contract::etcd::encode_record("/w/big", &record("big", 1, &[]), None).into_bytes();
    big.resize(contract::etcd::MAX_RECORD_BYTES + 1, b' ');
    assert!(
        contract::etcd::decode_record("/w/big", &big, None)
            .unwrap_err()
            .to_string()
            .contains("limit")
    );
    apply(&fleet, Change::Put, b"/w/big", &big);
    assert!(fleet.workers().is_empty());
    let kvs: Vec<(&[u8], &[u8])> = vec![(b"/w/big", &big)];
    assert!(listing(kvs, None).is_empty());
    // At the cap exactly, it is still a record.
    big.truncate(contract::etcd::MAX_RECORD_BYTES);
    apply(&fleet, Change::Put, b"/w/big", &big);
    assert_eq!(fleet.workers().len(), 1);
}

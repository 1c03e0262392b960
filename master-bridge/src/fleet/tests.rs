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
    let listed = listing(kvs);
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
    fleet.upsert("/w/a".into(), record("a", 1, &[]));
    fleet.upsert("/w/b".into(), record("b", 2, &[]));
    let mut rx = fleet.subscribe();
    fleet.replace(BTreeMap::from([
        ("/w/b".to_string(), record("b", 2, &[])),
        ("/w/c".to_string(), record("c", 3, &[])),
    ]));
    assert_eq!(drain(&mut rx), ["-/w/a", "+c"]);
    let keys: Vec<String> = fleet.workers().into_iter().map(|w| w.key).collect();
    assert_eq!(keys, ["/w/b", "/w/c"]);
}

#[test]
fn selections_by_label_id_address_or_key() {
    let fleet = Fleet::new(WorkerAuth::default());
    fleet.upsert("/w/a".into(), record("a", 1, &[("team", "x")]));
    fleet.upsert("/w/b".into(), record("b", 2, &[("team", "y")]));
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
    fleet.upsert("/w/a".into(), record("a", 1, &[]));
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
    assert!(listing(kvs).is_empty());
    // At the cap exactly, it is still a record.
    big.truncate(contract::etcd::MAX_RECORD_BYTES);
    apply(&fleet, Change::Put, b"/w/big", &big);
    assert_eq!(fleet.workers().len(), 1);
}

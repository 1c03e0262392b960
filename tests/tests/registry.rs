//! A worker's etcd key against other writers (real etcd, real worker): a hijacked or deleted key
//! is put back under the worker's lease; a key someone else already holds is never overwritten.

use std::time::Duration;

use integration_tests::*;

const PREFIX: &str = "/locust-http/workers/";

async fn etcd_client(etcd: &Etcd) -> etcd_client::Client {
    etcd_client::Client::connect([etcd.endpoint()], None)
        .await
        .expect("etcd client")
}

/// The value and lease of `key`, if present.
async fn value_and_lease(etcd: &Etcd, key: &str) -> Option<(String, i64)> {
    let mut c = etcd_client(etcd).await;
    let r = c.get(key, None).await.ok()?;
    let kv = r.kvs().first()?;
    Some((String::from_utf8_lossy(kv.value()).into_owned(), kv.lease()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hijacked_or_deleted_key_is_restored() {
    let dir = test_dir("registry_restore");
    let etcd = Etcd::start(&dir).await;
    let w = FleetWorker::start(&dir, "w", &etcd.endpoint(), &[]).await;
    let key = w.key().await;
    let (original, lease) = eventually(Duration::from_secs(15), "the worker's key", || async {
        value_and_lease(&etcd, &key).await
    })
    .await;
    assert_ne!(lease, 0, "the key lives under a lease");

    // An attacker overwrites the key with a record of its own, with no lease.
    let fake = original.replace("127.0.0.1", "10.66.66.66");
    assert_ne!(fake, original);
    etcd_client(&etcd)
        .await
        .put(key.as_str(), fake.as_str(), None)
        .await
        .unwrap();
    let restored = eventually(Duration::from_secs(10), "the key restored", || async {
        let (v, l) = value_and_lease(&etcd, &key).await?;
        (v == original && l == lease).then_some(v)
    })
    .await;
    assert_eq!(restored, original);

    // Deleted: put back too.
    etcd_client(&etcd)
        .await
        .delete(key.as_str(), None)
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "the key re-created", || async {
        let (v, l) = value_and_lease(&etcd, &key).await?;
        (v == original && l == lease).then_some(())
    })
    .await;
    assert!(w.proc.log_text().contains("restoring it"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_held_by_another_is_never_overwritten() {
    let dir = test_dir("registry_clash");
    let etcd = Etcd::start(&dir).await;
    // Someone already holds the key of the id the worker is told to take.
    let key = format!("{PREFIX}forced-id");
    let theirs = r#"{"record":{"id":"other","address":"127.0.0.1:1","version":"0","cpus":1,"started_at":0.0}}"#;
    etcd_client(&etcd)
        .await
        .put(key.as_str(), theirs, None)
        .await
        .unwrap();

    let mut cmd = std::process::Command::new(bin("worker"));
    cmd.args(["--etcd-addr", &etcd.endpoint(), "--id", "forced-id"])
        .args(["--port", "0"])
        .env("LOCUST_HTTP_TOKEN", FLEET_TOKEN)
        .env("NO_COLOR", "1");
    let w = Proc::spawn(cmd, &dir, "w");
    eventually(Duration::from_secs(15), "the clash logged", || async {
        w.log_text()
            .contains("another worker holds this key")
            .then_some(())
    })
    .await;
    let (v, lease) = value_and_lease(&etcd, &key)
        .await
        .expect("the key is still there");
    assert_eq!(v, theirs, "the other holder's record is untouched");
    assert_eq!(lease, 0);
}

/// One command line, started three times (as `--scale worker=3` or three hosts would): three
/// workers, three keys, each record with the address found from the route to etcd.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_command_line_started_three_times_gives_three_workers() {
    let dir = test_dir("registry_three");
    let etcd = Etcd::start(&dir).await;
    let start = |name: &str| {
        let mut cmd = std::process::Command::new(bin("worker"));
        cmd.args(["--etcd-addr", &etcd.endpoint(), "--port", "0"])
            .env("LOCUST_HTTP_TOKEN", FLEET_TOKEN)
            .env("NO_COLOR", "1");
        Proc::spawn(cmd, &dir, name)
    };
    let _workers = [start("a"), start("b"), start("c")];
    let keys = eventually(Duration::from_secs(15), "three keys", || async {
        etcd.keys(PREFIX).await.filter(|k| k.len() == 3)
    })
    .await;
    let mut addresses = std::collections::BTreeSet::new();
    for (key, value) in &keys {
        let (record, _) = contract::etcd::decode_record(key, value.as_bytes(), None).unwrap();
        assert!(key.ends_with(&record.id), "{key} is the record's id");
        assert!(
            record.address.starts_with("127.0.0.1:"),
            "{}",
            record.address
        );
        addresses.insert(record.address);
    }
    assert_eq!(addresses.len(), 3, "three distinct workers");
}

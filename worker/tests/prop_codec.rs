//! Property tests for the Locust codec: what we encode decodes to the same node id and type, and
//! decoding never panics, whatever bytes or msgpack values the master sends.

use proptest::prelude::*;
use rmpv::Value;
use worker::locust::codec::{Inbound, Outbound, decode, encode};

fn outbound() -> impl Strategy<Value = Outbound> {
    prop_oneof![
        Just(Outbound::ClientReady),
        Just(Outbound::Spawning),
        Just(Outbound::ClientStopped),
        Just(Outbound::Quit),
        (any::<String>(), any::<String>())
            .prop_map(|(msg, traceback)| Outbound::Exception { msg, traceback }),
    ]
}

fn msgpack() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec((inner.clone(), inner), 0..4).prop_map(Value::Map),
        ]
    })
}

fn kind() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            "ack",
            "heartbeat",
            "spawn",
            "spawning_complete",
            "stop",
            "quit",
            "reconnect",
            "update_user_class",
        ])
        .prop_map(Value::from),
        msgpack(),
    ]
}

/// Maps shaped like a `spawn`'s data, with arbitrary values.
fn spawn_data() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            prop::sample::select(vec![
                "timestamp",
                "user_classes_count",
                "host",
                "stop_timeout",
                "parsed_options",
                "index",
            ]),
            msgpack(),
        ),
        0..5,
    )
    .prop_map(|kv| Value::Map(kv.into_iter().map(|(k, v)| (Value::from(k), v)).collect()))
}

fn to_bytes(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, v).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_keeps_node_and_type(msg in outbound(), node in "[ -~]{0,40}") {
        let frame = encode(&msg, &node).unwrap();
        let env = decode(&frame).unwrap();
        prop_assert_eq!(&env.node_id, &node);
        match env.message {
            Inbound::Quit => prop_assert_eq!(msg.kind(), "quit"),
            Inbound::Other { kind } => prop_assert_eq!(kind, msg.kind()),
            other => prop_assert!(false, "{} decoded as {other:?}", msg.kind()),
        }
    }

    #[test]
    fn decode_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn decode_never_panics_on_envelopes(k in kind(), data in prop_oneof![msgpack(), spawn_data()], node in msgpack()) {
        let _ = decode(&to_bytes(&Value::Array(vec![k, data, node])));
    }
}

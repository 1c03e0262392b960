//! Pure codec for the Locust master/worker protocol (Locust 2.47): bytes <-> typed messages.
//!
//! Every message is one ZeroMQ frame holding a msgpack array `[type: str, data, node_id: str]`.
//! Outbound payloads are built from typed structs serialised with `rmp_serde::to_vec_named`, so
//! dict-shaped data is always a msgpack *map*, strings are msgpack *str* (never bin), floats are
//! float64 and histogram keys are integers: the shapes that keep a real master from going deaf
//! (see `docs/locust-protocol.md` §1.4, §1.5). Inbound frames are decoded leniently (any integer width,
//! any float width) but strictly in structure; a frame that is not a 3-element array with string
//! type and node id is a [`CodecError`], never a panic.

use std::collections::BTreeMap;

use serde::Serialize;

mod stats;

pub use stats::{StatsEntry, StatsError, StatsPayload, stats_payload};

/// The version we announce in `client_ready`: the exact master version, so the master logs nothing.
pub const LOCUST_VERSION: &str = "2.47.0";

/// Worker states the master accepts in heartbeats. Anything else (e.g. "stopped") can wedge a
/// running master (`docs/locust-protocol.md` §2.3), so the type system allows only these three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatState {
    Ready,
    Spawning,
    Running,
}

impl HeartbeatState {
    pub fn as_str(self) -> &'static str {
        match self {
            HeartbeatState::Ready => "ready",
            HeartbeatState::Spawning => "spawning",
            HeartbeatState::Running => "running",
        }
    }
}

/// Per-class user counts, as `user_classes_count` on the wire.
pub type ClassCounts = BTreeMap<String, u32>;

/// Messages the worker sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    ClientReady,
    Heartbeat {
        state: HeartbeatState,
        cpu_percent: f64,
        memory_bytes: u64,
    },
    Spawning,
    SpawningComplete {
        user_classes_count: ClassCounts,
    },
    Stats(Box<StatsPayload>),
    ClientStopped,
    Quit,
    Exception {
        msg: String,
        traceback: String,
    },
}

impl Outbound {
    pub fn kind(&self) -> &'static str {
        match self {
            Outbound::ClientReady => "client_ready",
            Outbound::Heartbeat { .. } => "heartbeat",
            Outbound::Spawning => "spawning",
            Outbound::SpawningComplete { .. } => "spawning_complete",
            Outbound::Stats(_) => "stats",
            Outbound::ClientStopped => "client_stopped",
            Outbound::Quit => "quit",
            Outbound::Exception { .. } => "exception",
        }
    }
}

#[derive(Serialize)]
struct HeartbeatData<'a> {
    state: &'a str,
    current_cpu_usage: f64,
    current_memory_usage: u64,
}

#[derive(Serialize)]
struct SpawningCompleteData<'a> {
    user_classes_count: &'a ClassCounts,
    user_count: u32,
}

#[derive(Serialize)]
struct ExceptionData<'a> {
    msg: &'a str,
    traceback: &'a str,
}

/// Errors of the codec. Encoding errors mean a bug in our types; decoding errors mean the peer
/// sent something we do not understand (logged and skipped by the session).
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("cannot encode {kind}: {source}")]
    Encode {
        kind: &'static str,
        source: rmp_serde::encode::Error,
    },
    #[error("frame is not msgpack: {0}")]
    Msgpack(String),
    #[error("frame has {0} trailing bytes after the message")]
    TrailingBytes(usize),
    #[error("message is not a [type, data, node_id] array")]
    Envelope,
    #[error("{kind}: {problem}")]
    Data { kind: String, problem: String },
}

/// Encodes one outbound message for `node_id` into a single frame.
pub fn encode(msg: &Outbound, node_id: &str) -> Result<Vec<u8>, CodecError> {
    let kind = msg.kind();
    let map_err = |source| CodecError::Encode { kind, source };
    match msg {
        Outbound::ClientReady => rmp_serde::to_vec_named(&(kind, LOCUST_VERSION, node_id)),
        Outbound::Spawning | Outbound::ClientStopped | Outbound::Quit => {
            rmp_serde::to_vec_named(&(kind, (), node_id))
        }
        Outbound::Heartbeat {
            state,
            cpu_percent,
            memory_bytes,
        } => {
            let cpu = if cpu_percent.is_finite() {
                *cpu_percent
            } else {
                0.0
            };
            let data = HeartbeatData {
                state: state.as_str(),
                current_cpu_usage: cpu,
                current_memory_usage: *memory_bytes,
            };
            rmp_serde::to_vec_named(&(kind, data, node_id))
        }
        Outbound::SpawningComplete { user_classes_count } => {
            let data = SpawningCompleteData {
                user_classes_count,
                user_count: user_classes_count.values().sum(),
            };
            rmp_serde::to_vec_named(&(kind, data, node_id))
        }
        Outbound::Stats(payload) => rmp_serde::to_vec_named(&(kind, payload, node_id)),
        Outbound::Exception { msg, traceback } => {
            rmp_serde::to_vec_named(&(kind, ExceptionData { msg, traceback }, node_id))
        }
    }
    .map_err(map_err)
}

/// The parts of a `spawn` the worker uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Spawn {
    /// Master `time.time()`; strictly increasing within a master's life. Used to drop stale spawns.
    pub timestamp: f64,
    /// Absolute target per class for this worker (every master class, zeros included).
    pub user_classes_count: ClassCounts,
    /// The master's `-H/--host` or the web form's host; `None` when not given.
    pub host: Option<String>,
    /// Seconds users may take to finish their current transaction on stop.
    pub stop_timeout: f64,
    /// The master's `--reset-stats` (`parsed_options.reset_stats`).
    pub reset_stats: bool,
}

/// Messages the worker receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Ack {
        index: Option<i64>,
    },
    Heartbeat,
    Spawn(Spawn),
    SpawningComplete,
    Stop,
    Quit,
    Reconnect,
    /// `update_user_class`, custom messages and anything newer: logged and ignored.
    Other {
        kind: String,
    },
}

/// A decoded frame: the message and the node id it was addressed to.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub message: Inbound,
    pub node_id: String,
}

/// Decodes one frame from the master.
pub fn decode(frame: &[u8]) -> Result<Envelope, CodecError> {
    let mut cursor = frame;
    let value = rmpv::decode::read_value_with_max_depth(&mut cursor, 64)
        .map_err(|e| CodecError::Msgpack(e.to_string()))?;
    if !cursor.is_empty() {
        return Err(CodecError::TrailingBytes(cursor.len()));
    }
    let rmpv::Value::Array(mut parts) = value else {
        return Err(CodecError::Envelope);
    };
    if parts.len() != 3 {
        return Err(CodecError::Envelope);
    }
    let node_id = parts
        .pop()
        .and_then(into_string)
        .ok_or(CodecError::Envelope)?;
    let data = parts.pop().unwrap_or(rmpv::Value::Nil);
    let kind = parts
        .pop()
        .and_then(into_string)
        .ok_or(CodecError::Envelope)?;
    let bad = |problem: &str| CodecError::Data {
        kind: kind.clone(),
        problem: problem.to_string(),
    };
    let message = match kind.as_str() {
        "ack" => Inbound::Ack {
            index: map_get(&data, "index").and_then(rmpv::Value::as_i64),
        },
        "heartbeat" => Inbound::Heartbeat,
        "spawn" => {
            let timestamp = map_get(&data, "timestamp")
                .and_then(as_number)
                .filter(|t| t.is_finite())
                .ok_or_else(|| bad("missing or non-finite timestamp"))?;
            let counts = map_get(&data, "user_classes_count")
                .and_then(rmpv::Value::as_map)
                .ok_or_else(|| bad("missing user_classes_count"))?;
            let mut user_classes_count = ClassCounts::new();
            for (k, v) in counts {
                let name = k
                    .as_str()
                    .ok_or_else(|| bad("class name is not a string"))?;
                let n = v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad("user count is not a small non-negative integer"))?;
                user_classes_count.insert(name.to_string(), n);
            }
            let host = map_get(&data, "host")
                .and_then(rmpv::Value::as_str)
                .filter(|h| !h.is_empty())
                .map(str::to_string);
            let stop_timeout = map_get(&data, "stop_timeout")
                .and_then(as_number)
                .filter(|s| s.is_finite() && *s >= 0.0)
                .unwrap_or(0.0);
            Inbound::Spawn(Spawn {
                timestamp,
                user_classes_count,
                host,
                stop_timeout,
                reset_stats: map_get(&data, "parsed_options")
                    .and_then(|o| map_get(o, "reset_stats"))
                    .and_then(rmpv::Value::as_bool)
                    .unwrap_or(false),
            })
        }
        "spawning_complete" => Inbound::SpawningComplete,
        "stop" => Inbound::Stop,
        "quit" => Inbound::Quit,
        "reconnect" => Inbound::Reconnect,
        _ => Inbound::Other { kind },
    };
    Ok(Envelope { message, node_id })
}

fn into_string(v: rmpv::Value) -> Option<String> {
    match v {
        rmpv::Value::String(s) => s.into_str(),
        _ => None,
    }
}

fn map_get<'a>(v: &'a rmpv::Value, key: &str) -> Option<&'a rmpv::Value> {
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

fn as_number(v: &rmpv::Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_i64().map(|i| i as f64))
        .or_else(|| v.as_u64().map(|u| u as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Byte fixtures from docs/locust-protocol.md §1.4 (verified against msgpack 1.2.4).

    #[test]
    fn decodes_ack_fixture() {
        let env = decode(&hex("93 a3 61636b 81 a5 696e646578 00 a2 7731")).unwrap();
        assert_eq!(env.node_id, "w1");
        assert_eq!(env.message, Inbound::Ack { index: Some(0) });
    }

    #[test]
    fn decodes_heartbeat_fixture() {
        let env = decode(&hex("93 a9 686561727462656174 c0 a2 7731")).unwrap();
        assert_eq!(env.message, Inbound::Heartbeat);
    }

    #[test]
    fn encodes_client_ready_fixture() {
        let bytes = encode(&Outbound::ClientReady, "w1").unwrap();
        assert_eq!(
            bytes,
            hex("93 ac 636c69656e745f7265616479 a6 322e34372e30 a2 7731")
        );
    }

    #[test]
    fn encodes_unit_messages_with_nil_data() {
        let bytes = encode(&Outbound::Quit, "w1").unwrap();
        assert_eq!(bytes, hex("93 a4 71756974 c0 a2 7731"));
    }

    #[test]
    fn heartbeat_is_a_map_with_float_cpu() {
        let bytes = encode(
            &Outbound::Heartbeat {
                state: HeartbeatState::Running,
                cpu_percent: 12.5,
                memory_bytes: 1024,
            },
            "w1",
        )
        .unwrap();
        let v = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
        let data = &v.as_array().unwrap()[1];
        assert_eq!(map_get(data, "state").unwrap().as_str(), Some("running"));
        assert!(
            matches!(map_get(data, "current_cpu_usage"), Some(rmpv::Value::F64(x)) if *x == 12.5)
        );
        assert_eq!(
            map_get(data, "current_memory_usage").unwrap().as_u64(),
            Some(1024)
        );
        // "heartbeat" + data map + node id, nothing else
        assert_eq!(v.as_array().unwrap().len(), 3);
    }

    #[test]
    fn decodes_spawn_with_float_timestamp() {
        let data = rmpv::Value::Map(vec![
            ("timestamp".into(), rmpv::Value::F64(1795312825.4999247)),
            (
                "user_classes_count".into(),
                rmpv::Value::Map(vec![("Dummy".into(), 5u8.into())]),
            ),
            ("host".into(), rmpv::Value::Nil),
            ("stop_timeout".into(), rmpv::Value::F64(0.0)),
            ("parsed_options".into(), rmpv::Value::Map(vec![])),
        ]);
        let msg = rmpv::Value::Array(vec!["spawn".into(), data, "w1".into()]);
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &msg).unwrap();
        // The float timestamp as in the fixture: cb 41dac0932e5ffec4
        assert!(
            bytes
                .windows(9)
                .any(|w| w == hex("cb 41dac0932e5ffec4").as_slice())
        );
        let Inbound::Spawn(spawn) = decode(&bytes).unwrap().message else {
            panic!("not a spawn")
        };
        assert_eq!(spawn.timestamp, 1795312825.4999247);
        assert_eq!(spawn.user_classes_count["Dummy"], 5);
        assert_eq!(spawn.host, None);
    }

    #[test]
    fn a_spawn_with_a_non_finite_timestamp_is_rejected() {
        // NaN would never compare as stale; +inf would make every later spawn stale.
        for t in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let data = rmpv::Value::Map(vec![
                ("timestamp".into(), rmpv::Value::F64(t)),
                ("user_classes_count".into(), rmpv::Value::Map(vec![])),
            ]);
            let msg = rmpv::Value::Array(vec!["spawn".into(), data, "w1".into()]);
            let mut bytes = Vec::new();
            rmpv::encode::write_value(&mut bytes, &msg).unwrap();
            assert!(decode(&bytes).is_err(), "{t}");
        }
    }

    #[test]
    fn rejects_malformed_frames_without_panicking() {
        for bad in [
            vec![],
            hex("c1"),
            hex("93 a3 61636b"),                 // truncated
            hex("92 a3 61636b c0"),              // 2 elements
            hex("93 c4 03 61636b c0 a2 7731"),   // bin type
            hex("93 a4 71756974 c0 a2 7731 00"), // trailing byte
            hex("93 a5 737061776e c0 a2 7731"),  // spawn without data
        ] {
            assert!(decode(&bad).is_err(), "{bad:02x?} should be rejected");
        }
    }

    #[test]
    fn unknown_types_are_tolerated() {
        let env = decode(&hex("93 a6 637573746f6d 01 a2 7731")).unwrap();
        assert_eq!(
            env.message,
            Inbound::Other {
                kind: "custom".into()
            }
        );
    }
}

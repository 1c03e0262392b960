//! Postman environment files (`{"name", "values": [{key, value, enabled}]}`) and our own
//! (`{"name", "variables": {...}}`) → a variable map, names made valid as in plans.

use serde_json::{Map, Value, json};

use super::super::build::Notes;
use super::super::text::{scalar_text, var_name};
use super::super::{ImportError, Note};

/// The variables of an environment and what was not carried over.
#[derive(Debug, Clone, Default)]
pub(crate) struct Environment {
    pub variables: Map<String, Value>,
    pub notes: Vec<Note>,
}

pub(crate) fn environment(doc: &Value) -> Result<Environment, ImportError> {
    let name = doc
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("environment");
    let item = format!("environment {name}");
    let mut notes = Notes::default();
    let mut variables = Map::new();
    if let Some(vars) = doc.get("variables").and_then(Value::as_object) {
        for (k, v) in vars {
            variables.insert(var_name(k), json!(scalar_text(v)));
        }
        return Ok(Environment {
            variables,
            notes: notes.0,
        });
    }
    let values = doc
        .get("values")
        .and_then(Value::as_array)
        .ok_or_else(|| ImportError::Shape {
            format: "Postman environment",
            message: "no \"values\" array".into(),
        })?;
    for v in values {
        let Some(key) = v.get("key").and_then(Value::as_str) else {
            continue;
        };
        if v.get("enabled").and_then(Value::as_bool) == Some(false) {
            notes.add(&item, format!("disabled variable {key} not imported"));
            continue;
        }
        let name = var_name(key);
        if name != key {
            notes.add(
                &item,
                format!("variable {key:?} renamed {name:?} (names are letters, digits, _ - .)"),
            );
        }
        variables.insert(
            name,
            json!(v.get("value").map(scalar_text).unwrap_or_default()),
        );
    }
    Ok(Environment {
        variables,
        notes: notes.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_a_map_and_disabled_ones_a_note() {
        let env = environment(&json!({"name": "dev", "values": [
            {"key": "base url", "value": "http://x", "enabled": true},
            {"key": "n", "value": 3},
            {"key": "off", "value": "1", "enabled": false}]}))
        .unwrap();
        assert_eq!(
            env.variables,
            json!({"base_url": "http://x", "n": "3"})
                .as_object()
                .unwrap()
                .clone()
        );
        assert_eq!(env.notes.len(), 2);
        assert!(environment(&json!({"x": 1})).is_err());
    }
}

//! Environment files: named variable sets that go with a plan for one operation. Two shapes are
//! read: ours (`{"name": "dev", "variables": {"base": "http://..."}}`, what the bridge's
//! `/api/environments/{name}` answers) and a Postman environment export (`{"name": "dev",
//! "values": [{"key": "base", "value": "http://...", "enabled": true}]}`, disabled values left
//! out).

use std::path::Path;

use serde_json::Value;

/// An environment: its name (if the file has one) and its variables in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Environment {
    pub name: Option<String>,
    pub variables: Vec<(String, String)>,
}

impl Environment {
    /// The variable names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.variables.iter().map(|(k, _)| k.as_str())
    }
}

/// Why an environment file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentError {
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    #[error("environment is not valid JSON: {0}")]
    Json(String),
    #[error(
        "not an environment: expected {{\"variables\": {{...}}}} or a Postman environment with a \"values\" array"
    )]
    Shape,
}

/// Reads an environment file.
pub fn read_file(path: &Path) -> Result<Environment, EnvironmentError> {
    let text = std::fs::read_to_string(path).map_err(|e| EnvironmentError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    parse(&text)
}

/// Parses an environment document (ours or Postman's).
pub fn parse(text: &str) -> Result<Environment, EnvironmentError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc: Value =
        serde_json::from_str(text).map_err(|e| EnvironmentError::Json(e.to_string()))?;
    let name = doc.get("name").and_then(Value::as_str).map(str::to_string);
    let mut variables = Vec::new();
    if let Some(vars) = doc.get("variables").and_then(Value::as_object) {
        for (k, v) in vars {
            variables.push((k.clone(), scalar(v)));
        }
    } else if let Some(values) = doc.get("values").and_then(Value::as_array) {
        for v in values {
            let Some(key) = v.get("key").and_then(Value::as_str) else {
                continue;
            };
            if v.get("enabled").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            variables.push((
                key.to_string(),
                v.get("value").map(scalar).unwrap_or_default(),
            ));
        }
    } else {
        return Err(EnvironmentError::Shape);
    }
    Ok(Environment { name, variables })
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ours_and_postman_environments_are_read() {
        let ours = parse(r#"{"name": "dev", "variables": {"base": "http://h", "n": 3}}"#).unwrap();
        assert_eq!(ours.name.as_deref(), Some("dev"));
        assert_eq!(
            ours.variables,
            [("base".into(), "http://h".into()), ("n".into(), "3".into())]
        );
        let postman = parse(
            "\u{feff}{\"name\": \"p\", \"values\": [{\"key\": \"token\", \"value\": \"t\", \"enabled\": true},
             {\"key\": \"off\", \"value\": \"x\", \"enabled\": false}, {\"value\": \"no key\"}]}",
        )
        .unwrap();
        assert_eq!(postman.names().collect::<Vec<_>>(), ["token"]);
        assert_eq!(parse(r#"{"x": 1}"#), Err(EnvironmentError::Shape));
        assert!(matches!(parse("{"), Err(EnvironmentError::Json(_))));
    }
}

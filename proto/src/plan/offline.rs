//! Checking plan files offline (`worker validate`, `master-bridge validate`): each file read as
//! a worker would read it (`data.file` inlined, `--var` applied), its variables also defined by
//! an environment file, every error reported with its JSON path.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::environment::{self, EnvironmentError};
use super::{CheckOptions, FieldError, Plan};

/// The verdict on one plan file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileReport {
    /// The file as given.
    pub path: String,
    /// The plan's name when it is valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub valid: bool,
    /// Every problem, with its JSON path (empty path: the file itself).
    pub errors: Vec<FieldError>,
}

/// Checks every plan in `paths`; `environment` is an environment file (ours or Postman's)
/// whose variables count as defined, and `vars` are `--var KEY=VALUE` overrides. An
/// environment file that cannot be read is an error of the whole check.
pub fn validate_files(
    paths: &[PathBuf],
    environment: Option<&Path>,
    vars: &[(String, String)],
) -> Result<Vec<FileReport>, EnvironmentError> {
    let env = environment.map(environment::read_file).transpose()?;
    let options = CheckOptions::strict(
        env.iter()
            .flat_map(|e| e.names())
            .chain(vars.iter().map(|(k, _)| k.as_str())),
    );
    Ok(paths
        .iter()
        .map(|path| match Plan::from_file_with(path, vars, &options) {
            Ok(v) => FileReport {
                path: path.display().to_string(),
                name: Some(v.plan.name),
                valid: true,
                errors: Vec::new(),
            },
            Err(e) => FileReport {
                path: path.display().to_string(),
                name: None,
                valid: false,
                errors: e.field_errors(),
            },
        })
        .collect())
}

/// The reports as text: `PATH: ok (NAME)` or one `PATH: FIELD: MESSAGE` line per error.
pub fn report_text(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for r in reports {
        if r.valid {
            out.push_str(&format!(
                "{}: ok ({})\n",
                r.path,
                r.name.as_deref().unwrap_or_default()
            ));
        }
        for e in &r.errors {
            out.push_str(&format!("{}: {e}\n", r.path));
        }
    }
    out
}

/// The reports as JSON: `{"valid": bool, "files": [...]}`.
pub fn report_json(reports: &[FileReport]) -> serde_json::Value {
    serde_json::json!({
        "valid": reports.iter().all(|r| r.valid),
        "files": reports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"{"$schema": "../proto/plan.schema.json", "name": "p", "host": "http://h",
        "transactions": [{"name": "t", "steps": [{"name": "s", "method": "GET", "url": "/{{base}}",
        "headers": {"X-Trace": "{{trace_id}}", "X-Item": "{{item}}"}}]}]}"#;

    #[test]
    fn environment_and_vars_define_variables_and_every_error_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let plan = dir.path().join("p.json");
        std::fs::write(&plan, PLAN).unwrap();
        let env = dir.path().join("dev.postman_environment.json");
        std::fs::write(
            &env,
            r#"{"name": "dev", "values": [{"key": "trace_id", "value": "x", "enabled": true}]}"#,
        )
        .unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, r#"{"name": "", "transactions": []}"#).unwrap();

        let without = validate_files(std::slice::from_ref(&plan), None, &[]).unwrap();
        let paths: Vec<&str> = without[0].errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "transactions[0].steps[0].url",
                "transactions[0].steps[0].headers.X-Trace",
                "transactions[0].steps[0].headers.X-Item"
            ]
        );

        let vars = [("base".to_string(), "b".to_string())];
        let with = validate_files(&[plan.clone(), bad.clone()], Some(&env), &vars).unwrap();
        assert_eq!(with[0].errors.len(), 1, "{:?}", with[0].errors);
        assert!(with[0].errors[0].message.contains("{{item}}"));
        assert!(!with[1].valid && with[1].errors.len() == 2);
        let text = report_text(&with);
        assert!(
            text.contains("headers.X-Item: undefined variable {{item}}"),
            "{text}"
        );
        assert_eq!(report_json(&with)["valid"], false);

        let vars = [
            ("base".to_string(), "b".to_string()),
            ("item".to_string(), "1".to_string()),
        ];
        let ok = validate_files(std::slice::from_ref(&plan), Some(&env), &vars).unwrap();
        assert!(ok[0].valid, "{:?}", ok[0].errors);
        assert_eq!(report_text(&ok), format!("{}: ok (p)\n", plan.display()));

        let missing = validate_files(&[plan], Some(&dir.path().join("nope.json")), &[]);
        assert!(matches!(missing, Err(EnvironmentError::Io { .. })));
    }
}

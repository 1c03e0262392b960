//! Plans read from disk: the `data.file` next to the plan inlined (confined to the plan's
//! directory), `--var` overrides applied, then validation as for any other plan.

use std::path::Path;

use serde_json::Value;

use super::{CheckOptions, FieldError, Plan, PlanError, Validated, parse_json};

impl Plan {
    /// Reads a plan file: `data.file` is read relative to the plan and inlined, and `overrides`
    /// (`--var KEY=VALUE`) replace or add plan variables, before validation.
    pub fn from_file(path: &Path, overrides: &[(String, String)]) -> Result<Plan, PlanError> {
        Plan::from_file_with(path, overrides, &CheckOptions::default()).map(|v| v.plan)
    }

    /// [`Plan::from_file`], variables also defined by `options` (an environment).
    pub fn from_file_with(
        path: &Path,
        overrides: &[(String, String)],
        options: &CheckOptions,
    ) -> Result<Validated, PlanError> {
        let io = |p: &Path, e: std::io::Error| PlanError::Io {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
        let mut value = parse_json(&text)?;
        if let Some(data) = value.get_mut("data").and_then(Value::as_object_mut)
            && let Some(Value::String(file)) = data.get("file").cloned()
        {
            let file_path = data_file(path, &file)?;
            let csv = std::fs::read_to_string(&file_path).map_err(|e| io(&file_path, e))?;
            data.remove("file");
            data.insert("csv".into(), Value::String(csv));
        }
        if !overrides.is_empty()
            && let Some(obj) = value.as_object_mut()
        {
            let vars = obj
                .entry("variables")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(vars) = vars.as_object_mut() {
                for (k, v) in overrides {
                    vars.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
        Plan::from_value_with(&value, options)
    }
}

/// Where the `data.file` of the plan at `plan_path` is: a relative path inside the plan's
/// directory (no absolute path, no `..`, no symbolic link leading out), so a plan cannot read
/// the worker's other files. Errors name the rule, never the content.
fn data_file(plan_path: &Path, file: &str) -> Result<std::path::PathBuf, PlanError> {
    use std::path::Component;
    let bad = |message: &str| {
        PlanError::Invalid(vec![FieldError {
            path: "data.file".into(),
            message: message.into(),
        }])
    };
    let rel = Path::new(file);
    let plain = rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if file.is_empty() || !plain {
        return Err(bad(
            "must be a relative path inside the plan's directory (no absolute path, no \"..\")",
        ));
    }
    let dir = plan_path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let io = |p: &Path, e: std::io::Error| PlanError::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let base = dir.canonicalize().map_err(|e| io(dir, e))?;
    let joined = dir.join(rel);
    let full = joined.canonicalize().map_err(|e| io(&joined, e))?;
    if !full.starts_with(&base) {
        return Err(bad("leads out of the plan's directory (a symbolic link)"));
    }
    Ok(full)
}

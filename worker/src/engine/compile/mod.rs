//! The plan-to-task compiler: a validated [`Plan`] becomes a [`CompiledPlan`] (see
//! [`compiled`](super::compiled) for what that holds). URLs are resolved against the effective
//! host (the master's `-H` wins over the plan's `host`, as in Locust) and checked against the
//! `--allow-target` list. The compiler knows nothing of statistics: it lists the plan's rows in
//! [`CompiledPlan::stat_rows`] and the statistics are built from that table.

use std::collections::HashMap;
use std::sync::Arc;

use contract::FieldError;
use contract::plan::{Assertion, Auth, ExtractSource, KeyValues, Plan, Step, check_base_url};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json_path::JsonPath;

use super::allow::{AllowList, refusal};
use super::compiled::{
    Check, CompiledBody, CompiledExtractor, CompiledPlan, CompiledStep, CompiledTransaction, RowId,
    Source, StatRow, UrlSource,
};
use super::feed::DataFeed;
use super::limiter::RateLimiter;
use super::request::{self, resolve_url};
use super::template::{HeaderTpl, Tpl, VarTable};

mod auth;
mod body;

use auth::push_header;
use body::compile_body;

/// Why a plan cannot be compiled for this worker.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileError {
    /// The plan (or the host it is combined with) is not valid.
    #[error("invalid plan: {}", FieldError::join(.0))]
    Invalid(Vec<FieldError>),
    /// The plan is valid, but a target (its host, the master's `-H`, or a literal absolute URL)
    /// is outside `--allow-target`, or, without it, refused by the default policy.
    #[error("target not allowed: {}", FieldError::join(.0))]
    NotAllowed(Vec<FieldError>),
}

impl CompileError {
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            CompileError::Invalid(e) | CompileError::NotAllowed(e) => e,
        }
    }
}

/// Compiles `plan` under the default target policy (no `--allow-target`); `host_override` is
/// the master's `-H`, when given.
pub fn compile(plan: &Plan, host_override: Option<&str>) -> Result<CompiledPlan, CompileError> {
    compile_with(plan, host_override, None, &[])
}

/// Compiles `plan` for a worker restricted to `allow` (`None`: the default policy): a host or
/// absolute URL it refuses is [`CompileError::NotAllowed`] (the master's `-H` included). `rows_before` is the row table
/// of the plan this one replaces: it starts the new table unchanged, so row ids stay stable.
pub fn compile_with(
    plan: &Plan,
    host_override: Option<&str>,
    allow: Option<Arc<AllowList>>,
    rows_before: &[StatRow],
) -> Result<CompiledPlan, CompileError> {
    let mut compiled =
        compile_plan(plan, host_override, rows_before).map_err(CompileError::Invalid)?;
    let refused = refused_targets(&compiled, plan, host_override, allow.as_deref());
    if !refused.is_empty() {
        return Err(CompileError::NotAllowed(refused));
    }
    compiled.allow = allow;
    Ok(compiled)
}

/// The targets of `compiled` that `allow` refuses (`None`: the default policy, see
/// [`allow::refusal`](super::allow::refusal)): the effective host first, then literal URLs.
fn refused_targets(
    compiled: &CompiledPlan,
    plan: &Plan,
    host_override: Option<&str>,
    allow: Option<&AllowList>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(host) = host_override.or(plan.host.as_deref())
        && let Ok(u) = reqwest::Url::parse(host)
        && let Some(message) = refusal(allow, &u)
    {
        errors.push(FieldError {
            path: "host".into(),
            message,
        });
    }
    let steps = compiled
        .setup
        .iter()
        .map(|s| ("setup".to_string(), s))
        .chain(compiled.transactions.iter().flat_map(|t| {
            t.steps
                .iter()
                .map(move |s| (format!("transaction {:?}", t.name), s))
        }));
    for (place, step) in steps {
        if let UrlSource::Fixed(u) = &step.url
            && let Some(message) = refusal(allow, u)
        {
            errors.push(FieldError {
                path: format!("{place}, step {:?}", step.name),
                message,
            });
        }
    }
    errors
}

/// The statistics rows being listed: `(method, name)` pairs, each once.
#[derive(Debug, Default)]
struct Rows {
    rows: Vec<StatRow>,
    index: HashMap<StatRow, RowId>,
}

impl Rows {
    fn starting_with(before: &[StatRow]) -> Rows {
        let mut rows = Rows::default();
        for row in before {
            rows.push(row.clone());
        }
        rows
    }

    fn push(&mut self, row: StatRow) -> RowId {
        if let Some(id) = self.index.get(&row) {
            return *id;
        }
        let id = RowId(u32::try_from(self.rows.len()).unwrap_or(u32::MAX));
        self.rows.push(row.clone());
        self.index.insert(row, id);
        id
    }

    fn row(&mut self, method: &str, name: &str) -> RowId {
        self.push(StatRow {
            method: method.to_string(),
            name: name.to_string(),
        })
    }
}

fn compile_plan(
    plan: &Plan,
    host_override: Option<&str>,
    rows_before: &[StatRow],
) -> Result<CompiledPlan, Vec<FieldError>> {
    let mut errors = Vec::new();
    let host = match host_override {
        Some(h) => match check_base_url(h) {
            Ok(()) => Some(h),
            Err(message) => {
                errors.push(FieldError {
                    path: "host (from the master's -H)".into(),
                    message,
                });
                None
            }
        },
        None => plan.host.as_deref(),
    };
    let mut vars = VarTable::default();
    for (k, v) in plan.variables.iter() {
        vars.set_initial(k, v);
    }
    let data = plan.data.as_ref().map(|d| {
        DataFeed::new(
            d.columns.iter().map(|c| vars.id(c)).collect(),
            d.rows
                .iter()
                .map(|r| r.iter().map(|v| Arc::from(v.as_str())).collect())
                .collect(),
            d.order,
            d.per,
        )
    });
    let mut rows = Rows::starting_with(rows_before);
    let mut compile_steps = |prefix: String,
                             steps: &[Step],
                             txn_auth: &Auth,
                             rows: &mut Rows,
                             errors: &mut Vec<FieldError>| {
        steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let auth = Auth::effective([&s.auth, txn_auth, &plan.auth]);
                compile_step(s, auth, host, rows, &mut vars)
                    .map_err(|(field, message)| {
                        errors.push(FieldError {
                            path: format!("{prefix}[{i}].{field}"),
                            message,
                        })
                    })
                    .ok()
            })
            .collect::<Vec<_>>()
    };
    let setup = compile_steps(
        "setup".into(),
        &plan.setup,
        &Auth::Inherit,
        &mut rows,
        &mut errors,
    );
    let mut transactions = Vec::with_capacity(plan.transactions.len());
    let mut cumulative = Vec::with_capacity(plan.transactions.len());
    let mut sum = 0u64;
    for (ti, t) in plan.transactions.iter().enumerate() {
        let prefix = format!("transactions[{ti}].steps");
        let steps = compile_steps(prefix, &t.steps, &t.auth, &mut rows, &mut errors);
        sum = sum.saturating_add(u64::from(t.weight));
        cumulative.push(sum);
        transactions.push(CompiledTransaction {
            name: t.name.clone(),
            stat: (plan.report_transactions && t.steps.len() > 1).then(|| rows.row("TXN", &t.name)),
            steps,
            think_time: t.think_time.or(plan.think_time),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let http1 = plan.http == contract::plan::HttpVersion::Http1;
    let mut setup = setup;
    if http1 {
        lay_out_fixed(
            setup
                .iter_mut()
                .chain(transactions.iter_mut().flat_map(|t| t.steps.iter_mut())),
        );
    }
    Ok(CompiledPlan {
        name: plan.name.clone(),
        setup,
        transactions,
        cumulative,
        timeout: plan.timeout,
        vars,
        session: plan.session,
        data,
        limiter: plan.max_rps.map(RateLimiter::new),
        allow: None,
        stat_rows: rows.rows,
        max_body: usize::try_from(plan.max_body).unwrap_or(usize::MAX),
        h1: http1.then(|| {
            crate::h1::Connector::new(crate::h1::Limits {
                max_body: usize::try_from(plan.max_body).unwrap_or(usize::MAX),
                response_timeout: plan.timeout,
                connect_timeout: plan.timeout.min(std::time::Duration::from_secs(10)),
                ..crate::h1::Limits::default()
            })
        }),
    })
}

/// A problem with one field of a step: the field and the message.
type StepError = (&'static str, String);

fn compile_step(
    step: &Step,
    auth: Option<&Auth>,
    host: Option<&str>,
    rows: &mut Rows,
    vars: &mut VarTable,
) -> Result<CompiledStep, StepError> {
    let query = auth::query_with_key(auth, &step.query);
    let (url, query) = compile_url(&step.url, &query, host, vars)?;
    let mut headers = HeaderMap::new();
    let mut header_templates = Vec::new();
    for (k, v) in step.headers.iter() {
        let name =
            HeaderName::from_bytes(k.as_bytes()).map_err(|e| ("headers", format!("{k}: {e}")))?;
        push_header(
            &mut headers,
            &mut header_templates,
            name,
            HeaderTpl::Text(Tpl::compile(v, vars)),
        )
        .map_err(|e| ("headers", format!("{k}: {e}")))?;
    }
    if let Some((name, value)) = auth.and_then(|a| auth::header(a, vars))
        && !headers.contains_key(&name)
        && !header_templates.iter().any(|(n, _)| *n == name)
    {
        push_header(&mut headers, &mut header_templates, name, value).map_err(|e| ("auth", e))?;
    }
    let (body, content_type) = compile_body(&step.body, vars);
    if let Some(ct) = content_type
        && !headers.contains_key(CONTENT_TYPE)
        && !header_templates.iter().any(|(n, _)| n == CONTENT_TYPE)
    {
        let value = HeaderValue::from_str(&ct).map_err(|e| ("content_type", e.to_string()))?;
        headers.insert(CONTENT_TYPE, value);
    }
    let method = reqwest::Method::from_bytes(step.method.as_str().as_bytes())
        .map_err(|e| ("method", e.to_string()))?;
    let extract = compile_extractors(step, vars)?;
    let checks = compile_checks(step)?;
    let needs_body =
        extract.iter().any(|e| e.source.reads_body()) || checks.iter().any(Check::reads_body);
    let needs_headers = extract
        .iter()
        .any(|e| matches!(e.source, Source::Header(_)))
        || checks
            .iter()
            .any(|c| matches!(c, Check::HeaderEquals(..) | Check::HeaderContains(..)));
    Ok(CompiledStep {
        name: step.name.clone(),
        stat: rows.row(method.as_str(), &step.name),
        method,
        url,
        query,
        headers,
        header_templates,
        body,
        extract,
        checks,
        needs_body,
        needs_headers,
        wire: None,
    })
}

/// Lays out, once, the bytes of every step with no template (HTTP/1.1 plans): such a request
/// costs one buffer copy per send.
fn lay_out_fixed<'a>(steps: impl Iterator<Item = &'a mut CompiledStep>) {
    for step in steps {
        let UrlSource::Fixed(url) = &step.url else {
            continue;
        };
        if !step.query.is_empty() || !step.header_templates.is_empty() {
            continue;
        }
        let body = match &step.body {
            CompiledBody::None => None,
            CompiledBody::Fixed(b) => Some(b.as_ref()),
            _ => continue,
        };
        step.wire = Some(request::lay_out(
            step.method.as_str(),
            url,
            &step.headers,
            body,
        ));
    }
}

/// The step's URL, and its query parameters that hold templates (static ones are appended to a
/// fixed URL, or rendered with the templated ones after a templated URL).
fn compile_url(
    step_url: &str,
    step_query: &KeyValues,
    host: Option<&str>,
    vars: &mut VarTable,
) -> Result<(UrlSource, Vec<(String, Tpl)>), StepError> {
    let url_tpl = Tpl::compile(step_url, vars);
    let mut query = Vec::new();
    let mut fixed_query = Vec::new();
    for (k, v) in step_query.iter() {
        let t = Tpl::compile(v, vars);
        match t.as_static() {
            Some(s) => fixed_query.push((k.to_string(), s)),
            None => query.push((k.to_string(), t)),
        }
    }
    let url = match url_tpl.as_static() {
        Some(text) => match resolve_url(&text, host).map_err(|e| ("url", e))? {
            Some(mut u) => {
                if !fixed_query.is_empty() {
                    u.query_pairs_mut().extend_pairs(fixed_query.iter());
                }
                UrlSource::Fixed(u)
            }
            None => UrlSource::NoHost,
        },
        None => {
            // Fixed query pairs go after the rendered URL with the templated ones.
            query.splice(
                0..0,
                fixed_query
                    .into_iter()
                    .map(|(k, v)| (k, Tpl::compile(&v, vars))),
            );
            UrlSource::Template {
                tpl: url_tpl,
                base: host.map(str::to_string),
            }
        }
    };
    Ok((url, query))
}

fn json_path(field: &'static str, p: &str) -> Result<JsonPath, StepError> {
    JsonPath::parse(p).map_err(|e| (field, e.to_string()))
}

fn header_name(field: &'static str, h: &str) -> Result<HeaderName, StepError> {
    HeaderName::from_bytes(h.as_bytes()).map_err(|e| (field, format!("{h}: {e}")))
}

fn compile_extractors(
    step: &Step,
    vars: &mut VarTable,
) -> Result<Vec<CompiledExtractor>, StepError> {
    let mut extract = Vec::with_capacity(step.extract.len());
    for e in &step.extract {
        let source = match &e.source {
            ExtractSource::Json { json } => Source::Json(json_path("extract", json)?, json.clone()),
            ExtractSource::Regex { regex, group } => Source::Regex(
                regex::Regex::new(regex).map_err(|e| ("extract", e.to_string()))?,
                *group,
            ),
            ExtractSource::Header { header } => Source::Header(header_name("extract", header)?),
            ExtractSource::Status { .. } => Source::Status,
        };
        extract.push(CompiledExtractor {
            var: vars.id(&e.var),
            name: e.var.clone(),
            source,
        });
    }
    Ok(extract)
}

fn compile_checks(step: &Step) -> Result<Vec<Check>, StepError> {
    let mut checks = Vec::with_capacity(step.assertions.len());
    for a in &step.assertions {
        checks.push(match a {
            Assertion::Status { status } => Check::Status(status.clone()),
            Assertion::BodyContains { body_contains } => Check::BodyContains(body_contains.clone()),
            Assertion::JsonExists { json, exists } => {
                Check::JsonExists(json_path("assert", json)?, json.clone(), *exists)
            }
            Assertion::JsonEquals { json, equals } => {
                Check::JsonEquals(json_path("assert", json)?, json.clone(), equals.clone())
            }
            Assertion::HeaderEquals { header, equals } => {
                Check::HeaderEquals(header_name("assert", header)?, equals.clone())
            }
            Assertion::HeaderContains { header, contains } => {
                Check::HeaderContains(header_name("assert", header)?, contains.clone())
            }
            Assertion::ResponseTimeUnder {
                response_time_under_ms,
            } => Check::ResponseTimeUnder(*response_time_under_ms as f64),
        });
    }
    Ok(checks)
}

#[cfg(test)]
mod tests;

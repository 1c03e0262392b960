//! The compiled form of a plan: immutable, shared by every user, built only by
//! [`compile`](mod@super::compile). URLs are resolved where they can be, static headers and bodies
//! pre-built, templates bound to variable slots, regexes and JSONPaths compiled, and every request
//! points into the plan's table of statistics rows ([`StatRow`], by [`RowId`]).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use contract::plan::ThinkTime;
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderName};
use serde_json::Value;
use serde_json_path::JsonPath;

use super::allow::AllowList;
use super::feed::DataFeed;
use super::limiter::RateLimiter;
use super::template::{HeaderTpl, Tpl, VarId, VarTable};

/// One row of the statistics, as Locust keys them: `(method, name)`. Steps with the same method
/// and name share a row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatRow {
    pub method: String,
    pub name: String,
}

/// The index of a row in [`CompiledPlan::stat_rows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowId(pub u32);

impl RowId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A plan ready to run: immutable, shared by every user.
#[derive(Debug)]
pub struct CompiledPlan {
    pub name: String,
    pub setup: Vec<CompiledStep>,
    pub transactions: Vec<CompiledTransaction>,
    /// Running sums of the transaction weights, for picking by weight.
    pub(crate) cumulative: Vec<u64>,
    pub timeout: Duration,
    pub vars: VarTable,
    pub session: bool,
    pub data: Option<DataFeed>,
    pub limiter: Option<RateLimiter>,
    /// Hosts requests may go to; checked again before sending a templated URL.
    pub allow: Option<Arc<AllowList>>,
    /// The statistics rows the steps and transactions point into. When the plan was compiled
    /// after another, the other's rows come first, in the same order, so that its row ids keep
    /// their meaning (requests in flight across a plan switch are counted in the right row).
    pub stat_rows: Vec<StatRow>,
    /// Response bytes kept at most (the plan's `max_body`).
    pub max_body: usize,
    /// Where users' own HTTP/1.1 connections come from; `None` for `"http": "2"` plans, which
    /// use the shared client.
    pub h1: Option<crate::h1::Connector>,
}

#[derive(Debug)]
pub struct CompiledTransaction {
    pub name: String,
    pub steps: Vec<CompiledStep>,
    pub think_time: Option<ThinkTime>,
    /// The `TXN` row, when the plan reports multi-step transactions.
    pub stat: Option<RowId>,
}

/// Where a step's URL comes from.
#[derive(Debug)]
pub enum UrlSource {
    /// Resolved at compile time (possibly with the query already appended).
    Fixed(reqwest::Url),
    /// Rendered per request, then joined to `base` when relative.
    Template { tpl: Tpl, base: Option<String> },
    /// A relative URL and no host anywhere.
    NoHost,
}

#[derive(Debug)]
pub enum CompiledBody {
    None,
    Fixed(Bytes),
    Json(JsonTpl),
    Text(Tpl),
    Form(Vec<(String, Tpl)>),
    /// `multipart/form-data` with this boundary (also in the Content-Type header).
    Multipart {
        boundary: String,
        parts: Vec<MultipartPart>,
    },
}

/// One compiled part of a multipart body.
#[derive(Debug)]
pub struct MultipartPart {
    /// The `Content-Disposition` and `Content-Type` lines, pre-built.
    pub head: String,
    pub content: Tpl,
}

/// A JSON body with templates in its strings.
#[derive(Debug)]
pub enum JsonTpl {
    Fixed(Value),
    Str(Tpl),
    Array(Vec<JsonTpl>),
    Object(Vec<(String, JsonTpl)>),
}

#[derive(Debug)]
pub struct CompiledExtractor {
    pub var: VarId,
    pub name: String,
    pub source: Source,
}

/// Where an extractor reads its value.
#[derive(Debug)]
pub enum Source {
    /// The JSONPath and its text.
    Json(JsonPath, String),
    Regex(regex::Regex, usize),
    Header(HeaderName),
    Status,
}

impl Source {
    /// True when the source reads the response body.
    pub fn reads_body(&self) -> bool {
        matches!(self, Source::Json(..) | Source::Regex(..))
    }
}

/// One assertion, ready to judge a response.
#[derive(Debug)]
pub enum Check {
    Status(Vec<u16>),
    BodyContains(String),
    /// The JSONPath, its text, and whether it must match (true) or must not.
    JsonExists(JsonPath, String, bool),
    JsonEquals(JsonPath, String, Value),
    HeaderEquals(HeaderName, String),
    HeaderContains(HeaderName, String),
    ResponseTimeUnder(f64),
}

impl Check {
    /// True when the check reads the response body.
    pub fn reads_body(&self) -> bool {
        matches!(
            self,
            Check::BodyContains(_) | Check::JsonExists(..) | Check::JsonEquals(..)
        )
    }
}

#[derive(Debug)]
pub struct CompiledStep {
    pub name: String,
    pub method: reqwest::Method,
    pub url: UrlSource,
    /// Query parameters that hold templates (static ones are in a fixed URL).
    pub query: Vec<(String, Tpl)>,
    pub headers: HeaderMap,
    pub header_templates: Vec<(HeaderName, HeaderTpl)>,
    pub body: CompiledBody,
    pub extract: Vec<CompiledExtractor>,
    pub checks: Vec<Check>,
    /// True when a check or extractor reads the body, which is then kept in memory.
    pub needs_body: bool,
    /// True when a check or extractor reads a response header (headers are otherwise not kept).
    pub needs_headers: bool,
    /// The step's row in [`CompiledPlan::stat_rows`].
    pub stat: RowId,
    /// The request's bytes, laid out once at compile time, when the plan is HTTP/1.1 and the
    /// step has no template anywhere (URL, query, headers, body).
    pub wire: Option<crate::h1::Prepared>,
}

impl CompiledPlan {
    /// Picks a transaction by weight.
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> &CompiledTransaction {
        let total = self.cumulative.last().copied().unwrap_or(1).max(1);
        let x = rng.random_range(0..total);
        let i = self.cumulative.partition_point(|&c| c <= x);
        &self.transactions[i.min(self.transactions.len() - 1)]
    }

    /// The row a step or transaction points to.
    pub fn stat_row(&self, id: RowId) -> Option<&StatRow> {
        self.stat_rows.get(id.index())
    }
}

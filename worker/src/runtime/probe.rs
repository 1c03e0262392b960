//! One simulated user running steps once, in order, with full traces and no statistics: what
//! `worker run --once` prints and what the fleet's `Try` returns. Variables, the data feed and
//! the cookie jar carry from one step to the next, as in a real user.

use rand::SeedableRng;
use rand::rngs::SmallRng;

use crate::engine::{self, CompiledPlan, CompiledStep, StepContext, Trace};

/// What one step did.
#[derive(Debug)]
pub struct Probed {
    /// The group the step belongs to (`setup`, `transaction NAME`).
    pub group: String,
    pub trace: Trace,
    /// Why the step failed, if it did.
    pub failure: Option<String>,
}

impl Probed {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// The steps `--once` runs: the setup steps, then every transaction in plan order.
pub fn whole_plan(plan: &CompiledPlan) -> Vec<(String, &CompiledStep)> {
    let setup = plan.setup.iter().map(|s| ("setup".to_string(), s));
    let txns = plan.transactions.iter().flat_map(|t| {
        t.steps
            .iter()
            .map(|s| (format!("transaction {}", t.name), s))
    });
    setup.chain(txns).collect()
}

/// Runs `steps` once as one user of `plan`.
pub async fn run(
    plan: &CompiledPlan,
    client: &reqwest::Client,
    steps: Vec<(String, &CompiledStep)>,
) -> Vec<Probed> {
    let mut rng = SmallRng::from_os_rng();
    let mut vars = plan.vars.vars();
    if let Some(feed) = &plan.data {
        feed.next_into(&mut vars, &mut rng);
    }
    let jar = plan.session.then(reqwest::cookie::Jar::default);
    let mut conns = plan.h1.clone().map(crate::engine::Conns::new);
    let mut out = Vec::with_capacity(steps.len());
    for (group, step) in steps {
        let ctx = StepContext {
            client,
            vars: &mut vars,
            jar: jar.as_ref(),
            conns: conns.as_mut(),
            rng: &mut rng,
            timeout: plan.timeout,
            max_body: plan.max_body,
            capture: true,
            allow: plan.allow.as_deref(),
        };
        let (outcome, trace) = engine::run_step(step, ctx).await;
        if let Some(trace) = trace {
            out.push(Probed {
                group,
                trace: *trace,
                failure: outcome.failure.as_ref().map(ToString::to_string),
            });
        }
    }
    out
}

//! Compiled templates and the per-user variable store.
//!
//! Variable names are resolved to slots when the plan is compiled, so rendering a template is a
//! walk over literal parts and slot look-ups: no parsing and no hashing per request.

use std::collections::HashMap;
use std::sync::Arc;

use contract::template::{Builtin, Part, Template};
use rand::Rng;
use rand::rngs::SmallRng;

use super::outcome::Failure;

/// A variable slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VarId(pub(crate) usize);

/// Names of all variables of a plan, with their initial values.
#[derive(Debug, Default, Clone)]
pub struct VarTable {
    index: HashMap<String, VarId>,
    names: Vec<String>,
    initial: Vec<Option<Arc<str>>>,
}

impl VarTable {
    /// The slot of `name`, created on first use.
    pub fn id(&mut self, name: &str) -> VarId {
        if let Some(id) = self.index.get(name) {
            return *id;
        }
        let id = VarId(self.names.len());
        self.names.push(name.to_string());
        self.initial.push(None);
        self.index.insert(name.to_string(), id);
        id
    }

    pub fn set_initial(&mut self, name: &str, value: &str) {
        let id = self.id(name);
        self.initial[id.0] = Some(Arc::from(value));
    }

    pub fn name(&self, id: VarId) -> &str {
        self.names.get(id.0).map_or("?", String::as_str)
    }

    /// A fresh store with the initial values, for a new user.
    pub fn vars(&self) -> Vars {
        Vars(self.initial.clone())
    }
}

/// One user's variables.
#[derive(Debug, Clone, Default)]
pub struct Vars(Vec<Option<Arc<str>>>);

impl Vars {
    pub fn get(&self, id: VarId) -> Option<&Arc<str>> {
        self.0.get(id.0).and_then(Option::as_ref)
    }

    pub fn set(&mut self, id: VarId, value: Arc<str>) {
        if self.0.len() <= id.0 {
            self.0.resize(id.0 + 1, None);
        }
        self.0[id.0] = Some(value);
    }

    /// Every defined variable with its name, for traces.
    pub fn named<'a>(&'a self, table: &'a VarTable) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_deref().map(|v| (table.name(VarId(i)), v)))
    }
}

#[derive(Debug, Clone)]
enum TPart {
    Lit(Box<str>),
    Var(VarId, Box<str>),
    Builtin(Builtin),
}

/// A header value rendered per request: a template, or basic-auth credentials (`user:pass`)
/// sent base64-encoded after rendering.
#[derive(Debug, Clone)]
pub enum HeaderTpl {
    Text(Tpl),
    Basic(Tpl),
}

impl HeaderTpl {
    pub fn render(&self, vars: &Vars, rng: &mut SmallRng) -> Result<String, Failure> {
        match self {
            HeaderTpl::Text(t) => t.render(vars, rng),
            HeaderTpl::Basic(t) => Ok(basic_value(&t.render(vars, rng)?)),
        }
    }
}

/// `Basic base64(credentials)`.
pub fn basic_value(credentials: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

/// A template ready to render.
#[derive(Debug, Clone)]
pub struct Tpl {
    parts: Vec<TPart>,
}

impl Tpl {
    /// Compiles a template that already passed plan validation.
    pub fn compile(text: &str, vars: &mut VarTable) -> Tpl {
        let parsed = Template::parse(text).unwrap_or_else(|_| Template {
            parts: vec![Part::Literal(text.to_string())],
        });
        let parts = parsed
            .parts
            .into_iter()
            .map(|p| match p {
                Part::Literal(s) => TPart::Lit(s.into()),
                Part::Var(v) => TPart::Var(vars.id(&v), v.into()),
                Part::Builtin(b) => TPart::Builtin(b),
            })
            .collect();
        Tpl { parts }
    }

    /// The text, when the template has no placeholders.
    pub fn as_static(&self) -> Option<String> {
        self.parts
            .iter()
            .map(|p| match p {
                TPart::Lit(s) => Some(&**s),
                _ => None,
            })
            .collect()
    }

    /// Renders into `out`; an undefined variable is a failure of the step.
    pub fn render_into(
        &self,
        out: &mut String,
        vars: &Vars,
        rng: &mut SmallRng,
    ) -> Result<(), Failure> {
        use std::fmt::Write;
        for p in &self.parts {
            match p {
                TPart::Lit(s) => out.push_str(s),
                TPart::Var(id, name) => match vars.get(*id) {
                    Some(v) => out.push_str(v),
                    None => {
                        return Err(Failure::message(format!(
                            "undefined variable {{{{{name}}}}}"
                        )));
                    }
                },
                TPart::Builtin(Builtin::Uuid) => {
                    let _ = write!(out, "{}", uuid::Uuid::new_v4());
                }
                TPart::Builtin(Builtin::Timestamp) => {
                    let _ = write!(out, "{}", super::outcome::unix_now() as i64);
                }
                TPart::Builtin(Builtin::IsoTimestamp) => out.push_str(&iso_now()),
                TPart::Builtin(Builtin::RandomInt { lo, hi }) => {
                    let _ = write!(out, "{}", rng.random_range(*lo..=*hi));
                }
            }
        }
        Ok(())
    }

    pub fn render(&self, vars: &Vars, rng: &mut SmallRng) -> Result<String, Failure> {
        let mut out = String::new();
        self.render_into(&mut out, vars, rng)?;
        Ok(out)
    }
}

/// Current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso_now() -> String {
    let now = super::outcome::unix_now();
    let secs = now.floor() as i64;
    let millis = ((now - now.floor()) * 1000.0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn renders_vars_and_builtins() {
        let mut table = VarTable::default();
        table.set_initial("item", "42");
        let t = Tpl::compile(
            "/items/{{item}}?n={{$randomInt(3,3)}}&u={{token}}",
            &mut table,
        );
        let mut vars = table.vars();
        let mut rng = SmallRng::seed_from_u64(1);
        let err = t.render(&vars, &mut rng).unwrap_err();
        assert_eq!(err.to_string(), "undefined variable {{token}}");
        vars.set(table.id("token"), Arc::from("abc"));
        assert_eq!(t.render(&vars, &mut rng).unwrap(), "/items/42?n=3&u=abc");
        assert_eq!(
            Tpl::compile("plain", &mut table).as_static().as_deref(),
            Some("plain")
        );
        assert!(t.as_static().is_none());
    }

    #[test]
    fn builtins_have_the_right_shape() {
        let mut table = VarTable::default();
        let mut rng = SmallRng::seed_from_u64(1);
        let vars = table.vars();
        let uuid = Tpl::compile("{{$uuid}}", &mut table)
            .render(&vars, &mut rng)
            .unwrap();
        assert!(uuid::Uuid::parse_str(&uuid).is_ok());
        let ts: i64 = Tpl::compile("{{$timestamp}}", &mut table)
            .render(&vars, &mut rng)
            .unwrap()
            .parse()
            .unwrap();
        assert!(ts > 1_700_000_000);
        let iso = Tpl::compile("{{$isoTimestamp}}", &mut table)
            .render(&vars, &mut rng)
            .unwrap();
        assert_eq!(iso.len(), 24, "{iso}");
        assert!(iso.ends_with('Z') && iso.as_bytes()[10] == b'T');
        for _ in 0..200 {
            let n: i64 = Tpl::compile("{{$randomInt}}", &mut table)
                .render(&vars, &mut rng)
                .unwrap()
                .parse()
                .unwrap();
            assert!((0..=1000).contains(&n));
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}

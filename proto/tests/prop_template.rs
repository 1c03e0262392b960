//! Property tests: the template parser never panics and keeps literal text intact.

use contract::template::{Part, Template};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics(text in any::<String>()) {
        let _ = Template::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_brace_soup(text in "[{}$a-z_. 0-9,-]{0,40}") {
        let _ = Template::parse(&text);
    }

    #[test]
    fn literals_round_trip(text in "[^{}]{0,64}") {
        let t = Template::parse(&text).unwrap();
        prop_assert!(t.is_static());
        let joined: String = t.parts.iter().map(|p| match p {
            Part::Literal(s) => s.as_str(),
            other => panic!("unexpected part {other:?}"),
        }).collect();
        prop_assert_eq!(joined, text);
    }

    #[test]
    fn literals_around_a_var_survive(a in "[^{}]{0,16}", name in "[a-z_][a-z0-9_]{0,8}", b in "[^{}]{0,16}") {
        let t = Template::parse(&format!("{a}{{{{{name}}}}}{b}")).unwrap();
        let mut want = Vec::new();
        if !a.is_empty() { want.push(Part::Literal(a.clone())); }
        want.push(Part::Var(name.clone()));
        if !b.is_empty() { want.push(Part::Literal(b.clone())); }
        prop_assert_eq!(t.parts, want);
    }
}

use super::*;

fn matches(sql: &str, props: &[(&str, &str)]) -> bool {
    let selector = compile(sql).unwrap_or_else(|e| panic!("{sql:?} does not compile: {e}"));
    selector.matches(&|name| props.iter().find(|(k, _)| *k == name).map(|(_, v)| *v))
}

fn fails(sql: &str) {
    assert!(
        compile(sql).is_err(),
        "{sql:?} compiled but Java rejects it"
    );
}

#[test]
fn numeric_comparisons_convert_the_string_property() {
    let p = [("a", "5")];
    assert!(matches("a > 3", &p));
    assert!(matches("a >= 5", &p));
    assert!(!matches("a < 5", &p));
    assert!(matches("a <= 5.0", &p));
    assert!(matches("a = 5", &p));
    assert!(matches("a <> 6", &p));
    assert!(matches("a > -1", &p));
    assert!(matches("a > 2L", &p));
    // Two properties (strings) are ordered as doubles, not as text.
    assert!(matches("a < b", &[("a", "9"), ("b", "10")]));
    assert!(!matches("a < b", &[("a", "9"), ("b", "x")]));
}

#[test]
fn failed_conversion_fails_the_whole_expression() {
    // Java throws NumberFormatException, which is not caught by OR.
    assert!(!matches("a > 3 OR b = 'x'", &[("a", "abc"), ("b", "x")]));
    // An int literal needs an int: 3000000000 does not fit.
    assert!(!matches("a > 3", &[("a", "3000000000")]));
    assert!(matches("a > 3000000000", &[("a", "3000000001")]));
}

#[test]
fn precedence_and_before_or_and_parentheses() {
    let p = [("a", "1"), ("b", "2"), ("c", "3")];
    assert!(matches("a = 1 OR b = 9 AND c = 9", &p));
    assert!(!matches("(a = 1 OR b = 9) AND c = 9", &p));
    assert!(matches("a = 9 OR b = 2 AND c = 3", &p));
    assert!(matches("NOT (a = 9)", &p));
    assert!(
        matches("a=1 and B is null", &p),
        "keywords are case-insensitive, names are not"
    );
}

#[test]
fn between_and_not_between_are_inclusive_ranges() {
    assert!(matches("a BETWEEN 1 AND 3", &[("a", "1")]));
    assert!(matches("a BETWEEN 1 AND 3", &[("a", "3")]));
    assert!(!matches("a BETWEEN 1 AND 3", &[("a", "4")]));
    assert!(matches("a NOT BETWEEN 1 AND 3", &[("a", "4")]));
    assert!(!matches("a NOT BETWEEN 1 AND 3", &[("a", "2")]));
    assert!(!matches("a BETWEEN 1 AND 3", &[]));
    fails("a BETWEEN 3 AND 1");
    fails("a BETWEEN 'x' AND 'y'");
}

#[test]
fn in_lists_take_strings() {
    let p = [("TAGS", "TagB")];
    assert!(matches("TAGS IN ('TagA', 'TagB')", &p));
    assert!(!matches("TAGS NOT IN ('TagA', 'TagB')", &p));
    assert!(matches("TAGS NOT IN ('TagC')", &p));
    assert!(!matches("x IN ('a')", &p), "missing property: NULL");
    assert!(
        !matches("x NOT IN ('a')", &p),
        "missing property: NULL even negated"
    );
    fails("TAGS IN (1, 2)");
    fails("'a' IN ('a')");
}

#[test]
fn null_semantics_like_java() {
    assert!(matches("a IS NULL", &[]));
    assert!(!matches("a IS NOT NULL", &[]));
    assert!(matches("a IS NOT NULL", &[("a", "1")]));
    // Comparisons with a missing property are NULL, never TRUE, even negated.
    assert!(!matches("a > 1", &[]));
    assert!(!matches("NOT (a > 1)", &[]));
    assert!(!matches("a <> 1", &[]));
    // AND/OR around NULL.
    assert!(matches("a > 1 OR b = 2", &[("b", "2")]));
    assert!(!matches("a > 1 AND b = 2", &[("b", "2")]));
    assert!(!matches("(a > 1 AND b = 3)", &[("b", "2")]));
    fails("a = NULL");
}

#[test]
fn literals_and_strings() {
    assert!(matches("a = 'it''s'", &[("a", "it's")]));
    assert!(matches("TRUE", &[]));
    assert!(!matches("FALSE", &[]));
    assert!(!matches("NULL", &[]));
    assert!(matches("a = TRUE", &[("a", "True")]));
    assert!(matches("a = 1.5E1", &[("a", "15")]));
    assert!(matches("a = .5", &[("a", "0.5")]));
    assert!(matches("a = 'x' -- trailing comment\n", &[("a", "x")]));
    assert!(matches("/* c */ a = 'x'", &[("a", "x")]));
    // A bare property is a boolean cast: a string is never TRUE.
    assert!(!matches("a", &[("a", "true")]));
}

#[test]
fn five_x_text_operators() {
    let p = [("a", "hello")];
    assert!(matches("a CONTAINS 'ell'", &p));
    assert!(matches("a STARTSWITH 'he'", &p));
    assert!(matches("a ENDSWITH 'lo'", &p));
    assert!(matches("a NOT CONTAINS 'x'", &p));
    assert!(!matches("a CONTAINS ''", &p));
    assert!(
        !matches("b NOT CONTAINS 'x'", &p),
        "missing property is FALSE"
    );
}

#[test]
fn build_time_checks_reject_what_java_rejects() {
    fails("");
    fails("a >");
    fails("a > 'x'");
    fails("a > TRUE");
    fails("(a = 1) > 2");
    fails("TRUE = 1");
    fails("5");
    fails("'abc'");
    fails("a = 1 AND 5");
    fails("a == 1");
    fails("a != 1");
    fails("a = 0.0");
    fails("a = 99999999999999999999");
    fails("a = 'unterminated");
    fails("(a = 1");
    fails("a.b = 1");
}

#[test]
fn trailing_tokens_are_ignored_like_the_generated_parser() {
    // JmsSelector() has no <EOF>: Java stops after the expression, but still lexes the next token.
    assert!(matches("a = 1 b", &[("a", "1")]));
    fails("a = 1 #");
}

#[test]
fn matches_a_stored_properties_string() {
    let props = "TAGS\u{1}TagA\u{2}KEYS\u{1}k1\u{2}price\u{1}42\u{2}";
    let s = compile("TAGS = 'TagA' AND price BETWEEN 40 AND 50").unwrap();
    assert!(s.matches_properties(props));
    assert!(!compile("price > 42").unwrap().matches_properties(props));
}

#[test]
fn nesting_and_operator_count_are_bounded_just_above_real_selectors() {
    let nested = |depth: usize| format!("{}a = 1{}", "(".repeat(depth), ")".repeat(depth));
    assert!(matches(&nested(32), &[("a", "1")]));
    assert!(compile(&nested(33)).is_err());
    assert!(matches(&format!("{}TRUE", "NOT NOT ".repeat(16)), &[]));
    assert!(compile(&format!("{}TRUE", "NOT ".repeat(33))).is_err());
    // 128 terms joined by AND are 255 operators (128 `=` and 127 `AND`).
    let chain = |terms: usize| vec!["a = 1"; terms].join(" AND ");
    assert!(matches(&chain(128), &[("a", "1")]));
    assert!(compile(&chain(129)).is_err());
}

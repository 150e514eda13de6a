use super::*;

fn check(pattern: &str, message: &str) -> bool {
    Pattern::parse(pattern).expect("pattern parses").matches(message)
}

fn refused(pattern: &str) -> String {
    match Pattern::parse(pattern) {
        Err(Error::InvalidParameterException(m)) => m,
        other => panic!("{pattern:?} should be refused, got {other:?}"),
    }
}

#[test]
fn empty_matches_everything() {
    assert!(check("", "anything"));
    assert!(check("   ", ""));
}

#[test]
fn terms_must_all_appear_as_words() {
    assert!(check("ERROR", "[ERROR] disk full"));
    assert!(check("ERROR disk", "ERROR: disk full"));
    assert!(!check("ERROR disk", "ERROR: memory"));
    assert!(!check("ERROR", "ERRORS everywhere"), "a term is a whole word");
    assert!(!check("error", "ERROR"), "terms are case-sensitive");
}

#[test]
fn quoted_phrases_match_anywhere() {
    assert!(check("\"disk full\"", "ERROR: disk full now"));
    assert!(!check("\"disk full\"", "disk is full"));
    assert!(check("\"[ERROR]\"", "x [ERROR] y"));
}

#[test]
fn optional_terms_match_any() {
    assert!(check("?ERROR ?WARN", "WARN low disk"));
    assert!(check("?ERROR ?WARN", "ERROR"));
    assert!(!check("?ERROR ?WARN", "INFO ok"));
}

#[test]
fn excluded_terms() {
    assert!(check("ERROR -timeout", "ERROR disk"));
    assert!(!check("ERROR -timeout", "ERROR timeout reached"));
    assert!(check("-DEBUG", "INFO x"));
    assert!(!check("-DEBUG", "DEBUG x"));
}

#[test]
fn json_equality_and_wildcards() {
    let m = r#"{"level":"ERROR","user":{"id":"u-42"},"tags":["a","b"],"ok":false,"gone":null}"#;
    assert!(check(r#"{ $.level = "ERROR" }"#, m));
    assert!(check("{ $.level = ERROR }", m));
    assert!(!check(r#"{ $.level = "WARN" }"#, m));
    assert!(check(r#"{ $.level != "WARN" }"#, m));
    assert!(check(r#"{ $.user.id = "u-*" }"#, m));
    assert!(check(r#"{ $.tags[1] = "b" }"#, m));
    assert!(check("{ $.ok IS FALSE }", m));
    assert!(check("{ $.gone IS NULL }", m));
    assert!(check("{ $.missing NOT EXISTS }", m));
    assert!(!check(r#"{ $.level = "ERROR" }"#, "not json ERROR"));
}

#[test]
fn json_numbers_and_logic() {
    let m = r#"{"latency":1200,"status":500,"level":"ERROR"}"#;
    assert!(check("{ $.latency > 1000 }", m));
    assert!(check("{ $.latency >= 1200 && $.status = 500 }", m));
    assert!(!check("{ $.latency < 1000 }", m));
    assert!(check(r#"{ ($.latency < 1000 || $.status != 200) && $.level = "ERROR" }"#, m));
    assert!(!check("{ $.level > 3 }", m), "a string is not a number");
}

#[test]
fn unsupported_patterns_are_refused() {
    assert_eq!(refused("{ $.level = \"x\""), "If a filter pattern starts with '{' it must end with '}'");
    assert_eq!(refused("[ip, user, status = 404]"), "Invalid filter pattern");
    assert_eq!(refused("%ERR.*%"), "Invalid filter pattern");
    assert_eq!(refused("{ $.a[*] = 1 }"), "Invalid filter pattern");
    assert_eq!(refused("{ $.a > \"x\" }"), "Invalid filter pattern");
    assert_eq!(refused("{ $.a = }"), "Invalid filter pattern");
    assert_eq!(refused("\"open"), "Invalid filter pattern");
    assert!(refused("a{b").contains("Invalid character(s) in term"));
}

#[test]
fn glob_edges() {
    assert!(glob("*", ""));
    assert!(glob("a*c", "abc"));
    assert!(!glob("a*c", "ac-"));
    assert!(glob("a*b*c", "aXbYc"));
    assert!(!glob("ab*ba", "aba"));
}

//! Each operator on matching and non-matching events. Every case runs through both the direct
//! evaluator and a compiled matcher holding the rule, which must agree.

use crate::{Matcher, Pattern};

/// Whether `pattern` matches `event`, asserting that both matching paths say the same.
fn check(pattern: &str, event: &str) -> bool {
    let p = Pattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    let direct = p.matches(event).expect("event is JSON");
    let compiled = Matcher::with_rules([("rule", p)]);
    let via_matcher = !compiled.matches(event).expect("event is JSON").is_empty();
    assert_eq!(direct, via_matcher, "evaluator and matcher disagree on {pattern} / {event}");
    direct
}

/// Runs (pattern, event, expected) rows.
fn table(rows: &[(&str, &str, bool)]) {
    for (pattern, event, expected) in rows {
        assert_eq!(check(pattern, event), *expected, "pattern {pattern} on event {event}");
    }
}

#[test]
fn exact_values_match_by_json_type() {
    table(&[
        (r#"{"source":["aws.ec2"]}"#, r#"{"source":"aws.ec2"}"#, true),
        (r#"{"source":["aws.ec2","aws.s3"]}"#, r#"{"source":"aws.s3"}"#, true),
        (r#"{"source":["aws.ec2"]}"#, r#"{"source":"AWS.EC2"}"#, false),
        (r#"{"source":["aws.ec2"]}"#, r#"{"other":"aws.ec2"}"#, false),
        (r#"{"n":[5]}"#, r#"{"n":"5"}"#, false),
        (r#"{"n":["5"]}"#, r#"{"n":5}"#, false),
        (r#"{"b":[true]}"#, r#"{"b":true}"#, true),
        (r#"{"b":[true]}"#, r#"{"b":"true"}"#, false),
        (r#"{"b":[false]}"#, r#"{"b":true}"#, false),
        (r#"{"z":[null]}"#, r#"{"z":null}"#, true),
        (r#"{"z":[null]}"#, r#"{"z":""}"#, false),
        (r#"{"z":[null]}"#, r#"{}"#, false),
        (r#"{"z":[null]}"#, r#"{"z":[]}"#, false),
        (r#"{"z":[""]}"#, r#"{"z":""}"#, true),
        (r#"{"z":[""]}"#, r#"{"z":null}"#, false),
        (r#"{"s":["é\n\u00e9"]}"#, r#"{"s":"\u00e9\né"}"#, true),
        (r#"{"s":["{\"a\":1}"]}"#, r#"{"s":{"a":1}}"#, false),
    ]);
}

#[test]
fn numbers_match_by_value_and_by_literal() {
    table(&[
        (r#"{"n":[300]}"#, r#"{"n":300.0}"#, true),
        (r#"{"n":[300]}"#, r#"{"n":3e2}"#, true),
        (r#"{"n":[3.0e2]}"#, r#"{"n":300}"#, true),
        (r#"{"n":[1e2]}"#, r#"{"n":100}"#, true),
        (r#"{"n":[0]}"#, r#"{"n":-0}"#, true),
        (r#"{"n":[-0.0]}"#, r#"{"n":0}"#, true),
        (r#"{"n":[300]}"#, r#"{"n":300.000001}"#, false),
        (r#"{"n":[1.7976931348623157e308]}"#, r#"{"n":17976931348623157e292}"#, true),
        (r#"{"n":[5e-324]}"#, r#"{"n":0.5E-323}"#, true),
        // Not the double's shortest form, so not comparable: only its own text matches.
        (r#"{"n":[5e-324]}"#, r#"{"n":4.9406564584124654e-324}"#, false),
        // Not exactly representable: only the same literal text matches.
        (r#"{"n":[123456789012345678901234567890]}"#, r#"{"n":123456789012345678901234567890}"#, true),
        (r#"{"n":[123456789012345678901234567890]}"#, r#"{"n":1.2345678901234567890123456789e29}"#, false),
        (r#"{"n":[1e400]}"#, r#"{"n":1e400}"#, true),
        (r#"{"n":[1e400]}"#, r#"{"n":1E400}"#, false),
    ]);
}

#[test]
fn prefix_suffix_and_ignore_case() {
    table(&[
        (r#"{"t":[{"prefix":"2017-10-02"}]}"#, r#"{"t":"2017-10-02T12:00:00Z"}"#, true),
        (r#"{"t":[{"prefix":"2017-10-02"}]}"#, r#"{"t":"2017-10-03"}"#, false),
        (r#"{"t":[{"prefix":""}]}"#, r#"{"t":"anything"}"#, true),
        (r#"{"t":[{"prefix":""}]}"#, r#"{"t":5}"#, false),
        (r#"{"t":[{"prefix":"1"}]}"#, r#"{"t":123}"#, false),
        (r#"{"f":[{"suffix":".png"}]}"#, r#"{"f":"image.png"}"#, true),
        (r#"{"f":[{"suffix":".png"}]}"#, r#"{"f":"image.PNG"}"#, false),
        (r#"{"f":[{"suffix":""}]}"#, r#"{"f":""}"#, true),
        (r#"{"f":[{"suffix":{"equals-ignore-case":".PNG"}}]}"#, r#"{"f":"image.png"}"#, true),
        (r#"{"f":[{"suffix":{"equals-ignore-case":".PNG"}}]}"#, r#"{"f":"image.jpg"}"#, false),
        (r#"{"f":[{"prefix":{"equals-ignore-case":"EventB"}}]}"#, r#"{"f":"eventbridge"}"#, true),
        (r#"{"f":[{"prefix":{"equals-ignore-case":"EventB"}}]}"#, r#"{"f":"event"}"#, false),
        (r#"{"d":[{"equals-ignore-case":"ALICE"}]}"#, r#"{"d":"alice"}"#, true),
        (r#"{"d":[{"equals-ignore-case":"ALICE"}]}"#, r#"{"d":"AlIcE"}"#, true),
        (r#"{"d":[{"equals-ignore-case":"ALICE"}]}"#, r#"{"d":"alicia"}"#, false),
        (r#"{"d":[{"equals-ignore-case":"ÄÖÜ"}]}"#, r#"{"d":"äöü"}"#, true),
        (r#"{"d":[{"equals-ignore-case":""}]}"#, r#"{"d":""}"#, true),
        (r#"{"d":[{"equals-ignore-case":""}]}"#, r#"{"d":"x"}"#, false),
        (r#"{"d":[{"equals-ignore-case":"5"}]}"#, r#"{"d":5}"#, false),
        (r#"{"d":[{"exactly":"x"}]}"#, r#"{"d":"x"}"#, true),
    ]);
}

#[test]
fn wildcard_with_escapes() {
    table(&[
        (r#"{"f":[{"wildcard":"dir/*.png"}]}"#, r#"{"f":"dir/a/b.png"}"#, true),
        (r#"{"f":[{"wildcard":"dir/*.png"}]}"#, r#"{"f":"dir/a.jpg"}"#, false),
        (r#"{"f":[{"wildcard":"a\\*b"}]}"#, r#"{"f":"a*b"}"#, true),
        (r#"{"f":[{"wildcard":"a\\*b"}]}"#, r#"{"f":"axb"}"#, false),
        (r#"{"f":[{"wildcard":"a\\\\*"}]}"#, r#"{"f":"a\\tail"}"#, true),
        (r#"{"f":[{"wildcard":""}]}"#, r#"{"f":""}"#, true),
        (r#"{"f":[{"wildcard":""}]}"#, r#"{"f":"x"}"#, false),
        (r#"{"f":[{"wildcard":"*"}]}"#, r#"{"f":5}"#, false),
        (
            r#"{"f":[{"wildcard":"/Users/*/dir/dir/dir/dir/dir/doc.txt"}]}"#,
            r#"{"f":"/Users/ls_user/dir/dir/dir/dir/dir/doc.txt"}"#,
            true,
        ),
        (
            r#"{"f":[{"wildcard":"arn:aws:events:*:*:event-bus/*"}]}"#,
            r#"{"f":"arn:aws:events:us-east-1:123456789012:event-bus/b"}"#,
            true,
        ),
    ]);
}

#[test]
fn anything_but_every_form() {
    table(&[
        (r#"{"s":[{"anything-but":"x"}]}"#, r#"{"s":"y"}"#, true),
        (r#"{"s":[{"anything-but":"x"}]}"#, r#"{"s":"x"}"#, false),
        (r#"{"s":[{"anything-but":"x"}]}"#, r#"{"s":null}"#, true),
        (r#"{"s":[{"anything-but":"x"}]}"#, r#"{}"#, false),
        (r#"{"s":[{"anything-but":"5"}]}"#, r#"{"s":5}"#, true),
        (r#"{"s":[{"anything-but":["a","b"]}]}"#, r#"{"s":"b"}"#, false),
        (r#"{"s":[{"anything-but":["a","b"]}]}"#, r#"{"s":"c"}"#, true),
        (r#"{"n":[{"anything-but":123}]}"#, r#"{"n":123.0}"#, false),
        (r#"{"n":[{"anything-but":0}]}"#, r#"{"n":789}"#, true),
        (r#"{"n":[{"anything-but":[100,200]}]}"#, r#"{"n":2e2}"#, false),
        (r#"{"n":[{"anything-but":[100,200]}]}"#, r#"{"n":"100"}"#, true),
        (r#"{"s":[{"anything-but":{"prefix":"init"}}]}"#, r#"{"s":"initializing"}"#, false),
        (r#"{"s":[{"anything-but":{"prefix":"init"}}]}"#, r#"{"s":"running"}"#, true),
        (r#"{"s":[{"anything-but":{"prefix":"init"}}]}"#, r#"{"s":123}"#, true),
        (r#"{"s":[{"anything-but":{"prefix":"init"}}]}"#, r#"{"s":null}"#, true),
        (r#"{"s":[{"anything-but":{"prefix":["init","err"]}}]}"#, r#"{"s":"error"}"#, false),
        (r#"{"s":[{"anything-but":{"suffix":".txt"}}]}"#, r#"{"s":"a.txt"}"#, false),
        (r#"{"s":[{"anything-but":{"suffix":[".txt",".md"]}}]}"#, r#"{"s":"a.png"}"#, true),
        (r#"{"s":[{"anything-but":{"equals-ignore-case":"X"}}]}"#, r#"{"s":"x"}"#, false),
        (r#"{"s":[{"anything-but":{"equals-ignore-case":["X","Y"]}}]}"#, r#"{"s":"z"}"#, true),
        (r#"{"s":[{"anything-but":{"equals-ignore-case":["X","Y"]}}]}"#, r#"{"s":"y"}"#, false),
        (r#"{"s":[{"anything-but":{"wildcard":"*/lib/*"}}]}"#, r#"{"s":"/usr/lib/x"}"#, false),
        (r#"{"s":[{"anything-but":{"wildcard":["*/lib/*","*.so"]}}]}"#, r#"{"s":"/bin/x"}"#, true),
        (r#"{"s":[{"anything-but":{"wildcard":""}}]}"#, r#"{"s":"x"}"#, true),
        (r#"{"s":[{"anything-but":{"wildcard":"*"}}]}"#, r#"{"s":5}"#, true),
        // Arrays in the event: one element other than the excluded ones is enough.
        (r#"{"s":[{"anything-but":"x"}]}"#, r#"{"s":["x","y"]}"#, true),
        (r#"{"s":[{"anything-but":"x"}]}"#, r#"{"s":["x"]}"#, false),
        // Several anything-but entries are ORed, so together they exclude nothing.
        (r#"{"s":[{"anything-but":"a"},{"anything-but":"b"}]}"#, r#"{"s":"a"}"#, true),
    ]);
}

#[test]
fn numeric_comparisons_and_ranges() {
    table(&[
        (r#"{"n":[{"numeric":["=",100]}]}"#, r#"{"n":100.0}"#, true),
        (r#"{"n":[{"numeric":["=",100]}]}"#, r#"{"n":"100"}"#, false),
        (r#"{"n":[{"numeric":[">",0,"<=",5]}]}"#, r#"{"n":5}"#, true),
        (r#"{"n":[{"numeric":[">",0,"<=",5]}]}"#, r#"{"n":0}"#, false),
        (r#"{"n":[{"numeric":[">=",0,"<",5]}]}"#, r#"{"n":0}"#, true),
        (r#"{"n":[{"numeric":[">=",0,"<",5]}]}"#, r#"{"n":5}"#, false),
        (r#"{"n":[{"numeric":["<",10]}]}"#, r#"{"n":-1e300}"#, true),
        (r#"{"n":[{"numeric":["<=",10]}]}"#, r#"{"n":10.0}"#, true),
        (r#"{"n":[{"numeric":[">",10]}]}"#, r#"{"n":10}"#, false),
        (r#"{"n":[{"numeric":[">",-5e9,"<",5e9]}]}"#, r#"{"n":4999999999.999999}"#, true),
        (r#"{"n":[{"numeric":[">=",5e9]}]}"#, r#"{"n":5000000000}"#, true),
        (r#"{"n":[{"numeric":[">",5e9]}]}"#, r#"{"n":1e300}"#, true),
        (r#"{"n":[{"numeric":[">",0.1,"<",0.3]}]}"#, r#"{"n":0.2}"#, true),
        (r#"{"n":[{"numeric":[">",0]}]}"#, r#"{"n":null}"#, false),
        (r#"{"n":[{"numeric":[">",0]}]}"#, r#"{"n":[-1,3]}"#, true),
        // Not exactly representable: no numeric comparison at all.
        (r#"{"n":[{"numeric":[">",0]}]}"#, r#"{"n":0.30000000000000001}"#, false),
        (r#"{"n":[{"numeric":[">",0,"<",10]},{"numeric":[">",20]}]}"#, r#"{"n":25}"#, true),
        (r#"{"n":[{"numeric":[">",0,"<",10]},{"numeric":[">",20]}]}"#, r#"{"n":15}"#, false),
    ]);
}

#[test]
fn exists() {
    table(&[
        (r#"{"c":[{"exists":true}]}"#, r#"{"c":"x"}"#, true),
        (r#"{"c":[{"exists":true}]}"#, r#"{"c":null}"#, true),
        (r#"{"c":[{"exists":true}]}"#, r#"{}"#, false),
        (r#"{"c":[{"exists":true}]}"#, r#"{"c":[]}"#, false),
        (r#"{"c":[{"exists":true}]}"#, r#"{"c":{"d":1}}"#, false),
        (r#"{"c":[{"exists":false}]}"#, r#"{}"#, true),
        (r#"{"c":[{"exists":false}]}"#, r#"{"c":[]}"#, true),
        (r#"{"c":[{"exists":false}]}"#, r#"{"c":{"d":1}}"#, true),
        (r#"{"c":[{"exists":false}]}"#, r#"{"c":0}"#, false),
        (r#"{"a":["x"],"c":[{"exists":false}]}"#, r#"{"a":"x"}"#, true),
        (r#"{"a":["x"],"c":[{"exists":false}]}"#, r#"{"a":"y"}"#, false),
        (r#"{"h":{"S":[{"anything-but":["roses"]},{"exists":false}]}}"#, r#"{"p":{"N":"1"}}"#, true),
        (r#"{"h":{"S":[{"anything-but":["roses"]},{"exists":false}]}}"#, r#"{"h":{"S":"roses"}}"#, false),
        (r#"{"h":{"S":[{"anything-but":["roses"]},{"exists":false}]}}"#, r#"{"h":{"S":"tulips"}}"#, true),
    ]);
}

#[test]
fn cidr_v4_and_v6() {
    table(&[
        (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, r#"{"ip":"10.0.0.255"}"#, true),
        (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, r#"{"ip":"10.0.1.0"}"#, false),
        (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, r#"{"ip":"not an ip"}"#, false),
        (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, r#"{"ip":167772161}"#, false),
        (
            r#"{"ip":[{"cidr":"2001:db8:1234:1a00::/64"}]}"#,
            r#"{"ip":"2001:0db8:1234:1a00:0000:0000:0000:0000"}"#,
            true,
        ),
        (
            r#"{"ip":[{"cidr":"2001:db8:1234:1a00::/64"}]}"#,
            r#"{"ip":"2001:db8:1234:1a00:dead:beef::1"}"#,
            true,
        ),
        (r#"{"ip":[{"cidr":"2001:db8:1234:1a00::/64"}]}"#, r#"{"ip":"2001:db8:1234:1a01::"}"#, false),
        (r#"{"ip":[{"cidr":"::/1"}]}"#, r#"{"ip":"10.0.0.1"}"#, false),
        // An exact address matches any spelling of it.
        (r#"{"ip":["2001:db8::1"]}"#, r#"{"ip":"2001:0db8:0:0:0:0:0:1"}"#, true),
        (r#"{"ip":["10.0.0.1"]}"#, r#"{"ip":"10.0.0.2"}"#, false),
    ]);
}

#[test]
fn or_at_any_level_and_nested() {
    table(&[
        (r#"{"$or":[{"a":["1"]},{"b":["2"]}]}"#, r#"{"b":"2"}"#, true),
        (r#"{"$or":[{"a":["1"]},{"b":["2"]}]}"#, r#"{"c":"2"}"#, false),
        (r#"{"s":["x"],"$or":[{"a":["1"]},{"b":["2"]}]}"#, r#"{"s":"x","a":"1"}"#, true),
        (r#"{"s":["x"],"$or":[{"a":["1"]},{"b":["2"]}]}"#, r#"{"s":"y","a":"1"}"#, false),
        (
            r#"{"d":{"$or":[{"c":[{"numeric":[">",0,"<=",5]}]},{"x":[{"numeric":["=",3.018e2]}]}]}}"#,
            r#"{"d":{"x":301.8}}"#,
            true,
        ),
        (
            r#"{"$or":[{"a":["1"],"$or":[{"b":["2"]},{"c":["3"]}]},{"d":["4"]}]}"#,
            r#"{"a":"1","c":"3"}"#,
            true,
        ),
        (r#"{"$or":[{"a":["1"],"$or":[{"b":["2"]},{"c":["3"]}]},{"d":["4"]}]}"#, r#"{"a":"1"}"#, false),
        (r#"{"$or":[{"a":["1"],"$or":[{"b":["2"]},{"c":["3"]}]},{"d":["4"]}]}"#, r#"{"d":"4"}"#, true),
        (r#"{"$or":[{"a":["1"]},{"b":["2"]}],"$or2":["x"]}"#, r#"{"a":"1","$or2":"x"}"#, true),
        (r#"{"$or":[{"a":[{"exists":false}]},{"b":["2"]}]}"#, r#"{"c":1}"#, true),
    ]);
}

#[test]
fn dots_duplicates_and_nesting() {
    table(&[
        (r#"{"detail":{"state.status":["on"]}}"#, r#"{"detail":{"state":{"status":"on"}}}"#, true),
        (r#"{"detail":{"state":{"status":["on"]}}}"#, r#"{"detail":{"state.status":"on"}}"#, true),
        (r#"{"detail.state":{"status":["on"]}}"#, r#"{"detail":{"state":{"status":"off"}}}"#, false),
        (r#"{"a":["1"],"a":["2"]}"#, r#"{"a":"2"}"#, true),
        (r#"{"a":["1"],"a":["2"]}"#, r#"{"a":"1"}"#, false),
        (r#"{"a":{"b":["1"]},"a.b":["2"]}"#, r#"{"a":{"b":"2"}}"#, true),
        (r#"{"a":{"b":["1"]},"a.b":["2"]}"#, r#"{"a":{"b":"1"}}"#, false),
        (r#"{"a":{"b":["1"]},"a":{"c":["2"]}}"#, r#"{"a":{"b":"1","c":"2"}}"#, true),
        (r#"{"Key":["x"]}"#, r#"{"key":"x"}"#, false),
        (r#"{"a":{"b":{"c":{"d":["deep"]}}}}"#, r#"{"a":{"b":{"c":{"d":"deep","e":1}},"f":[1,2]}}"#, true),
        (r#"{"":["empty key"]}"#, r#"{"":"empty key"}"#, true),
    ]);
}

#[test]
fn arrays_on_either_side() {
    table(&[
        (r#"{"r":["a","b"]}"#, r#"{"r":["c","b"]}"#, true),
        (r#"{"r":["a","b"]}"#, r#"{"r":["c","d"]}"#, false),
        (r#"{"r":["a"]}"#, r#"{"r":[["a"]]}"#, true),
        (r#"{"a":{"b":["x"]}}"#, r#"{"a":[{"b":"y"},{"b":"x"}]}"#, true),
        // Fields from one rule must come from the same array element.
        (r#"{"a":{"b":["1"],"c":["2"]}}"#, r#"{"a":[{"b":"1","c":"9"},{"b":"9","c":"2"}]}"#, false),
        (r#"{"a":{"b":["1"],"c":["2"]}}"#, r#"{"a":[{"b":"1","c":"9"},{"b":"1","c":"2"}]}"#, true),
        (r#"{"a":{"b":["1"]},"z":["top"]}"#, r#"{"a":[{"b":"1"}],"z":"top"}"#, true),
        // Fields in different arrays do not constrain each other.
        (
            r#"{"a":{"b":["1"]},"x":{"y":["2"]}}"#,
            r#"{"a":[{"b":"0"},{"b":"1"}],"x":[{"y":"2"},{"y":"0"}]}"#,
            true,
        ),
        // Nested arrays: the inner element index matters only inside the same outer element.
        (r#"{"a":{"b":{"c":["1"],"d":["2"]}}}"#, r#"{"a":[{"b":[{"c":"1"},{"d":"2"}]}]}"#, false),
        (r#"{"a":{"b":{"c":["1"],"d":["2"]}}}"#, r#"{"a":[{"b":[{"c":"1","d":"2"}]}]}"#, true),
        (r#"{"a":{"b":["1"],"c":[{"exists":true}]}}"#, r#"{"a":[{"b":"1"},{"c":0}]}"#, false),
        (r#"{"r":[{"prefix":"arn:"}]}"#, r#"{"r":[]}"#, false),
    ]);
}

#[test]
fn events_that_are_not_objects_match_nothing() {
    let p = Pattern::parse(r#"{"a":[{"exists":false}]}"#).expect("valid");
    assert!(p.matches("[1,2]").expect("json"));
    assert!(!Pattern::parse(r#"{"a":["x"]}"#).expect("valid").matches("\"x\"").expect("json"));
    assert!(matches!(p.matches("{"), Err(crate::PatternError::InvalidEvent(_))));
    assert_eq!(p.matches("{").expect_err("not json").to_string(), "Parameter Event is not valid.");
}

#[test]
fn serde_json_values_are_accepted() {
    let p = Pattern::parse(r#"{"n":[300],"s":[{"prefix":"a"}]}"#).expect("valid");
    let event = serde_json::json!({"n": 300.0, "s": "abc"});
    assert!(p.matches_value(&event));
    let m = Matcher::with_rules([(1, p)]);
    assert_eq!(m.matches_value(&event), [&1]);
}

#[test]
fn matcher_names_each_matching_rule_once_and_forgets_removed_ones() {
    let rules = [
        ("exact", r#"{"source":["shop"]}"#),
        ("prefix", r#"{"source":[{"prefix":"sh"}]}"#),
        ("or", r#"{"$or":[{"source":["shop"]},{"detail-type":["OrderPlaced"]}]}"#),
        ("other", r#"{"source":["bank"]}"#),
        ("numeric", r#"{"detail":{"total":[{"numeric":[">",100]}]}}"#),
    ];
    let mut m = Matcher::with_rules(rules.iter().map(|(n, p)| (*n, Pattern::parse(p).expect(p))));
    let event = r#"{"source":"shop","detail-type":"OrderPlaced","detail":{"total":250}}"#;
    assert_eq!(m.matches(event).expect("json"), [&"exact", &"numeric", &"or", &"prefix"]);
    assert!(m.remove(&"or"));
    assert!(!m.remove(&"or"));
    assert_eq!(m.matches(event).expect("json"), [&"exact", &"numeric", &"prefix"]);
    m.add("exact", Pattern::parse(r#"{"source":["nope"]}"#).expect("valid"));
    assert_eq!(m.matches(event).expect("json"), [&"numeric", &"prefix"]);
    assert_eq!(m.len(), 4);
}

#[test]
fn matches_come_in_name_order_whether_few_or_many_rules_match() {
    // Names inserted out of order; a few matches take the sorting path, many the bitmap one.
    let names: Vec<String> = (0..1000).rev().map(|i| format!("rule-{i:04}")).collect();
    let mut m = Matcher::with_rules(names.iter().enumerate().map(|(k, name)| {
        let pattern =
            if k % 100 == 0 { r#"{"a":[{"exists":true}]}"#.to_owned() } else { format!(r#"{{"n":[{k}]}}"#) };
        (name.clone(), Pattern::parse(&pattern).expect("valid"))
    }));
    let few = m.matches(r#"{"n":7,"b":1}"#).expect("json");
    assert_eq!(few, [&names[7]]);
    let mut expected: Vec<String> = names.iter().step_by(100).chain([&names[251]]).cloned().collect();
    expected.sort();
    assert_eq!(expected.len(), 11);
    assert_eq!(m.matches(r#"{"n":251,"a":"x"}"#).expect("json"), expected.iter().collect::<Vec<_>>());
    // Everything matches at once: the bitmap path, each name once.
    m = Matcher::with_rules(
        names.iter().map(|n| (n.clone(), Pattern::parse(r#"{"a":[{"anything-but":"z"}]}"#).expect("valid"))),
    );
    let everything = m.matches(r#"{"a":["x","y"]}"#).expect("json");
    assert_eq!(everything.len(), 1000);
    assert!(everything.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn rules_with_a_common_start_share_states() {
    let m = Matcher::with_rules((0..100).map(|i| {
        (i, Pattern::parse(&format!(r#"{{"account":["1"],"detail":{{"id":["{i}"]}}}}"#)).expect("valid"))
    }));
    // Fields are walked in path order: root, one shared state after `account`, then one state
    // per rule after `detail.id`.
    assert_eq!(m.state_count(), 102);
}

#[test]
fn uses_wildcard_is_reported_for_the_quota() {
    assert!(Pattern::parse(r#"{"a":[{"wildcard":"x*"}]}"#).expect("valid").uses_wildcard());
    assert!(!Pattern::parse(r#"{"a":[{"prefix":"x"}]}"#).expect("valid").uses_wildcard());
}

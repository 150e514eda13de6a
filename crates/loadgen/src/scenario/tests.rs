//! Scenario names and the names write scenarios make.

use crate::scenario::{Op, Options, Scenario};

#[test]
fn names_round_trip() {
    for scenario in Scenario::ALL {
        assert_eq!(scenario.name().parse::<Scenario>(), Ok(scenario));
    }
    let unknown = "s3-put".parse::<Scenario>().expect_err("not a scenario yet");
    assert!(unknown.contains("iam-get-role"), "{unknown}");
}

#[test]
fn created_role_names_are_unique_and_within_iam_limits() {
    let create = |worker, seq| {
        let call =
            Scenario::IamCreateDeleteRole.call(Op { run: "ffffffff", worker, seq }, &Options::default());
        String::from_utf8(call.body.to_vec()).expect("form bodies are text")
    };
    let longest = create(usize::MAX, u64::MAX);
    let name = longest.split("RoleName=").nth(1).and_then(|s| s.split('&').next()).expect("has a RoleName");
    assert!(name.len() <= 64, "{name} is longer than IAM allows");
    assert_ne!(create(0, 1), create(1, 0));
    assert!(Scenario::IamCreateDeleteRole.has_undo());
    assert!(!Scenario::IamGetRole.has_undo());
}

use crate::{Error, Number};

#[test]
fn canonical_form_is_plain_and_minimal() {
    let cases = [
        ("1.0", "1"),
        ("01", "1"),
        ("-0", "0"),
        ("0.000", "0"),
        ("+7", "7"),
        (".5", "0.5"),
        ("5.", "5"),
        ("1e3", "1000"),
        ("1E+3", "1000"),
        ("-1.50e-2", "-0.015"),
        ("123.456", "123.456"),
        ("0.001", "0.001"),
        (
            "1e-130",
            "0.0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001",
        ),
        ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
        ("1000000000000000000000000000000000000000000", "1000000000000000000000000000000000000000000"),
        ("0000000000000000000000000000000000000000001", "1"),
    ];
    for (input, expected) in cases {
        assert_eq!(Number::parse(input).map(|n| n.to_string()), Ok(expected.to_owned()), "{input}");
    }
}

#[test]
fn refusals_in_dynamodb_order() {
    let cases = [
        ("", Error::NotANumber(String::new())),
        ("abc", Error::NotANumber("abc".into())),
        ("1.2.3", Error::NotANumber("1.2.3".into())),
        ("1e", Error::NotANumber("1e".into())),
        (" 1", Error::NotANumber(" 1".into())),
        ("0x10", Error::NotANumber("0x10".into())),
        ("NaN", Error::NotANumber("NaN".into())),
        ("-", Error::NotANumber("-".into())),
        (".", Error::NotANumber(".".into())),
        ("123456789012345678901234567890123456789", Error::NumberPrecision),
        ("-1.23456789012345678901234567890123456789", Error::NumberPrecision),
        ("1e126", Error::NumberOverflow),
        ("-1e126", Error::NumberOverflow),
        ("1e-131", Error::NumberUnderflow),
        ("-1e-131", Error::NumberUnderflow),
        ("1e99999999999999999999999", Error::NumberOverflow),
        ("1e-99999999999999999999999", Error::NumberUnderflow),
    ];
    for (input, expected) in cases {
        assert_eq!(Number::parse(input), Err(expected), "{input}");
    }
    // The edges of the range are fine.
    assert!(Number::parse("9.9999999999999999999999999999999999999E+125").is_ok());
    assert!(Number::parse("1E-130").is_ok());
}

#[test]
fn comparison_is_exact() {
    let n = |s: &str| Number::parse(s).expect("valid");
    let ascending = [
        "-1e125",
        "-10",
        "-1.5",
        "-1",
        "-0.0001",
        "0",
        "1e-130",
        "0.5",
        "1",
        "1.0000000000000000000000000000000000001",
        "2",
        "10",
        "1e125",
    ];
    for pair in ascending.windows(2) {
        assert!(n(pair[0]) < n(pair[1]), "{} < {}", pair[0], pair[1]);
    }
    assert_eq!(n("1.0"), n("1"));
    assert_eq!(n("100"), n("1e2"));
}

#[test]
fn arithmetic_is_exact() {
    let n = |s: &str| Number::parse(s).expect("valid");
    let sums = [
        ("1", "2", "3"),
        ("0.1", "0.2", "0.3"),
        ("-1", "1", "0"),
        ("-5", "3", "-2"),
        ("5", "-7.5", "-2.5"),
        ("99999999999999999999999999999999999999", "-1", "99999999999999999999999999999999999998"),
        ("1e125", "-1e125", "0"),
        ("12345678901234567890123456789012345678", "0", "12345678901234567890123456789012345678"),
        ("0.0000000000000000000000000000000000001", "1", "1.0000000000000000000000000000000000001"),
    ];
    for (a, b, sum) in sums {
        assert_eq!(n(a).checked_add(&n(b)).map(|x| x.to_string()), Ok(sum.to_owned()), "{a} + {b}");
        assert_eq!(n(sum).checked_sub(&n(b)), Ok(n(a)), "{sum} - {b}");
    }
    assert_eq!(
        n("99999999999999999999999999999999999999").checked_add(&n("1")).map(|x| x.to_string()),
        Ok("100000000000000000000000000000000000000".to_owned())
    );
    assert_eq!(n("1e100").checked_add(&n("1")), Err(Error::NumberPrecision));
    assert_eq!(
        n("9.9999999999999999999999999999999999999e125").checked_add(&n("1e125")),
        Err(Error::NumberOverflow)
    );
    assert_eq!(n("1e-130").checked_sub(&n("1.1e-130")).map(|x| x.to_string()), Err(Error::NumberUnderflow));
}

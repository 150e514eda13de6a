//! The IAM policy a Lambda authorizer returns, evaluated against the method ARN of the request
//! (`arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{VERB}/{path}`) the way API Gateway
//! does: an explicit `Deny` wins, otherwise one `Allow` must match; `*` in a resource or action
//! matches any run of characters (slashes too) and `?` any one character. Pure.

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Allow,
    ExplicitDeny,
    /// No statement allowed the call.
    ImplicitDeny,
}

/// The policy document is not one API Gateway can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BadPolicy(pub &'static str);

/// Evaluates `document` (`{"Version", "Statement": [...]}`, a statement may also stand alone).
pub(crate) fn evaluate(document: &Value, method_arn: &str) -> Result<Decision, BadPolicy> {
    let Value::Object(doc) = document else { return Err(BadPolicy("policyDocument is not an object")) };
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return Err(BadPolicy("policyDocument has no Statement")),
    };
    let mut allowed = false;
    for statement in statements {
        let Value::Object(st) = statement else { return Err(BadPolicy("a Statement is not an object")) };
        let effect =
            st.get("Effect").and_then(Value::as_str).ok_or(BadPolicy("a Statement has no Effect"))?;
        let actions = strings(st.get("Action")).ok_or(BadPolicy("a Statement has no Action"))?;
        let resources = strings(st.get("Resource")).ok_or(BadPolicy("a Statement has no Resource"))?;
        let applies = actions.iter().any(|a| glob(&a.to_ascii_lowercase(), "execute-api:invoke"))
            && resources.iter().any(|r| glob(r, method_arn));
        if !applies {
            continue;
        }
        match effect {
            "Deny" => return Ok(Decision::ExplicitDeny),
            "Allow" => allowed = true,
            _ => return Err(BadPolicy("an Effect is neither Allow nor Deny")),
        }
    }
    Ok(if allowed { Decision::Allow } else { Decision::ImplicitDeny })
}

/// A string or a list of strings.
fn strings(v: Option<&Value>) -> Option<Vec<&str>> {
    match v? {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(list) => list.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// Whether `text` matches `pattern` with `*` (any run) and `?` (any one character).
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with backtracking to the last `*`: linear in practice, no recursion.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ARN: &str = "arn:aws:execute-api:us-east-1:000000000000:abc/dev/GET/pets/7";

    fn policy(statements: Value) -> Value {
        json!({ "Version": "2012-10-17", "Statement": statements })
    }

    #[test]
    fn wildcards() {
        assert!(glob("arn:aws:execute-api:*:*:abc/*", ARN));
        assert!(glob("arn:aws:execute-api:us-east-1:000000000000:abc/dev/GET/pets/?", ARN));
        assert!(!glob("arn:aws:execute-api:us-east-1:000000000000:abc/dev/POST/*", ARN));
        assert!(glob("*", ARN));
        assert!(!glob("arn:aws:execute-api:us-east-1:000000000000:abc/dev/GET/pets/??", ARN));
        assert!(glob("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn deny_wins_and_nothing_allowed_is_a_deny() {
        let allow =
            json!({"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:aws:execute-api:*"});
        let deny = json!({"Action": ["execute-api:*"], "Effect": "Deny", "Resource": [ARN]});
        assert_eq!(evaluate(&policy(json!([allow.clone()])), ARN), Ok(Decision::Allow));
        assert_eq!(evaluate(&policy(json!([allow.clone(), deny])), ARN), Ok(Decision::ExplicitDeny));
        let elsewhere = json!({"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:aws:execute-api:*:*:other/*"});
        assert_eq!(evaluate(&policy(json!([elsewhere])), ARN), Ok(Decision::ImplicitDeny));
        assert_eq!(evaluate(&policy(allow), ARN), Ok(Decision::Allow));
        assert!(evaluate(&json!({"Version": "2012-10-17"}), ARN).is_err());
        assert!(evaluate(&policy(json!([{"Effect": "Allow"}])), ARN).is_err());
        assert!(evaluate(&json!("nope"), ARN).is_err());
    }
}

//! JWT authorizers of HTTP APIs: the token from the identity source (a `Bearer ` prefix is
//! dropped), its RSA signature (`RS256`/`RS384`/`RS512`) checked against the issuer's JWKS by
//! `kid`, then the claims: `iss` equal to the configured issuer, `aud` (or, without one,
//! `client_id`) among the configured audiences, `exp` in the future, `nbf` in the past; and when
//! the route lists authorization scopes, one of them in `scope` or `scp`.
//!
//! A failed check answers 401 with a `WWW-Authenticate` header saying why; a token without the
//! route's scopes answers 403.

use std::collections::BTreeMap;

use aws_lc_rs::signature::{self, RsaParameters, RsaPublicKeyComponents};
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::Inner;
use crate::model::HttpAuthorizer;

use super::event::RequestInfo;

/// What a valid token hands the integration.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Verified {
    pub claims: Map<String, Value>,
    pub scopes: Option<Vec<String>>,
}

impl Verified {
    /// `requestContext.authorizer`: `{"jwt": {"claims": {...}, "scopes": [...]}}`, claim values
    /// as strings the way API Gateway passes them.
    pub(crate) fn context(&self) -> Value {
        let claims: Map<String, Value> = self
            .claims
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Array(items) => {
                        let parts: Vec<String> = items
                            .iter()
                            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                            .collect();
                        format!("[{}]", parts.join(" "))
                    }
                    other => other.to_string(),
                };
                (k.clone(), Value::String(text))
            })
            .collect();
        json!({ "jwt": { "claims": claims, "scopes": self.scopes } })
    }
}

/// Why a token was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum JwtRefusal {
    /// 401, with the reason for the `WWW-Authenticate` header.
    Unauthorized(String),
    /// 403: a valid token without any of the route's scopes.
    Forbidden,
}

fn invalid(reason: impl Into<String>) -> JwtRefusal {
    JwtRefusal::Unauthorized(reason.into())
}

pub(crate) async fn verify(
    inner: &Inner,
    authorizer: &HttpAuthorizer,
    info: &RequestInfo,
    route_key: &str,
    vars: &BTreeMap<String, String>,
    required_scopes: &[String],
) -> Result<Verified, JwtRefusal> {
    let source = authorizer.identity_source.first().map_or("$request.header.Authorization", String::as_str);
    let raw = super::auth::http_identity(source, info, route_key, vars).ok_or_else(|| invalid(""))?;
    let token = match raw.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => raw[7..].trim(),
        _ => raw.trim(),
    };
    let token = Token::parse(token)?;
    let config = authorizer.jwt_configuration.clone().unwrap_or_default();
    let issuer = config.issuer.unwrap_or_default();
    let kid =
        token.header.get("kid").and_then(Value::as_str).ok_or_else(|| invalid("the token has no kid"))?;
    let key = inner.limits.keys.key(&issuer, kid, inner.now_ms()).await.map_err(|e| {
        tracing::debug!(issuer, error = e, "JWT authorizer could not read the issuer's keys");
        invalid("the signing key could not be found")
    })?;
    token.check_signature(&key.n, &key.e)?;
    let now = inner.now_ms() / 1000;
    let scopes = check_claims(
        &token.claims,
        &issuer,
        config.audience.as_deref().unwrap_or_default(),
        now,
        required_scopes,
    )?;
    Ok(Verified { claims: token.claims, scopes })
}

/// A decoded, not yet verified, JWT.
struct Token {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signed: String,
    signature: Vec<u8>,
}

impl Token {
    fn parse(token: &str) -> Result<Token, JwtRefusal> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("the token is not a JWT"));
        };
        let decode =
            |p: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p.trim_end_matches('='));
        let object = |p: &str| -> Option<Map<String, Value>> {
            match serde_json::from_slice(&decode(p).ok()?).ok()? {
                Value::Object(m) => Some(m),
                _ => None,
            }
        };
        let (Some(header), Some(claims), Ok(signature)) = (object(h), object(c), decode(s)) else {
            return Err(invalid("the token is not a JWT"));
        };
        Ok(Token { header, claims, signed: format!("{h}.{c}"), signature })
    }

    fn check_signature(&self, n: &[u8], e: &[u8]) -> Result<(), JwtRefusal> {
        let params: &RsaParameters = match self.header.get("alg").and_then(Value::as_str) {
            Some("RS256") => &signature::RSA_PKCS1_2048_8192_SHA256,
            Some("RS384") => &signature::RSA_PKCS1_2048_8192_SHA384,
            Some("RS512") => &signature::RSA_PKCS1_2048_8192_SHA512,
            _ => return Err(invalid("the token's algorithm is not supported")),
        };
        RsaPublicKeyComponents { n, e }
            .verify(params, self.signed.as_bytes(), &self.signature)
            .map_err(|_| invalid("the token's signature is invalid"))
    }
}

/// Checks issuer, audience, time and scopes; returns the token's scopes.
fn check_claims(
    claims: &Map<String, Value>,
    issuer: &str,
    audiences: &[String],
    now: i64,
    required_scopes: &[String],
) -> Result<Option<Vec<String>>, JwtRefusal> {
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(invalid("the token has an invalid issuer"));
    }
    let aud: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => claims.get("client_id").and_then(Value::as_str).into_iter().collect(),
    };
    if !aud.iter().any(|a| audiences.iter().any(|want| want == a)) {
        return Err(invalid("the token does not have a valid audience"));
    }
    match claims.get("exp").and_then(Value::as_f64) {
        Some(exp) if exp > now as f64 => {}
        Some(_) => return Err(invalid("the token has expired")),
        None => return Err(invalid("the token has no expiration")),
    }
    if claims.get("nbf").and_then(Value::as_f64).is_some_and(|nbf| nbf > now as f64) {
        return Err(invalid("the token is not valid yet"));
    }
    let scopes: Option<Vec<String>> = match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) => Some(s.split_whitespace().map(str::to_owned).collect()),
        (_, Some(Value::Array(list))) => {
            Some(list.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        }
        (_, Some(Value::String(s))) => Some(s.split_whitespace().map(str::to_owned).collect()),
        _ => None,
    };
    if !required_scopes.is_empty() {
        let held = scopes.as_deref().unwrap_or_default();
        if !required_scopes.iter().any(|want| held.contains(want)) {
            return Err(JwtRefusal::Forbidden);
        }
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn claims_are_checked() {
        let aud = vec!["app".to_owned()];
        let good = claims(json!({"iss": "http://idp", "aud": "app", "exp": 2000, "scope": "read write"}));
        assert_eq!(
            check_claims(&good, "http://idp", &aud, 1000, &[]),
            Ok(Some(vec!["read".into(), "write".into()]))
        );
        assert_eq!(check_claims(&good, "http://idp", &aud, 1000, &["write".into()]).map(|_| ()), Ok(()));
        assert_eq!(
            check_claims(&good, "http://idp", &aud, 1000, &["admin".into()]),
            Err(JwtRefusal::Forbidden)
        );
        assert_eq!(
            check_claims(&good, "http://idp", &aud, 3000, &[]),
            Err(JwtRefusal::Unauthorized("the token has expired".into()))
        );
        assert!(check_claims(&good, "http://other", &aud, 1000, &[]).is_err());
        assert!(check_claims(&good, "http://idp", &["web".to_owned()], 1000, &[]).is_err());
        let client = claims(json!({"iss": "http://idp", "client_id": "app", "exp": 2000, "nbf": 1500}));
        assert!(check_claims(&client, "http://idp", &aud, 1000, &[]).is_err(), "not before");
        assert_eq!(check_claims(&client, "http://idp", &aud, 1600, &[]), Ok(None));
        let list = claims(json!({"iss": "http://idp", "aud": ["x", "app"], "exp": 2000, "scp": ["a"]}));
        assert_eq!(check_claims(&list, "http://idp", &aud, 1000, &["a".into()]), Ok(Some(vec!["a".into()])));
    }

    #[test]
    fn tokens_must_be_three_json_parts() {
        assert!(Token::parse("a.b").is_err());
        assert!(Token::parse("a.b.c.d").is_err());
        assert!(Token::parse("!!.e30.").is_err());
        let t = Token::parse("eyJhbGciOiJSUzI1NiJ9.e30.AQID").map_err(|_| ()).expect("parses");
        assert_eq!(t.header.get("alg"), Some(&json!("RS256")));
        assert_eq!(t.signature, vec![1, 2, 3]);
        assert!(t.check_signature(&[1, 0, 1], &[1, 0, 1]).is_err());
        let v =
            Verified { claims: claims(json!({"sub": "u", "exp": 5, "groups": ["a", "b"]})), scopes: None };
        assert_eq!(
            v.context(),
            json!({"jwt": {"claims": {"sub": "u", "exp": "5", "groups": "[a b]"}, "scopes": null}})
        );
    }
}

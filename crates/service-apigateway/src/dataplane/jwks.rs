//! The signing keys of a JWT authorizer's issuer: `{issuer}/.well-known/openid-configuration`
//! names the `jwks_uri`, whose JSON Web Key Set holds the RSA keys by `kid`. Fetched over HTTP or
//! HTTPS (API Gateway's limits: 1.5 s per fetch, 150 KB per document) and kept per issuer for a
//! few minutes; a `kid` not in the cached set triggers one refetch, so rotated keys are picked up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::lock;

const FETCH_TIMEOUT: Duration = Duration::from_millis(1500);
const MAX_DOCUMENT: usize = 150 * 1024;
/// How long a key set is trusted before it is fetched again.
const KEYS_TTL_MS: i64 = 5 * 60 * 1000;

/// One RSA public key: modulus and exponent, big-endian without leading zeros.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RsaKey {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

/// An issuer's keys by `kid`.
type KeySet = Arc<HashMap<String, RsaKey>>;

/// Key sets by issuer, with the time they were fetched.
#[derive(Default)]
pub(crate) struct KeyCache {
    sets: Mutex<HashMap<String, (i64, KeySet)>>,
}

impl KeyCache {
    /// The issuer's key `kid`, from the cache or a fresh fetch.
    pub(crate) async fn key(&self, issuer: &str, kid: &str, now_ms: i64) -> Result<RsaKey, String> {
        let cached = lock(&self.sets).get(issuer).cloned();
        if let Some((fetched, keys)) = &cached
            && now_ms - fetched < KEYS_TTL_MS
            && let Some(key) = keys.get(kid)
        {
            return Ok(key.clone());
        }
        let keys = Arc::new(fetch_keys(issuer).await?);
        lock(&self.sets).insert(issuer.to_owned(), (now_ms, keys.clone()));
        keys.get(kid).cloned().ok_or_else(|| format!("no key {kid} in the issuer's JWKS"))
    }
}

async fn fetch_keys(issuer: &str) -> Result<HashMap<String, RsaKey>, String> {
    let discovery = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let config = get_json(&discovery).await?;
    let jwks_uri =
        config.get("jwks_uri").and_then(Value::as_str).ok_or("no jwks_uri in the OpenID configuration")?;
    Ok(parse_jwks(&get_json(jwks_uri).await?))
}

/// The RSA signing keys of a JWKS document, by `kid`.
pub(crate) fn parse_jwks(doc: &Value) -> HashMap<String, RsaKey> {
    let mut keys = HashMap::new();
    for key in doc.get("keys").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        let field = |name: &str| key.get(name).and_then(Value::as_str);
        if field("kty") != Some("RSA") || field("use").is_some_and(|u| u != "sig") {
            continue;
        }
        let decode =
            |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok();
        let (Some(kid), Some(n), Some(e)) =
            (field("kid"), field("n").and_then(decode), field("e").and_then(decode))
        else {
            continue;
        };
        keys.insert(kid.to_owned(), RsaKey { n: strip_zeros(n), e: strip_zeros(e) });
    }
    keys
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// GETs `url` and reads a JSON document of at most [`MAX_DOCUMENT`] bytes.
async fn get_json(url: &str) -> Result<Value, String> {
    let mut req = outbound::Request::new(http::Method::GET, url);
    req.headers.insert(http::header::ACCEPT, http::HeaderValue::from_static("application/json"));
    let limits = outbound::Limits { timeout: FETCH_TIMEOUT, max_body: MAX_DOCUMENT };
    let answer = outbound::Client::system().send(req, limits).await.map_err(|e| e.to_string())?;
    if !answer.status.is_success() {
        return Err(format!("{url} answered {}", answer.status));
    }
    serde_json::from_slice(&answer.body).map_err(|e| format!("{url}: not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_rsa_signing_keys() {
        let doc = json!({"keys": [
            {"kty": "RSA", "kid": "a", "use": "sig", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "ec", "x": "AQAB"},
            {"kty": "RSA", "kid": "zeros", "n": "AAEC", "e": "AQAB"},
        ]});
        let keys = parse_jwks(&doc);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys["a"], RsaKey { n: vec![1, 0, 1], e: vec![1, 0, 1] });
        assert_eq!(keys["zeros"].n, vec![1, 2]);
    }
}

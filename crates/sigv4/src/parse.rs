//! Reading a request's signature — from the `Authorization` header or from presigned query
//! parameters — into a [`SignedRequest`], refusing malformed ones the way AWS does.
//!
//! The checks run in the order AWS's services run them, because a request with several faults
//! gets the first one's message: required parts, date format, `host` signed, algorithm,
//! credential shape, then the scope's terminator and date. Each refusal carries both the
//! query/JSON services' wording and S3's (see [`crate::SigError`]).

use http::HeaderMap;
use http::header::{AUTHORIZATION, DATE};
use time::OffsetDateTime;

use crate::error::{S3Rejection, SigError};
use crate::scope::{self, ALGORITHM, CredentialScope};
use crate::{date, encoding};

/// The longest `X-Amz-Expires` AWS accepts: seven days.
pub const MAX_EXPIRES: u32 = 604_800;

/// A request's signature, read but not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRequest {
    pub scope: CredentialScope,
    /// The `SignedHeaders` list as the client wrote it (AWS requires lower case, sorted).
    pub signed_headers: Vec<String>,
    /// The hex signature as provided.
    pub signature: String,
    /// When the request was signed: `X-Amz-Date` (header or query), else the `Date` header.
    pub timestamp: OffsetDateTime,
    /// That time as the string to sign spells it (`20150830T123600Z`).
    pub amz_date: String,
    /// Whether the signature came in the query string (a presigned URL).
    pub presigned: bool,
    /// `X-Amz-Expires` of a presigned request, in seconds (0..=[`MAX_EXPIRES`]).
    pub expires_in: Option<u32>,
    /// `x-amz-security-token` (header) or `X-Amz-Security-Token` (query), for temporary
    /// credentials. The caller checks it belongs to the access key.
    pub security_token: Option<String>,
}

impl SignedRequest {
    /// Whether the scope names S3, whose signing rules and error dialect differ.
    pub fn is_s3(&self) -> bool {
        self.scope.service == "s3"
    }
}

/// Reads the signature of a request. `Ok(None)` when the request is not signed at all; the
/// caller decides whether that is allowed (if not, [`SigError::MissingAuthenticationToken`]).
pub fn parse(req: &http::request::Parts) -> Result<Option<SignedRequest>, SigError> {
    let query = req.uri.query();
    let authorization = match req.headers.get(AUTHORIZATION) {
        // A value that is not text is nothing AWS could parse either; keep what can be shown.
        Some(v) => String::from_utf8_lossy(v.as_bytes()).trim().to_owned(),
        None => String::new(),
    };
    let has = |name: &str| encoding::query_param(query, name).is_some();
    let presigned = has("X-Amz-Algorithm") || has("X-Amz-Credential") || has("X-Amz-Signature");

    if !authorization.is_empty() {
        if has("X-Amz-Algorithm") {
            return Err(invalid(
                "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
                S3Rejection::new(
                    "InvalidArgument",
                    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query \
                     string parameter or the Authorization header should be specified",
                ),
            ));
        }
        if !authorization.starts_with("AWS4-") {
            let sigv2 = authorization.starts_with("AWS ");
            return Err(SigError::UnsupportedAuthorization { authorization, sigv2 });
        }
        return from_header(&authorization, &req.headers).map(Some);
    }
    if presigned {
        return from_query(query.unwrap_or_default(), &req.headers).map(Some);
    }
    if has("AWSAccessKeyId") && has("Signature") {
        return Err(SigError::UnsupportedAuthorization { authorization: String::new(), sigv2: true });
    }
    Ok(None)
}

fn from_header(authorization: &str, headers: &HeaderMap) -> Result<SignedRequest, SigError> {
    let (algorithm, rest) =
        authorization.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((authorization, ""));
    let components = "The authorization header is malformed; the authorization header requires three components: \
                      Credential, SignedHeaders, and Signature.";

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for token in rest.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter(|t| !t.is_empty()) {
        let Some((key, value)) = token.split_once('=') else {
            return Err(incomplete(
                format!(
                    "'{token}' not a valid key=value pair (missing equal-sign) in Authorization header: \
                     '{authorization}'."
                ),
                S3Rejection::new("AuthorizationHeaderMalformed", components),
            ));
        };
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    let credential = credential.filter(|c| !c.is_empty());
    let signature = signature.filter(|s| !s.is_empty());
    let amz_date = header_str(headers, "x-amz-date");
    let http_date = header_str(headers, DATE.as_str());

    let mut missing = String::new();
    if credential.is_none() {
        missing.push_str("Authorization header requires 'Credential' parameter. ");
    }
    if signature.is_none() {
        missing.push_str("Authorization header requires 'Signature' parameter. ");
    }
    // An empty SignedHeaders is accepted here; the `host` check refuses it next.
    if signed_headers.is_none() {
        missing.push_str("Authorization header requires 'SignedHeaders' parameter. ");
    }
    let no_date_s3 =
        S3Rejection::new("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
    if amz_date.is_none() && http_date.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    let (Some(credential), Some(signed_headers), Some(signature)) = (credential, signed_headers, signature)
    else {
        return Err(incomplete(
            format!("{missing}Authorization={authorization}"),
            S3Rejection::new("AuthorizationHeaderMalformed", components),
        ));
    };

    // AWS looks for X-Amz-Date first and falls back to Date.
    let (timestamp, amz_date) = match (amz_date, http_date) {
        (Some(v), _) => {
            let t = date::parse_basic(v).ok_or_else(|| bad_date(v, no_date_s3))?;
            (t, v.to_owned())
        }
        (None, Some(v)) => {
            let t = date::parse_basic(v)
                .or_else(|| date::parse_http(v))
                .ok_or_else(|| bad_date(v, no_date_s3))?;
            (t, date::basic(t))
        }
        (None, None) => {
            return Err(incomplete(format!("{missing}Authorization={authorization}"), no_date_s3));
        }
    };
    let signed_headers = split_signed_headers(signed_headers)?;
    if algorithm != ALGORITHM {
        return Err(incomplete(
            format!("Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} for now). "),
            S3Rejection::new("InvalidArgument", "Unsupported Authorization Type"),
        ));
    }
    let scope = parse_credential(credential, &amz_date, Place::Header)?;
    let security_token = header_str(headers, "x-amz-security-token").map(str::to_owned);
    let request = SignedRequest {
        scope,
        signed_headers,
        signature: signature.to_owned(),
        timestamp,
        amz_date,
        presigned: false,
        expires_in: None,
        security_token,
    };
    if request.is_s3() {
        s3_header_rules(&request, headers)?;
    }
    Ok(request)
}

fn from_query(query: &str, headers: &HeaderMap) -> Result<SignedRequest, SigError> {
    let param = |name: &str| encoding::query_param(Some(query), name).filter(|v| !v.is_empty());
    let algorithm = param("X-Amz-Algorithm");
    let credential = param("X-Amz-Credential");
    let signature = param("X-Amz-Signature");
    let signed_headers = param("X-Amz-SignedHeaders");
    let amz_date = param("X-Amz-Date");
    let expires = param("X-Amz-Expires");
    // S3 also requires X-Amz-Expires; the other services default it. The service is known only
    // from a readable credential.
    let s3 = credential.as_deref().and_then(scope::split).is_some_and(|s| s.service == "s3");

    let mut missing = String::new();
    for (name, value) in [
        ("X-Amz-Algorithm", &algorithm),
        ("X-Amz-Credential", &credential),
        ("X-Amz-Signature", &signature),
        ("X-Amz-SignedHeaders", &signed_headers),
        ("X-Amz-Date", &amz_date),
    ] {
        if value.is_none() {
            missing.push_str(&format!("AWS query-string parameters must include '{name}'. "));
        }
    }
    if s3 && expires.is_none() {
        missing.push_str("AWS query-string parameters must include 'X-Amz-Expires'. ");
    }
    let (Some(algorithm), Some(credential), Some(signature), Some(signed_headers), Some(amz_date)) =
        (algorithm, credential, signature, signed_headers, amz_date)
    else {
        return Err(required(missing));
    };
    if !missing.is_empty() {
        return Err(required(missing));
    }

    let timestamp = date::parse_basic(&amz_date).ok_or_else(|| {
        bad_date(
            &amz_date,
            query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""),
        )
    })?;
    let expires_in = expires.as_deref().map(parse_expires).transpose()?;
    let signed_headers = split_signed_headers(&signed_headers)?;
    if algorithm != ALGORITHM {
        return Err(incomplete(
            format!("Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} for now). "),
            query_error("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256 and AWS4-ECDSA-P256-SHA256\""),
        ));
    }
    let scope = parse_credential(&credential, &amz_date, Place::Query)?;
    let security_token = param("X-Amz-Security-Token")
        .or_else(|| header_str(headers, "x-amz-security-token").map(str::to_owned));
    Ok(SignedRequest {
        scope,
        signed_headers,
        signature,
        timestamp,
        amz_date,
        presigned: true,
        expires_in,
        security_token,
    })
}

fn required(missing: String) -> SigError {
    incomplete(
        format!("{missing}Re-examine the query-string parameters."),
        query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, \
             X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ),
    )
}

fn parse_expires(value: &str) -> Result<u32, SigError> {
    let refuse = |message: &str| incomplete(message, query_error(message));
    let Ok(seconds) = value.parse::<i64>() else {
        return Err(refuse("X-Amz-Expires should be a number"));
    };
    if seconds < 0 {
        return Err(refuse("X-Amz-Expires must be non-negative"));
    }
    match u32::try_from(seconds) {
        Ok(seconds) if seconds <= MAX_EXPIRES => Ok(seconds),
        _ => Err(refuse(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less \
             than 604800 seconds",
        )),
    }
}

/// Splits `SignedHeaders` and checks that `host` is among them: a signature that does not cover
/// the host could be replayed against another endpoint.
fn split_signed_headers(list: &str) -> Result<Vec<String>, SigError> {
    let names: Vec<String> = list.split(';').map(str::to_owned).collect();
    let signs_host = names.iter().any(|n| n.eq_ignore_ascii_case("host") || n == ":authority");
    if !signs_host {
        return Err(invalid(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            S3Rejection::new(
                "AccessDenied",
                "There were headers present in the request which were not signed",
            ),
        ));
    }
    Ok(names)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Header,
    Query,
}

/// Reads `key/date/region/service/aws4_request` and checks what can be checked without knowing
/// the endpoint: the terminator, and that the date is the day of the request. Region and service
/// are the caller's to judge.
fn parse_credential(credential: &str, amz_date: &str, place: Place) -> Result<CredentialScope, SigError> {
    let (s3_code, s3_prefix) = match place {
        Place::Header => ("AuthorizationHeaderMalformed", "The authorization header is malformed; "),
        Place::Query => {
            ("AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; ")
        }
    };
    let parts: Vec<&str> = credential.trim_end_matches('/').split('/').collect();
    let [key, scope_date, region, service, terminator] = parts.as_slice() else {
        return Err(incomplete(
            format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, \
                 got '{credential}'"
            ),
            S3Rejection::new(
                s3_code,
                format!(
                    "{s3_prefix}the Credential is mal-formed; expecting \
                     \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
                ),
            ),
        ));
    };
    let day = amz_date.get(..8).unwrap_or(amz_date);
    let mut problems = Vec::new();
    let mut s3_problem = None;
    if scope_date.len() != 8 || !scope_date.bytes().all(|b| b.is_ascii_digit()) {
        s3_problem = Some(format!(
            "incorrect date format \"{scope_date}\". This date in the credential must be in the format \"yyyyMMdd\"."
        ));
    }
    if *terminator != "aws4_request" {
        problems.push(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        ));
        s3_problem.get_or_insert_with(|| {
            format!("incorrect terminal \"{terminator}\". This endpoint uses \"aws4_request\".")
        });
    }
    if *scope_date != day {
        problems.push(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
             '{scope_date}' != '{day}', from '{amz_date}'."
        ));
        s3_problem.get_or_insert_with(|| {
            format!("Invalid credential date \"{scope_date}\". This date is not the same as X-Amz-Date: \"{day}\".")
        });
    }
    if let Some(s3_problem) = s3_problem {
        return Err(invalid(
            problems.join(" "),
            S3Rejection::new(s3_code, format!("{s3_prefix}{s3_problem}")),
        ));
    }
    Ok(CredentialScope {
        access_key_id: (*key).to_owned(),
        date: (*scope_date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
    })
}

/// What S3 demands of a header-signed request beyond SigV4 itself: a payload hash header of a
/// known shape, and every `x-amz-*` header signed.
fn s3_header_rules(request: &SignedRequest, headers: &HeaderMap) -> Result<(), SigError> {
    let Some(content) = header_str(headers, "x-amz-content-sha256") else {
        let message = "Missing required header for this request: x-amz-content-sha256";
        return Err(incomplete(message, S3Rejection::new("InvalidRequest", message)));
    };
    if !is_payload_hash(content) {
        let message = "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, \
                       STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, \
                       STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER \
                       or a valid sha256 value.";
        return Err(incomplete(message, S3Rejection::new("InvalidArgument", message)));
    }
    let mut unsigned: Vec<&str> = headers
        .keys()
        .map(http::HeaderName::as_str)
        .filter(|name| name.starts_with("x-amz-"))
        .filter(|name| !request.signed_headers.iter().any(|s| s.eq_ignore_ascii_case(name)))
        .collect();
    if unsigned.is_empty() {
        return Ok(());
    }
    unsigned.sort_unstable();
    Err(SigError::HeadersNotSigned { headers: unsigned.join(", ") })
}

/// The payload hashes S3 accepts in `x-amz-content-sha256`.
pub(crate) fn is_payload_hash(value: &str) -> bool {
    const SPECIAL: [&str; 6] = [
        "UNSIGNED-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    ];
    SPECIAL.contains(&value) || is_sha256_hex(value)
}

pub(crate) fn is_sha256_hex(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn bad_date(value: &str, s3: S3Rejection) -> SigError {
    incomplete(
        format!(
            "Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ),
        s3,
    )
}

fn query_error(message: &str) -> S3Rejection {
    S3Rejection::new("AuthorizationQueryParametersError", message)
}

fn incomplete(message: impl Into<String>, s3: S3Rejection) -> SigError {
    SigError::IncompleteSignature { message: message.into(), s3 }
}

fn invalid(message: impl Into<String>, s3: S3Rejection) -> SigError {
    SigError::InvalidSignature { message: message.into(), s3 }
}

//! Every refusal, rendered in both dialects exactly as a caller would send it; the clock's
//! boundaries; and garbled input, which must be refused without a panic.

use expect_test::{Expect, expect};

use super::{EMPTY_SHA256, at, request};
use crate::verify::{self, verify};
use crate::{SigError, credential_scope, parse, signature, signing_key, string_to_sign};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const HOST: &str = "example.amazonaws.com";

fn render(result: Result<(), SigError>) -> String {
    match result {
        Ok(()) => "ok".to_owned(),
        Err(e) => {
            // A mismatch's fields are the strings signed, already in its message; the test of
            // the mismatch checks them.
            let fields: Vec<String> = match e {
                SigError::SignatureDoesNotMatch(_) => Vec::new(),
                _ => e.s3_fields().iter().map(|(k, v)| format!("{k}={v}")).collect(),
            };
            format!(
                "{} {} ({}): {}\ns3: {} {}: {}{}",
                e.status(),
                e.code(),
                e.json_code(),
                e.message(),
                e.s3_status(),
                e.s3_code(),
                e.s3_message(),
                if fields.is_empty() { String::new() } else { format!("\n  {}", fields.join("\n  ")) }
            )
        }
    }
}

fn check(parts: &http::request::Parts, now: &str, expect: Expect) {
    expect.assert_eq(&render(verify(parts, EMPTY_SHA256, SECRET, at(now))));
}

/// A request signed by this crate's own signer (itself checked against the AWS suite), with
/// its signature filled in where `{sig}` stands in the header or query.
fn self_signed(method: &str, target: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let placeholder = "0".repeat(64);
    let fill = |s: &str, sig: &str| s.replace("{sig}", sig);
    let draft_headers: Vec<(&str, String)> =
        headers.iter().map(|(n, v)| (*n, fill(v, &placeholder))).collect();
    let draft_refs: Vec<(&str, &str)> = draft_headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let draft = request(method, &fill(target, &placeholder), &draft_refs);
    let signed = parse(&draft).expect("well formed").expect("signed");
    let payload = verify::payload_hash(&draft, &signed, EMPTY_SHA256);
    let canonical = crate::canonical_request(&draft, &signed, &payload);
    let sts = string_to_sign(&signed.amz_date, &signed.scope, &canonical);
    let sig = signature(&signing_key(SECRET, &signed.scope), &sts);
    let final_headers: Vec<(&str, String)> = headers.iter().map(|(n, v)| (*n, fill(v, &sig))).collect();
    let final_refs: Vec<(&str, &str)> = final_headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    request(method, &fill(target, &sig), &final_refs)
}

fn header_signed(service: &str, amz_date: &str) -> http::request::Parts {
    let day = &amz_date[..8];
    let (signed_headers, content) = if service == "s3" {
        ("host;x-amz-content-sha256;x-amz-date", EMPTY_SHA256)
    } else {
        ("host;x-amz-date", "")
    };
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{day}/us-east-1/{service}/aws4_request, \
         SignedHeaders={signed_headers}, Signature={{sig}}"
    );
    let mut headers = vec![("host", HOST), ("x-amz-date", amz_date), ("authorization", auth.as_str())];
    if !content.is_empty() {
        headers.push(("x-amz-content-sha256", content));
    }
    self_signed("GET", "/", &headers)
}

fn presigned(service: &str, amz_date: &str, expires: Option<&str>) -> http::request::Parts {
    let day = &amz_date[..8];
    let expires = expires.map(|e| format!("&X-Amz-Expires={e}")).unwrap_or_default();
    let target = format!(
        "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F{day}%2Fus-east-1%2F{service}%2Faws4_request\
         &X-Amz-Date={amz_date}{expires}&X-Amz-SignedHeaders=host&X-Amz-Signature={{sig}}"
    );
    self_signed("GET", &target, &[("host", HOST)])
}

const T: &str = "20150830T123600Z";

fn with_authorization(value: &str, extra: &[(&str, &str)]) -> http::request::Parts {
    let mut headers = vec![("host", HOST), ("authorization", value)];
    headers.extend_from_slice(extra);
    request("GET", "/", &headers)
}

const GOOD_CREDENTIAL: &str = "Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request";

#[test]
fn unsigned_and_foreign_schemes() {
    check(
        &request("GET", "/", &[("host", HOST)]),
        T,
        expect![[r#"
        403 MissingAuthenticationToken (MissingAuthenticationTokenException): Request is missing Authentication Token
        s3: 403 AccessDenied: Access Denied"#]],
    );
    // An empty header is no header.
    check(
        &with_authorization("", &[]),
        T,
        expect![[r#"
        403 MissingAuthenticationToken (MissingAuthenticationTokenException): Request is missing Authentication Token
        s3: 403 AccessDenied: Access Denied"#]],
    );
    check(
        &with_authorization("Bearer eyJhbGciOi", &[]),
        T,
        expect![[r#"
        403 MissingAuthenticationToken (MissingAuthenticationTokenException): Request is missing Authentication Token
        s3: 400 InvalidArgument: Unsupported Authorization Type
          ArgumentName=Authorization
          ArgumentValue=Bearer eyJhbGciOi"#]],
    );
    check(
        &with_authorization("AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", &[]),
        T,
        expect![[r#"
        403 MissingAuthenticationToken (MissingAuthenticationTokenException): Request is missing Authentication Token
        s3: 400 InvalidRequest: The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."#]],
    );
    check(
        &request("GET", "/?AWSAccessKeyId=AKIDEXAMPLE&Signature=abc&Expires=1", &[("host", HOST)]),
        T,
        expect![[r#"
        403 MissingAuthenticationToken (MissingAuthenticationTokenException): Request is missing Authentication Token
        s3: 400 InvalidRequest: The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."#]],
    );
}

#[test]
fn malformed_authorization_headers() {
    let date = ("x-amz-date", T);
    check(
        &with_authorization("AWS4-HMAC-SHA256", &[]),
        T,
        expect![[r#"
        400 IncompleteSignature (IncompleteSignatureException): Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256
        s3: 400 AuthorizationHeaderMalformed: The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature."#]],
    );
    check(
        &with_authorization(&format!("AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}"), &[date]),
        T,
        expect![[r#"
        400 IncompleteSignature (IncompleteSignatureException): Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request
        s3: 400 AuthorizationHeaderMalformed: The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature."#]],
    );
    check(
        &with_authorization(
            &format!("AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host, Signature=abc"),
            &[],
        ),
        T,
        expect![[r#"
            400 IncompleteSignature (IncompleteSignatureException): Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=abc
            s3: 403 AccessDenied: AWS authentication requires a valid Date or x-amz-date header"#]],
    );
    check(
        &with_authorization("AWS4-HMAC-SHA256 Signature=b,    Credential,    SignedHeaders", &[date]),
        T,
        expect![[r#"
            400 IncompleteSignature (IncompleteSignatureException): 'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Signature=b,    Credential,    SignedHeaders'.
            s3: 400 AuthorizationHeaderMalformed: The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature."#]],
    );
    check(
        &with_authorization(
            &format!("AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host;x-amz-date, Signature=abc"),
            &[("x-amz-date", "2015-08-30T12:36:00Z")],
        ),
        T,
        expect![[r#"
            400 IncompleteSignature (IncompleteSignatureException): Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. See http://en.wikipedia.org/wiki/ISO_8601
            s3: 403 AccessDenied: AWS authentication requires a valid Date or x-amz-date header"#]],
    );
    check(
        &with_authorization(
            &format!("AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=x-amz-date, Signature=abc"),
            &[date],
        ),
        T,
        expect![[r#"
            403 SignatureDoesNotMatch (InvalidSignatureException): 'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.
            s3: 403 AccessDenied: There were headers present in the request which were not signed"#]],
    );
    check(
        &with_authorization(
            &format!("AWS4-HMAC-SHA512 {GOOD_CREDENTIAL}, SignedHeaders=host;x-amz-date, Signature=abc"),
            &[date],
        ),
        T,
        expect![[r#"
            400 IncompleteSignature (IncompleteSignatureException): Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). 
            s3: 400 InvalidArgument: Unsupported Authorization Type"#]],
    );
    check(
        &with_authorization(
            "AWS4-HMAC-SHA256 Credential=AKID/EXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=abc",
            &[date],
        ),
        T,
        expect![[r#"
            400 IncompleteSignature (IncompleteSignatureException): Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/EXAMPLE/20150830/us-east-1/iam/aws4_request'
            s3: 400 AuthorizationHeaderMalformed: The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"."#]],
    );
    check(
        &with_authorization(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-east-1/iam/aws5_request, \
             SignedHeaders=host;x-amz-date, Signature=abc",
            &[date],
        ),
        T,
        expect![[r#"
            403 SignatureDoesNotMatch (InvalidSignatureException): Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'.
            s3: 400 AuthorizationHeaderMalformed: The authorization header is malformed; incorrect terminal "aws5_request". This endpoint uses "aws4_request"."#]],
    );
    check(
        &with_authorization(
            &format!("AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host;x-amz-date, Signature=abc"),
            &[date],
        ),
        T,
        expect![[r#"
            403 SignatureDoesNotMatch (InvalidSignatureException): The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.

            The Canonical String for this request should have been
            'GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

            The String-to-Sign should have been
            'AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/iam/aws4_request
            bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63'

            s3: 403 SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method."#]],
    );
    check(
        &request(
            "GET",
            "/?X-Amz-Algorithm=AWS4-HMAC-SHA256",
            &[("host", HOST), ("authorization", "AWS4-HMAC-SHA256 a")],
        ),
        T,
        expect![[r#"
            403 SignatureDoesNotMatch (InvalidSignatureException): Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.
            s3: 400 InvalidArgument: Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"#]],
    );
}

#[test]
fn s3_header_rules() {
    let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, \
                SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=abc";
    check(
        &with_authorization(auth, &[("x-amz-date", T)]),
        T,
        expect![[r#"
        400 IncompleteSignature (IncompleteSignatureException): Missing required header for this request: x-amz-content-sha256
        s3: 400 InvalidRequest: Missing required header for this request: x-amz-content-sha256"#]],
    );
    check(
        &with_authorization(auth, &[("x-amz-date", T), ("x-amz-content-sha256", "abc")]),
        T,
        expect![[r#"
        400 IncompleteSignature (IncompleteSignatureException): x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.
        s3: 400 InvalidArgument: x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value."#]],
    );
    check(
        &with_authorization(
            auth,
            &[("x-amz-date", T), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"), ("x-amz-meta-color", "red")],
        ),
        T,
        expect![[r#"
            403 SignatureDoesNotMatch (InvalidSignatureException): The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.
            s3: 403 AccessDenied: There were headers present in the request which were not signed
              HeadersNotSigned=x-amz-meta-color"#]],
    );
}

#[test]
fn malformed_presigned_parameters() {
    let h = [("host", HOST)];
    check(
        &request("GET", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256", &h),
        T,
        expect![[r#"
        400 IncompleteSignature (IncompleteSignatureException): AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters.
        s3: 400 AuthorizationQueryParametersError: Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."#]],
    );
    check(
        &request(
            "GET",
            "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature=abc",
            &h,
        ),
        T,
        expect![[r#"
            400 IncompleteSignature (IncompleteSignatureException): AWS query-string parameters must include 'X-Amz-Expires'. Re-examine the query-string parameters.
            s3: 400 AuthorizationQueryParametersError: Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."#]],
    );
    let with = |extra: &str| {
        request(
            "GET",
            &format!(
                "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request\
                 &X-Amz-SignedHeaders=host&X-Amz-Signature=abc{extra}"
            ),
            &h,
        )
    };
    check(
        &with("&X-Amz-Date=20150830T123600Z&X-Amz-Expires=604801"),
        T,
        expect![[r#"
        400 IncompleteSignature (IncompleteSignatureException): X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds
        s3: 400 AuthorizationQueryParametersError: X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"#]],
    );
    check(
        &with("&X-Amz-Date=20150830T123600Z&X-Amz-Expires=-1"),
        T,
        expect![[r#"
        400 IncompleteSignature (IncompleteSignatureException): X-Amz-Expires must be non-negative
        s3: 400 AuthorizationQueryParametersError: X-Amz-Expires must be non-negative"#]],
    );
    check(
        &with("&X-Amz-Date=20150830T123600Z&X-Amz-Expires=1h"),
        T,
        expect![[r#"
        400 IncompleteSignature (IncompleteSignatureException): X-Amz-Expires should be a number
        s3: 400 AuthorizationQueryParametersError: X-Amz-Expires should be a number"#]],
    );
    check(
        &with("&X-Amz-Date=2015-08-30T12%3A36%3A00Z&X-Amz-Expires=60"),
        T,
        expect![[r#"
        400 IncompleteSignature (IncompleteSignatureException): Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. See http://en.wikipedia.org/wiki/ISO_8601
        s3: 400 AuthorizationQueryParametersError: X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'""#]],
    );
    check(
        &request(
            "GET",
            "/?X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=abc",
            &h,
        ),
        T,
        expect![[r#"
            400 IncompleteSignature (IncompleteSignatureException): Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1' (only AWS4-HMAC-SHA256 for now). 
            s3: 400 AuthorizationQueryParametersError: X-Amz-Algorithm only supports "AWS4-HMAC-SHA256 and AWS4-ECDSA-P256-SHA256""#]],
    );
    check(
        &request(
            "GET",
            "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fs3%2Faws4_request\
             &X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=abc",
            &h,
        ),
        T,
        expect![[r#"
            400 IncompleteSignature (IncompleteSignatureException): Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE/20150830/s3/aws4_request'
            s3: 400 AuthorizationQueryParametersError: Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"."#]],
    );
    check(
        &request(
            "GET",
            "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150829%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=abc",
            &h,
        ),
        T,
        expect![[r#"
            403 SignatureDoesNotMatch (InvalidSignatureException): Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150829' != '20150830', from '20150830T123600Z'.
            s3: 400 AuthorizationQueryParametersError: Error parsing the X-Amz-Credential parameter; Invalid credential date "20150829". This date is not the same as X-Amz-Date: "20150830"."#]],
    );
}

#[test]
fn signature_mismatch_shows_the_strings_signed() {
    let mut parts = header_signed("sts", T);
    // Shift the signature by one hex digit: same length, every digit moved.
    let auth = parts.headers["authorization"].to_str().expect("ASCII").replace("Signature=", "Signature=f");
    let auth = auth[..auth.len() - 1].to_owned();
    parts.headers.insert("authorization", auth.parse().expect("valid"));
    let Err(e) = verify(&parts, EMPTY_SHA256, SECRET, at(T)) else { panic!("a changed signature verified") };
    let fields: Vec<(&str, String)> = e.s3_fields();
    let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "AWSAccessKeyId",
            "StringToSign",
            "SignatureProvided",
            "StringToSignBytes",
            "CanonicalRequest",
            "CanonicalRequestBytes"
        ]
    );
    assert_eq!(fields[3].1, fields[1].1.bytes().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "));
    assert_eq!(Some(fields[2].1.as_str()), auth.rsplit("Signature=").next());
    check(
        &parts,
        T,
        expect![[r#"
            403 SignatureDoesNotMatch (InvalidSignatureException): The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.

            The Canonical String for this request should have been
            'GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

            The String-to-Sign should have been
            'AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/sts/aws4_request
            bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63'

            s3: 403 SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method."#]],
    );
}

#[test]
fn header_signed_clock_boundaries() {
    for service in ["sts", "s3"] {
        let parts = header_signed(service, T);
        for (now, expected) in [("20150830T125100Z", "ok"), ("20150830T122100Z", "ok")] {
            assert_eq!(render(verify(&parts, EMPTY_SHA256, SECRET, at(now))), expected, "{service} at {now}");
        }
    }
    check(
        &header_signed("sts", T),
        "20150830T125101Z",
        expect![[r#"
        403 SignatureDoesNotMatch (InvalidSignatureException): Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T125101Z - 15 min.)
        s3: 403 RequestTimeTooSkewed: The difference between the request time and the current time is too large.
          RequestTime=20150830T123600Z
          ServerTime=2015-08-30T12:51:01Z
          MaxAllowedSkewMilliseconds=900000"#]],
    );
    check(
        &header_signed("sts", T),
        "20150830T122059Z",
        expect![[r#"
        403 SignatureDoesNotMatch (InvalidSignatureException): Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T122059Z + 15 min.)
        s3: 403 RequestTimeTooSkewed: The difference between the request time and the current time is too large.
          RequestTime=20150830T123600Z
          ServerTime=2015-08-30T12:20:59Z
          MaxAllowedSkewMilliseconds=900000"#]],
    );
    check(
        &header_signed("s3", T),
        "20150830T125101Z",
        expect![[r#"
        403 SignatureDoesNotMatch (InvalidSignatureException): Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T125101Z - 15 min.)
        s3: 403 RequestTimeTooSkewed: The difference between the request time and the current time is too large.
          RequestTime=20150830T123600Z
          ServerTime=2015-08-30T12:51:01Z
          MaxAllowedSkewMilliseconds=900000"#]],
    );
    // Fractions of a second count: one millisecond past the window is past it.
    let late = at("20150830T125100Z") + time::Duration::milliseconds(1);
    assert!(matches!(
        verify(&header_signed("sts", T), EMPTY_SHA256, SECRET, late),
        Err(SigError::Expired { .. })
    ));
}

#[test]
fn a_date_header_stands_in_for_x_amz_date() {
    let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
                SignedHeaders=date;host, Signature={sig}";
    let parts = self_signed(
        "GET",
        "/",
        &[("host", HOST), ("date", "Sun, 30 Aug 2015 12:36:00 GMT"), ("authorization", auth)],
    );
    let signed = parse(&parts).expect("well formed").expect("signed");
    assert_eq!(signed.amz_date, T);
    check(&parts, "20150830T124000Z", expect!["ok"]);
    check(
        &parts,
        "20150830T130000Z",
        expect![[r#"
        403 SignatureDoesNotMatch (InvalidSignatureException): Signature expired: 20150830T123600Z is now earlier than 20150830T124500Z (20150830T130000Z - 15 min.)
        s3: 403 RequestTimeTooSkewed: The difference between the request time and the current time is too large.
          RequestTime=20150830T123600Z
          ServerTime=2015-08-30T13:00:00Z
          MaxAllowedSkewMilliseconds=900000"#]],
    );
}

#[test]
fn presigned_clock_boundaries() {
    // S3: valid through X-Amz-Date + X-Amz-Expires, not before X-Amz-Date - 15 min.
    let s3 = presigned("s3", T, Some("60"));
    check(&s3, "20150830T123700Z", expect!["ok"]);
    check(
        &s3,
        "20150830T123701Z",
        expect![[r#"
        403 SignatureDoesNotMatch (InvalidSignatureException): Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T123701Z - 1 min.)
        s3: 403 AccessDenied: Request has expired
          X-Amz-Expires=60
          Expires=2015-08-30T12:37:00Z
          ServerTime=2015-08-30T12:37:01Z"#]],
    );
    check(&s3, "20150830T122100Z", expect!["ok"]);
    check(
        &s3,
        "20150830T122059Z",
        expect![[r#"
        403 SignatureDoesNotMatch (InvalidSignatureException): Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T122059Z + 15 min.)
        s3: 403 AccessDenied: Request is not yet valid
          X-Amz-Date=20150830T123600Z
          ServerTime=2015-08-30T12:20:59Z"#]],
    );
    // X-Amz-Expires=0 is valid for the very second of X-Amz-Date only.
    let zero = presigned("s3", T, Some("0"));
    check(&zero, T, expect!["ok"]);
    check(
        &zero,
        "20150830T123601Z",
        expect![[r#"
            403 SignatureDoesNotMatch (InvalidSignatureException): Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T123601Z - 0 sec.)
            s3: 403 AccessDenied: Request has expired
              X-Amz-Expires=0
              Expires=2015-08-30T12:36:00Z
              ServerTime=2015-08-30T12:36:01Z"#]],
    );
    // The longest: seven days.
    let week = presigned("s3", T, Some("604800"));
    check(&week, "20150906T123600Z", expect!["ok"]);
    check(
        &week,
        "20150906T123601Z",
        expect![[r#"
        403 SignatureDoesNotMatch (InvalidSignatureException): Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150906T123601Z - 10080 min.)
        s3: 403 AccessDenied: Request has expired
          X-Amz-Expires=604800
          Expires=2015-09-06T12:36:00Z
          ServerTime=2015-09-06T12:36:01Z"#]],
    );
    // Other services: X-Amz-Expires if given, else the 15 minutes of a header signature.
    let sts = presigned("sts", T, None);
    check(&sts, "20150830T125100Z", expect!["ok"]);
    check(
        &sts,
        "20150830T125101Z",
        expect![[r#"
        403 SignatureDoesNotMatch (InvalidSignatureException): Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T125101Z - 15 min.)
        s3: 403 AccessDenied: Request has expired
          X-Amz-Expires=900
          Expires=2015-08-30T12:51:00Z
          ServerTime=2015-08-30T12:51:01Z"#]],
    );
    let sts = presigned("sts", T, Some("90"));
    check(
        &sts,
        "20150830T123731Z",
        expect![[r#"
        403 SignatureDoesNotMatch (InvalidSignatureException): Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T123731Z - 90 sec.)
        s3: 403 AccessDenied: Request has expired
          X-Amz-Expires=90
          Expires=2015-08-30T12:37:30Z
          ServerTime=2015-08-30T12:37:31Z"#]],
    );
}

#[test]
fn times_at_the_ends_of_the_calendar_do_not_overflow() {
    let end = "99991231T235959Z";
    for parts in
        [presigned("s3", end, Some("604800")), presigned("sts", end, None), header_signed("sts", end)]
    {
        for now in [end, "00000101T000000Z", T] {
            let verdict = verify(&parts, EMPTY_SHA256, SECRET, at(now));
            if let Err(e) = verdict {
                let _ = (e.message(), e.s3_message(), e.s3_fields());
            }
        }
    }
    let start = header_signed("sts", "00000101T000000Z");
    let e = verify(&start, EMPTY_SHA256, SECRET, at(end)).expect_err("ten thousand years late");
    assert!(
        e.message().starts_with("Signature expired: 00000101T000000Z is now earlier than"),
        "{}",
        e.message()
    );
}

#[test]
fn unknown_access_key_renders_like_aws() {
    expect![[r#"
        403 InvalidClientTokenId (UnrecognizedClientException): The security token included in the request is invalid.
        s3: 403 InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.
          AWSAccessKeyId=AKIDUNKNOWN"#]].assert_eq(&render(Err(SigError::invalid_client_token_id("AKIDUNKNOWN"))));
}

/// A tiny deterministic generator, so the fuzz-ish loop below is reproducible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let len = u64::try_from(items.len()).expect("small slice");
        items[usize::try_from(self.next() % len).expect("small index")]
    }
}

/// Runs everything a gateway would run on a request; none of it may panic. Accepted means
/// verified *and* signed by the one known key: the access key id only selects the secret, so
/// the signature does not cover it and only the caller's lookup refuses a changed one.
fn exercise(parts: &http::request::Parts) -> bool {
    let _ = credential_scope(&parts.headers, parts.uri.query());
    let known_key = matches!(parse(parts), Ok(Some(signed)) if signed.scope.access_key_id == "AKIDEXAMPLE");
    let verdict = verify(parts, EMPTY_SHA256, SECRET, at(T)).map(|()| known_key);
    if let Err(e) = &verdict {
        let _ =
            (e.code(), e.json_code(), e.status(), e.message(), e.s3_code(), e.s3_status(), e.s3_message());
        let _ = e.s3_fields();
    }
    verdict == Ok(true)
}

/// The header's words, whatever separates them; a credential's trailing `/` is ignored, as AWS
/// ignores it.
fn separators_only(value: &[u8]) -> Vec<&[u8]> {
    value
        .split(|b| matches!(b, b' ' | b'\t' | b','))
        .map(|w| w.strip_suffix(b"/").unwrap_or(w))
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn truncated_and_garbled_signatures_are_refused_without_panic() {
    let valid = header_signed("iam", T);
    assert!(exercise(&valid));
    let auth = valid.headers["authorization"].as_bytes().to_vec();
    let with_auth = |value: &[u8]| {
        let mut parts = valid.clone();
        match http::HeaderValue::from_bytes(value) {
            Ok(v) => {
                parts.headers.insert("authorization", v);
            }
            Err(_) => return,
        }
        // Swapping one separator for another (`,` `\t` ` `) leaves the same header.
        let accepted = exercise(&parts);
        assert!(
            !accepted || separators_only(value) == separators_only(&auth),
            "accepted {:?}",
            String::from_utf8_lossy(value)
        );
    };
    // Every truncation.
    for len in 0..auth.len() {
        with_auth(&auth[..len]);
    }
    // Every position replaced by each troublesome byte.
    let bytes: &[u8] = b" ,=/;:\t\"%\\0Za\x80\xff";
    for i in 0..auth.len() {
        for b in bytes {
            let mut garbled = auth.clone();
            garbled[i] = *b;
            with_auth(&garbled);
        }
    }
    // Random values from an alphabet of the header's own punctuation.
    let alphabet: &[&[u8]] = &[
        b"AWS4-HMAC-SHA256",
        b" ",
        b",",
        b"=",
        b"/",
        b";",
        b"Credential",
        b"SignedHeaders",
        b"Signature",
        b"host",
        b"x-amz-date",
        b"20150830",
        b"aws4_request",
        b"iam",
        b"AWS4-",
        b"AWS ",
        b":",
        b"\xc3\xa9",
    ];
    let mut rng = XorShift(0x5eed_1234_abcd_ef01);
    for _ in 0..3000 {
        let mut value = Vec::new();
        for _ in 0..(rng.next() % 12) {
            value.extend_from_slice(rng.pick(alphabet));
        }
        with_auth(&value);
    }
}

#[test]
fn truncated_and_garbled_presigned_queries_are_refused_without_panic() {
    let valid = presigned("s3", T, Some("60"));
    assert_eq!(render(verify(&valid, EMPTY_SHA256, SECRET, at(T))), "ok");
    let target = valid.uri.to_string();
    let with_target = |t: &str| {
        let Ok(uri) = t.parse::<http::Uri>() else { return };
        let mut parts = valid.clone();
        parts.uri = uri;
        assert!(!exercise(&parts) || t == target, "accepted {t}");
    };
    for len in 0..target.len() {
        with_target(&target[..len]);
    }
    let replacements = ["&", "=", "%", "%2", "%zz", "+", "%00", "%FF", "?", "X-Amz-Signature=", ""];
    for i in 1..target.len() {
        for r in replacements {
            with_target(&format!("{}{r}{}", &target[..i], &target[i + 1..]));
        }
    }
}

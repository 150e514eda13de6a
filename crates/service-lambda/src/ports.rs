//! Lambda as other services reach it: [`ports::FunctionInvoker`] by function ARN.

use std::sync::Arc;

use bytes::Bytes;
use ports::{BoxFuture, FunctionInvoker, InvokeResponse, PortError};
use types::trace::TraceHeader;
use types::{AccountId, Region, Scope};

use crate::error::Error;
use crate::invoke::{MAX_ASYNC_PAYLOAD, MAX_SYNC_PAYLOAD, Traced, check_payload, resolve, run_throttled};
use crate::names::FunctionRef;
use crate::{Inner, LambdaService, queue};

/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` split into its scope and reference.
fn parse_arn(arn: &str) -> Result<(Scope, FunctionRef), PortError> {
    let parts: Vec<&str> = arn.split(':').collect();
    let bad = || PortError::Invalid(format!("{arn} is not a Lambda function ARN"));
    if parts.len() < 7 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" {
        return Err(bad());
    }
    let account = AccountId::parse(parts[4]).ok_or_else(bad)?;
    let region = Region::parse(parts[3]).ok_or_else(bad)?;
    let fref = FunctionRef::parse(arn, 256).map_err(|_| bad())?;
    Ok((Scope { account, region }, fref))
}

fn port_error(e: Error) -> PortError {
    match e {
        Error::ResourceNotFoundException(m) => PortError::NotFound(m),
        Error::TooManyRequestsException(reason) => PortError::Unavailable(reason.as_str().to_owned()),
        Error::InvalidRequestContentException(m) | Error::RequestTooLargeException(m) => {
            PortError::Invalid(m)
        }
        other => PortError::Unavailable(other.to_string()),
    }
}

fn not_found(scope: &Scope, fref: &FunctionRef) -> PortError {
    port_error(crate::names::function_not_found(scope, &fref.name, fref.qualifier.as_deref()))
}

impl FunctionInvoker for LambdaService {
    fn invoke_async(
        &self,
        function_arn: &str,
        payload: Bytes,
        trace: Option<TraceHeader>,
    ) -> Result<(), PortError> {
        let (scope, fref) = parse_arn(function_arn)?;
        let svc: &Inner = &self.inner;
        let f = svc.load(&scope, &fref.name).map_err(port_error)?.ok_or_else(|| not_found(&scope, &fref))?;
        resolve(&scope, &f, fref.qualifier.as_deref()).map_err(port_error)?;
        let payload = check_payload(payload, MAX_ASYNC_PAYLOAD).map_err(port_error)?;
        let request_id = uuid::Uuid::new_v4().to_string();
        let qualifier = fref.qualifier.as_deref().unwrap_or("$LATEST");
        queue::accept(svc, &scope, &request_id, &f.name, qualifier, &payload, trace).map_err(port_error)
    }

    fn invoke(
        &self,
        function_arn: &str,
        payload: Bytes,
        trace: Option<TraceHeader>,
    ) -> BoxFuture<'_, Result<InvokeResponse, PortError>> {
        let inner: Arc<Inner> = self.inner.clone();
        let arn = function_arn.to_owned();
        Box::pin(async move {
            let (scope, fref) = parse_arn(&arn)?;
            let f = inner
                .load(&scope, &fref.name)
                .map_err(port_error)?
                .ok_or_else(|| not_found(&scope, &fref))?;
            let resolved = resolve(&scope, &f, fref.qualifier.as_deref()).map_err(port_error)?;
            let payload = check_payload(payload, MAX_SYNC_PAYLOAD).map_err(port_error)?;
            let mut invocation = runtime::Invocation::new(uuid::Uuid::new_v4().to_string(), payload);
            invocation.invoked_function_arn = Some(resolved.invoked_arn.clone());
            let traced = Traced::begin(trace, inner.now_ms());
            let outcome = run_throttled(&inner, &scope, &f.name, &resolved, invocation, traced)
                .await
                .map_err(port_error)?;
            Ok(InvokeResponse {
                payload: outcome.payload().clone(),
                function_error: outcome.error().map(|_| "Unhandled".to_owned()),
                executed_version: resolved.config.version.clone(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_arns_parse_with_their_scope() {
        let (scope, fref) = parse_arn("arn:aws:lambda:eu-west-1:123456789012:function:f:live")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scope.region.as_str(), "eu-west-1");
        assert_eq!(scope.account.as_str(), "123456789012");
        assert_eq!(fref.name, "f");
        assert_eq!(fref.qualifier.as_deref(), Some("live"));
        assert!(parse_arn("arn:aws:sqs:eu-west-1:123456789012:q").is_err());
        assert!(parse_arn("f").is_err());
    }
}

//! `TemplateURL`: a template kept in S3 (what `aws cloudformation deploy --s3-bucket` and
//! `package` hand over for large templates), read through the S3 API as the caller before the
//! operation runs, so the rest of the service only ever sees template bodies.

use bytes::Bytes;
use http::Method;

use crate::api::Api;
use crate::error::{Error, invalid};
use crate::operation::Operation;

/// CloudFormation's template size limit for templates in S3.
const MAX_TEMPLATE_URL_BYTES: usize = 1_000_000;

/// The bucket and (still URL-encoded) key an S3 URL names: AWS's path-style and
/// virtual-hosted forms, and path-style URLs of any other host (this server's own endpoint).
pub fn bucket_and_key(url: &str) -> Option<(String, String)> {
    let uri: http::Uri = url.parse().ok()?;
    let host = uri.host()?.to_ascii_lowercase();
    let path = uri.path().trim_start_matches('/');
    let virtual_bucket = host
        .split_once(".s3.")
        .or_else(|| host.split_once(".s3-"))
        .map(|(b, _)| b.to_owned())
        .filter(|_| host.ends_with(".amazonaws.com") || host.ends_with(".localhost"));
    match virtual_bucket {
        Some(bucket) if !bucket.is_empty() && !path.is_empty() => Some((bucket, path.to_owned())),
        Some(_) => None,
        None => {
            let (bucket, key) = path.split_once('/')?;
            (!bucket.is_empty() && !key.is_empty()).then(|| (bucket.to_owned(), key.to_owned()))
        }
    }
}

async fn fetch(api: Api<'_>, url: &str) -> Result<String, Error> {
    let Some((bucket, key)) = bucket_and_key(url) else {
        return Err(invalid("TemplateURL must be a supported URL."));
    };
    let (_, body) = api
        .rest_xml("s3", Method::GET, &format!("/{bucket}/{key}"), &[], Bytes::new())
        .await
        .map_err(|e| invalid(format!("S3 error: {}", e.message)))?;
    if body.len() > MAX_TEMPLATE_URL_BYTES {
        return Err(invalid(format!("Template may not exceed {MAX_TEMPLATE_URL_BYTES} bytes in size.")));
    }
    String::from_utf8(body.to_vec())
        .map_err(|_| invalid("Template format error: the template is not UTF-8 text"))
}

/// Replaces a `TemplateURL` of the operation by the template it names.
pub async fn resolve(api: Api<'_>, mut op: Operation) -> Result<Operation, Error> {
    let (body, url) = match &mut op {
        Operation::CreateStack(input) | Operation::UpdateStack(input) => {
            (&mut input.template_body, &mut input.template_url)
        }
        Operation::CreateChangeSet { input, .. } => (&mut input.template_body, &mut input.template_url),
        Operation::GetTemplateSummary { template_body, template_url, .. }
        | Operation::ValidateTemplate { template_body, template_url } => (template_body, template_url),
        _ => return Ok(op),
    };
    if let Some(u) = url.take() {
        *body = Some(fetch(api, &u).await?);
    }
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_url_forms() {
        let bk = |u: &str| bucket_and_key(u);
        let want = Some(("b".to_owned(), "dir/t.yaml".to_owned()));
        assert_eq!(bk("https://s3.amazonaws.com/b/dir/t.yaml"), want);
        assert_eq!(bk("https://s3.eu-west-1.amazonaws.com/b/dir/t.yaml"), want);
        assert_eq!(bk("https://b.s3.amazonaws.com/dir/t.yaml"), want);
        assert_eq!(bk("https://b.s3.eu-west-1.amazonaws.com/dir/t.yaml"), want);
        assert_eq!(bk("https://b.s3-eu-west-1.amazonaws.com/dir/t.yaml"), want);
        assert_eq!(bk("http://127.0.0.1:4566/b/dir/t.yaml"), want);
        assert_eq!(bk("http://b.s3.localhost:4566/dir/t.yaml"), want);
        assert_eq!(bk("http://127.0.0.1:4566/b"), None);
        assert_eq!(bk("not a url"), None);
    }
}

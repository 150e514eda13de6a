//! Packaging for `nimbus deploy`, as `sam package` does it: local `CodeUri`/`ContentUri`/`Code`
//! folders and files are zipped (deterministically, so unchanged code keeps its key and its
//! function is left alone by the update), uploaded once per content hash to an artifacts
//! bucket, and the template is rewritten to point at them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::client::Client;

/// Where a resource keeps a code location, and how an S3 location is written back.
enum Slot {
    /// SAM's `s3://bucket/key` string.
    SamUri,
    /// CloudFormation's `{S3Bucket, S3Key}` object.
    S3Object,
    /// API Gateway's `{Bucket, Key}` object.
    BucketKey,
    /// An API definition file inlined as the body.
    InlineBody(&'static str),
}

const SLOTS: &[(&str, &str, Slot)] = &[
    ("AWS::Serverless::Function", "CodeUri", Slot::SamUri),
    ("AWS::Serverless::LayerVersion", "ContentUri", Slot::SamUri),
    ("AWS::Lambda::Function", "Code", Slot::S3Object),
    ("AWS::Lambda::LayerVersion", "Content", Slot::S3Object),
    ("AWS::ApiGateway::RestApi", "BodyS3Location", Slot::BucketKey),
    ("AWS::Serverless::Api", "DefinitionUri", Slot::InlineBody("DefinitionBody")),
    ("AWS::Serverless::HttpApi", "DefinitionUri", Slot::InlineBody("DefinitionBody")),
];

/// A local path a template names, if the value is one (not `s3://`, not an object).
fn local_path(v: &Value, base: &Path) -> Option<PathBuf> {
    let s = v.as_str()?;
    if s.starts_with("s3://") || s.starts_with("https://") || s.is_empty() {
        return None;
    }
    Some(base.join(s))
}

/// Packages a template: returns the body to deploy (the original text if nothing was local).
pub async fn package(
    client: &Client,
    template_path: &Path,
    text: &str,
    region: &str,
) -> anyhow::Result<String> {
    let mut doc = cfn_template::parse_document(text)
        .map_err(|e| anyhow::anyhow!("{}: {}", template_path.display(), e.message()))?;
    let base = template_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let bucket = format!("nimbus-artifacts-{region}");
    let mut changed = false;
    let mut bucket_ready = false;
    // Globals.Function.CodeUri applies to every function without its own.
    let mut uploads: Vec<(Vec<String>, PathBuf, &Slot)> = Vec::new();
    if let Some(p) = doc.pointer("/Globals/Function/CodeUri").and_then(|v| local_path(v, &base)) {
        uploads.push((vec!["Globals".into(), "Function".into(), "CodeUri".into()], p, &Slot::SamUri));
    }
    if let Some(resources) = doc.get("Resources").and_then(Value::as_object) {
        for (id, r) in resources {
            let ty = r.get("Type").and_then(Value::as_str).unwrap_or_default();
            for (t, prop, slot) in SLOTS {
                if *t != ty {
                    continue;
                }
                if let Some(p) =
                    r.get("Properties").and_then(|p| p.get(*prop)).and_then(|v| local_path(v, &base))
                {
                    uploads.push((
                        vec!["Resources".into(), id.clone(), "Properties".into(), (*prop).into()],
                        p,
                        slot,
                    ));
                }
            }
        }
    }
    for (at, path, slot) in uploads {
        let new_value = match slot {
            Slot::InlineBody(_) => {
                let text =
                    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                cfn_template::parse_document(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?
            }
            _ => {
                if !bucket_ready {
                    ensure_bucket(client, &bucket, region).await?;
                    bucket_ready = true;
                }
                let zip = zip_path(&path)?;
                let key = format!("{}.zip", hex::encode(Sha256::digest(&zip)));
                upload(client, &bucket, &key, zip).await?;
                match slot {
                    Slot::SamUri => json!(format!("s3://{bucket}/{key}")),
                    Slot::S3Object => json!({"S3Bucket": bucket, "S3Key": key}),
                    _ => json!({"Bucket": bucket, "Key": key}),
                }
            }
        };
        let (parent, last) = at.split_at(at.len() - 1);
        let mut node = &mut doc;
        for k in parent {
            node = node.get_mut(k).context("template changed while packaging")?;
        }
        let obj = node.as_object_mut().context("template changed while packaging")?;
        match slot {
            Slot::InlineBody(body_key) => {
                obj.remove(&last[0]);
                obj.insert((*body_key).to_owned(), new_value);
            }
            _ => {
                obj.insert(last[0].clone(), new_value);
            }
        }
        changed = true;
    }
    if !changed {
        return Ok(text.to_owned());
    }
    serde_json::to_string_pretty(&doc).context("writing the packaged template")
}

async fn ensure_bucket(client: &Client, bucket: &str, region: &str) -> anyhow::Result<()> {
    let body = if region == "us-east-1" {
        Bytes::new()
    } else {
        Bytes::from(format!(
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
        ))
    };
    let (status, _, answer) = client.send("s3", Method::PUT, &format!("/{bucket}"), &[], body).await?;
    let text = String::from_utf8_lossy(&answer);
    if status >= 300 && !text.contains("BucketAlreadyOwnedByYou") {
        bail!("creating the artifacts bucket {bucket}: {text}");
    }
    Ok(())
}

async fn upload(client: &Client, bucket: &str, key: &str, zip: Vec<u8>) -> anyhow::Result<()> {
    let head = client.send("s3", Method::HEAD, &format!("/{bucket}/{key}"), &[], Bytes::new()).await?;
    if head.0 == 200 {
        return Ok(());
    }
    let (status, _, answer) =
        client.send("s3", Method::PUT, &format!("/{bucket}/{key}"), &[], Bytes::from(zip)).await?;
    if status >= 300 {
        bail!("uploading {key}: {}", String::from_utf8_lossy(&answer));
    }
    Ok(())
}

/// A zip of a folder (its contents at the root), a single file, or an existing `.zip`/`.jar`.
/// Entries are sorted and carry a fixed time, so the same content always zips to the same bytes.
pub fn zip_path(path: &Path) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("{} does not exist", path.display()))?;
    if meta.is_file() {
        let is_archive = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e == "zip" || e == "jar");
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        if is_archive {
            return Ok(data);
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        return zip_entries(vec![(name.to_owned(), data, file_mode(&meta))]);
    }
    let mut entries = Vec::new();
    collect(path, path, &mut entries)?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    zip_entries(entries)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>, u32)>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let meta = std::fs::metadata(&path)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "__pycache__" || name == ".aws-sam" || name == ".git" {
            continue;
        }
        if meta.is_dir() {
            collect(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            out.push((rel, std::fs::read(&path)?, file_mode(&meta)));
        }
    }
    Ok(())
}

fn file_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 }
}

fn zip_entries(entries: Vec<(String, Vec<u8>, u32)>) -> anyhow::Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    for (name, data, mode) in entries {
        let options = zip::write::SimpleFileOptions::default()
            .unix_permissions(mode)
            .last_modified_time(zip::DateTime::default());
        zip.start_file(name, options)?;
        zip.write_all(&data)?;
    }
    zip.finish()?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_zip_to_the_same_bytes_every_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("app.py"), "def handler(e, c): return 1\n").expect("write");
        std::fs::create_dir(dir.path().join("lib")).expect("mkdir");
        std::fs::write(dir.path().join("lib/util.py"), "X = 1\n").expect("write");
        let a = zip_path(dir.path()).expect("zip");
        let b = zip_path(dir.path()).expect("zip");
        assert_eq!(a, b);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(a)).expect("a zip");
        let names: Vec<String> = (0..archive.len())
            .map(|i| archive.by_index(i).expect("entry").name().expect("name").into_owned())
            .collect();
        assert_eq!(names, vec!["app.py".to_owned(), "lib/util.py".to_owned()]);
        std::fs::write(dir.path().join("app.py"), "def handler(e, c): return 2\n").expect("write");
        assert_ne!(zip_path(dir.path()).expect("zip"), b);
    }
}

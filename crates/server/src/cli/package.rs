//! Packaging for `nimbus deploy`, as `sam package` does it: local `CodeUri`/`ContentUri`/`Code`
//! folders and files are zipped (deterministically, so unchanged code keeps its key and its
//! function is left alone by the update), uploaded once per content hash to an artifacts
//! bucket, and the template is rewritten to point at them. A Python function's folder with a
//! `requirements.txt` first gets its dependencies installed beside its code, as `sam build` does.
//!
//! Running pip here does not break the rule that only `runtime` spawns processes: that rule is
//! about the server; this is the client's build step, on the user's machine, before any request.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    let mut uploads: Vec<(Vec<String>, PathBuf, &Slot, Option<String>)> = Vec::new();
    let global_runtime = doc.pointer("/Globals/Function/Runtime").and_then(Value::as_str).map(str::to_owned);
    if let Some(p) = doc.pointer("/Globals/Function/CodeUri").and_then(|v| local_path(v, &base)) {
        uploads.push((
            vec!["Globals".into(), "Function".into(), "CodeUri".into()],
            p,
            &Slot::SamUri,
            global_runtime.as_deref().and_then(python_version),
        ));
    }
    if let Some(resources) = doc.get("Resources").and_then(Value::as_object) {
        for (id, r) in resources {
            let ty = r.get("Type").and_then(Value::as_str).unwrap_or_default();
            for (t, prop, slot) in SLOTS {
                if *t != ty {
                    continue;
                }
                let props = r.get("Properties");
                if let Some(p) = props.and_then(|p| p.get(*prop)).and_then(|v| local_path(v, &base)) {
                    // Only functions get their requirements installed; SAM's Globals give
                    // serverless functions a default runtime.
                    let runtime = props.and_then(|p| p.get("Runtime")).and_then(Value::as_str).or(match ty {
                        "AWS::Serverless::Function" => global_runtime.as_deref(),
                        _ => None,
                    });
                    let python = match ty {
                        "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
                            runtime.and_then(python_version)
                        }
                        _ => None,
                    };
                    uploads.push((
                        vec!["Resources".into(), id.clone(), "Properties".into(), (*prop).into()],
                        p,
                        slot,
                        python,
                    ));
                }
            }
        }
    }
    // Functions sharing a folder and a runtime share one package: built and uploaded once.
    let mut built: HashMap<(PathBuf, Option<String>), String> = HashMap::new();
    for (at, path, slot, python) in uploads {
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
                let memo = (path.clone(), python.clone());
                let key = match built.get(&memo) {
                    Some(key) => key.clone(),
                    None => {
                        let zip = package_path(&path, python.as_deref())?;
                        let key = format!("{}.zip", hex::encode(Sha256::digest(&zip)));
                        upload(client, &bucket, &key, zip).await?;
                        built.insert(memo, key.clone());
                        key
                    }
                };
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

/// `3.12` for `python3.12`: the version pip installs wheels for.
fn python_version(runtime: &str) -> Option<String> {
    let v = runtime.strip_prefix("python")?;
    let (major, minor) = v.split_once('.')?;
    (major.parse::<u8>().is_ok() && minor.parse::<u8>().is_ok()).then(|| v.to_owned())
}

/// What a function's package holds: its folder zipped, with the folder's `requirements.txt`
/// installed at the root first when the function runs Python (the folder's own files win over
/// an installed file of the same name).
pub fn package_path(path: &Path, python: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let requirements = path.join("requirements.txt");
    let Some(version) = python.filter(|_| path.is_dir() && requirements.is_file()) else {
        return zip_path(path);
    };
    let pip = Pip {
        python: std::env::var_os("NIMBUS_PIP_PYTHON").unwrap_or_else(|| "python3".into()),
        cache: cache_dir()?.join("pip"),
    };
    package_with(path, &requirements, version, &pip)
}

/// How requirements get installed: which interpreter runs pip, and where installs are cached.
struct Pip {
    python: std::ffi::OsString,
    cache: PathBuf,
}

fn package_with(path: &Path, requirements: &Path, version: &str, pip: &Pip) -> anyhow::Result<Vec<u8>> {
    let deps = pip_install(requirements, version, pip)?;
    let mut entries = BTreeMap::new();
    for root in [deps.as_path(), path] {
        let mut found = Vec::new();
        collect(root, root, &mut found)?;
        for (name, data, mode) in found {
            entries.insert(name, (data, mode));
        }
    }
    zip_entries(entries.into_iter().map(|(name, (data, mode))| (name, data, mode)).collect())
}

/// Installs a requirements file into a cached folder and returns it. The cache key is the file's
/// hash with the target Python version and platform, so a second deploy reuses the same files
/// (fast, and the same bytes: the package's key does not change) and editing the file
/// reinstalls. Wheels are chosen for the function's Python version, not the host's `python3`:
/// Nimbus runs the function with that version's interpreter, and compiled wheels (Pillow) only
/// load in the version they were built for. The platform is this machine's, where the function
/// runs.
fn pip_install(requirements: &Path, version: &str, pip: &Pip) -> anyhow::Result<PathBuf> {
    let text = std::fs::read(requirements).with_context(|| format!("reading {}", requirements.display()))?;
    let platform = format!("manylinux2014_{}", std::env::consts::ARCH);
    let mut hasher = Sha256::new();
    for part in [b"nimbus-pip-1".as_slice(), version.as_bytes(), platform.as_bytes(), &text] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let hash = hex::encode(hasher.finalize());
    let root = &pip.cache;
    let dir = root.join(&hash);
    if dir.is_dir() {
        return Ok(dir);
    }
    std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    // Installed aside and renamed into place, so an interrupted install is never taken for a
    // finished one and two deploys racing both end up with a complete folder.
    let staging = root.join(format!(".{hash}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let python = &pip.python;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "Installing {} for python{version} (pip)…", requirements.display());
    drop(stderr);
    let out = Command::new(python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet"])
        .args(["--no-compile", "--only-binary=:all:", "--implementation", "cp"])
        .args(["--python-version", version, "--platform", &platform, "--target"])
        .arg(&staging)
        .arg("-r")
        .arg(requirements)
        .output()
        .with_context(|| {
            format!("running {} -m pip (set NIMBUS_PIP_PYTHON to another Python)", python.to_string_lossy())
        })?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        bail!(
            "pip could not install {} for python{version}:\n{}{}",
            requirements.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if let Err(e) = std::fs::rename(&staging, &dir) {
        let _ = std::fs::remove_dir_all(&staging);
        if !dir.is_dir() {
            return Err(e).with_context(|| format!("moving the installed requirements to {}", dir.display()));
        }
    }
    Ok(dir)
}

/// `nimbus`'s folder in the user's cache (`$NIMBUS_CACHE_DIR`, else `$XDG_CACHE_HOME/nimbus`,
/// else `~/.cache/nimbus`).
fn cache_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("NIMBUS_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("nimbus"));
    }
    let home = std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .context("no HOME for the package cache (set NIMBUS_CACHE_DIR)")?;
    Ok(PathBuf::from(home).join(".cache").join("nimbus"))
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

    #[test]
    fn only_python_runtimes_get_a_pip_version() {
        assert_eq!(python_version("python3.12").as_deref(), Some("3.12"));
        assert_eq!(python_version("python3.9").as_deref(), Some("3.9"));
        assert_eq!(python_version("nodejs20.x"), None);
        assert_eq!(python_version("provided.al2023"), None);
        assert_eq!(python_version("python3"), None);
    }

    fn names(zip: &[u8]) -> Vec<String> {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).expect("a zip");
        (0..archive.len())
            .map(|i| archive.by_index(i).expect("entry").name().expect("name").into_owned())
            .collect()
    }

    fn read(zip: &[u8], name: &str) -> String {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).expect("a zip");
        let mut s = String::new();
        std::io::Read::read_to_string(&mut archive.by_name(name).expect("entry"), &mut s).expect("read");
        s
    }

    /// A stand-in for `python3 -m pip install`: logs its arguments, and "installs" a package
    /// (a module and a file that clashes with the function's own) into `--target`.
    fn fake_pip(dir: &Path) -> Pip {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("fake-python");
        let log = dir.join("pip.log");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$@\" >> {log}\nwhile [ \"$1\" != --target ]; do shift; done\nmkdir -p \"$2/pkg\"\necho 'V = 1' > \"$2/pkg/__init__.py\"\necho installed > \"$2/app.py\"\n",
                log = log.display()
            ),
        )
        .expect("write script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Pip { python: script.into_os_string(), cache: dir.join("cache") }
    }

    #[test]
    fn requirements_are_installed_once_per_hash_and_packaged_beside_the_code() {
        let work = tempfile::tempdir().expect("tempdir");
        let pip = fake_pip(work.path());
        let app = work.path().join("app");
        std::fs::create_dir(&app).expect("mkdir");
        std::fs::write(app.join("app.py"), "def handler(e, c): return 1\n").expect("write");
        std::fs::write(app.join("requirements.txt"), "Pillow==11.3.0\n").expect("write");
        let reqs = app.join("requirements.txt");

        let first = package_with(&app, &reqs, "3.12", &pip).expect("package");
        assert_eq!(names(&first), vec!["app.py", "pkg/__init__.py", "requirements.txt"]);
        assert_eq!(read(&first, "app.py"), "def handler(e, c): return 1\n", "the function's own file wins");
        let log = std::fs::read_to_string(work.path().join("pip.log")).expect("pip ran");
        assert!(log.contains("-m pip install"), "{log}");
        assert!(log.contains("--python-version 3.12"), "wheels for the function's Python: {log}");
        assert!(log.contains("--only-binary=:all:"), "{log}");

        // Same requirements: the cached install, the same bytes, pip not run again.
        let second = package_with(&app, &reqs, "3.12", &pip).expect("package");
        assert_eq!(first, second);
        let runs = |w: &Path| std::fs::read_to_string(w.join("pip.log")).expect("log").lines().count();
        assert_eq!(runs(work.path()), 1);

        // Another Python version or edited requirements install again.
        package_with(&app, &reqs, "3.13", &pip).expect("package");
        assert_eq!(runs(work.path()), 2);
        std::fs::write(&reqs, "Pillow==11.2.1\n").expect("write");
        package_with(&app, &reqs, "3.12", &pip).expect("package");
        assert_eq!(runs(work.path()), 3);
        let cached = std::fs::read_dir(&pip.cache).expect("cache").count();
        assert_eq!(cached, 3, "one folder per install, no staging left behind");
    }

    #[test]
    fn a_failing_pip_fails_the_package_and_caches_nothing() {
        use std::os::unix::fs::PermissionsExt;
        let work = tempfile::tempdir().expect("tempdir");
        let script = work.path().join("bad-python");
        std::fs::write(&script, "#!/bin/sh\necho 'No matching distribution found for nope' >&2\nexit 1\n")
            .expect("write");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let pip = Pip { python: script.into_os_string(), cache: work.path().join("cache") };
        let app = work.path().join("app");
        std::fs::create_dir(&app).expect("mkdir");
        std::fs::write(app.join("requirements.txt"), "nope\n").expect("write");
        let err = package_with(&app, &app.join("requirements.txt"), "3.12", &pip).expect_err("pip failed");
        assert!(format!("{err:#}").contains("No matching distribution found for nope"), "{err:#}");
        assert_eq!(std::fs::read_dir(&pip.cache).expect("cache").count(), 0);
    }
}

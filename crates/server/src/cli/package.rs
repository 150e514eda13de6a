//! Packaging for `nimbus deploy`, as `sam package` does it: local `CodeUri`/`ContentUri`/`Code`
//! folders and files are zipped (deterministically, so unchanged code keeps its key and its
//! function is left alone by the update), uploaded once per content hash to an artifacts
//! bucket, and the template is rewritten to point at them. Functions are built first, as
//! `sam build` does: a Python function's folder with a `requirements.txt` gets its dependencies
//! installed beside its code, and a function with `Metadata: {BuildMethod: rust-cargolambda}`
//! is its folder's Cargo package built with `cargo build --release`, its binary packaged alone
//! as `bootstrap`. A function whose `Condition` is false for this deploy is not built (it will
//! not be created): its folder is zipped as it is.
//!
//! Running pip and cargo here does not break the rule that only `runtime` spawns processes: that
//! rule is about the server; this is the client's build step, on the user's machine, before any
//! request.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// How a function's folder becomes its package.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Build {
    /// Zipped as it is.
    Zip,
    /// `requirements.txt` installed beside the code, for this Python version (`3.12`).
    Pip(String),
    /// The Cargo package in the folder built in release mode; the binary named by
    /// `Metadata.BuildProperties.Binary`, else the package's only one.
    Cargo { binary: Option<String> },
}

/// One local code location of the template: where it sits, the path it names, how it is built.
struct Location<'a> {
    at: Vec<String>,
    path: PathBuf,
    slot: &'a Slot,
    build: Build,
}

/// What is known of the stack being deployed, to tell which resources its conditions leave out.
pub struct Deployment<'a> {
    pub stack: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    /// The parameter values the stack will have (the engine fills in defaults); `None` when
    /// the client cannot know them (a NoEcho value kept from the stack), so that everything is
    /// built.
    pub parameters: Option<BTreeMap<String, String>>,
}

/// Packages a template: returns the body to deploy (the original text if nothing was local).
pub async fn package(
    client: &Client,
    template_path: &Path,
    text: &str,
    deployment: &Deployment<'_>,
) -> anyhow::Result<String> {
    let mut doc = cfn_template::parse_document(text)
        .map_err(|e| anyhow::anyhow!("{}: {}", template_path.display(), e.message()))?;
    let base = template_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let region = deployment.region;
    let bucket = format!("nimbus-artifacts-{region}");
    let mut changed = false;
    let mut bucket_ready = false;
    let skipped = left_out(&doc, deployment);
    let uploads = locations(&doc, &base, &skipped);
    // Functions sharing a folder and a runtime share one package: built and uploaded once.
    let mut built: HashMap<(PathBuf, Build), String> = HashMap::new();
    for Location { at, path, slot, build } in uploads {
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
                let memo = (path.clone(), build.clone());
                let key = match built.get(&memo) {
                    Some(key) => key.clone(),
                    None => {
                        let zip = package_path(&path, &build)?;
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

/// Every local code location of the template, with how each is built. `Globals.Function.CodeUri`
/// applies to every function without its own.
fn locations<'a>(doc: &Value, base: &Path, skipped: &BTreeSet<String>) -> Vec<Location<'a>> {
    let mut out = Vec::new();
    let global_runtime = doc.pointer("/Globals/Function/Runtime").and_then(Value::as_str);
    if let Some(path) = doc.pointer("/Globals/Function/CodeUri").and_then(|v| local_path(v, base)) {
        let build = global_runtime.and_then(python_version).map_or(Build::Zip, Build::Pip);
        let at = vec!["Globals".into(), "Function".into(), "CodeUri".into()];
        out.push(Location { at, path, slot: &Slot::SamUri, build });
    }
    let Some(resources) = doc.get("Resources").and_then(Value::as_object) else { return out };
    for (id, r) in resources {
        let ty = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        for (t, prop, slot) in SLOTS {
            if *t != ty {
                continue;
            }
            let props = r.get("Properties");
            let Some(path) = props.and_then(|p| p.get(*prop)).and_then(|v| local_path(v, base)) else {
                continue;
            };
            let is_function = matches!(ty, "AWS::Serverless::Function" | "AWS::Lambda::Function");
            let build = if !is_function || skipped.contains(id) {
                Build::Zip
            } else if r.pointer("/Metadata/BuildMethod").and_then(Value::as_str) == Some(CARGO_LAMBDA) {
                let binary = r.pointer("/Metadata/BuildProperties/Binary").and_then(Value::as_str);
                Build::Cargo { binary: binary.map(str::to_owned) }
            } else {
                // SAM's Globals give serverless functions a default runtime.
                let runtime = props.and_then(|p| p.get("Runtime")).and_then(Value::as_str).or(match ty {
                    "AWS::Serverless::Function" => global_runtime,
                    _ => None,
                });
                runtime.and_then(python_version).map_or(Build::Zip, Build::Pip)
            };
            let at = vec!["Resources".into(), id.clone(), "Properties".into(), (*prop).into()];
            out.push(Location { at, path, slot, build });
        }
    }
    out
}

/// SAM's build method for Rust functions (Cargo Lambda's name; Nimbus runs `cargo` itself).
const CARGO_LAMBDA: &str = "rust-cargolambda";

/// The resources whose `Condition` is false with this deploy's parameter values. Anything the
/// client cannot evaluate (a template the engine will refuse anyway, unknown values) leaves
/// nothing out: building too much is slow, building too little deploys broken code.
fn left_out(doc: &Value, deployment: &Deployment<'_>) -> BTreeSet<String> {
    let evaluate = || -> Option<BTreeSet<String>> {
        let template = cfn_template::Template::from_value(doc).ok()?;
        if template.conditions.is_empty() {
            return Some(BTreeSet::new());
        }
        let supplied: BTreeMap<String, String> = deployment
            .parameters
            .as_ref()?
            .iter()
            .filter(|(k, _)| template.parameters.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let parameters = cfn_template::Parameters::resolve(&template.parameters, &supplied).ok()?;
        let pseudo = cfn_template::Pseudo::new(deployment.account, deployment.region, deployment.stack, "");
        let conditions = cfn_template::evaluate_conditions(&template, &parameters, &pseudo).ok()?;
        Some(
            template
                .resources
                .into_iter()
                .filter(|(_, r)| r.condition.as_ref().is_some_and(|c| conditions.get(c) == Some(&false)))
                .map(|(id, _)| id)
                .collect(),
        )
    };
    evaluate().unwrap_or_default()
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
/// an installed file of the same name); or, for a Cargo build, the binary alone.
fn package_path(path: &Path, build: &Build) -> anyhow::Result<Vec<u8>> {
    match build {
        Build::Zip => zip_path(path),
        Build::Pip(version) => {
            let requirements = path.join("requirements.txt");
            if !(path.is_dir() && requirements.is_file()) {
                return zip_path(path);
            }
            let pip = Pip {
                python: std::env::var_os("NIMBUS_PIP_PYTHON").unwrap_or_else(|| "python3".into()),
                cache: cache_dir()?.join("pip"),
            };
            package_with(path, &requirements, version, &pip)
        }
        Build::Cargo { binary } => {
            // `CARGO` is set when `nimbus` itself runs under cargo: the same toolchain then.
            let cargo = std::env::var_os("CARGO").filter(|c| !c.is_empty()).unwrap_or_else(|| "cargo".into());
            cargo_package(path, binary.as_deref(), &cargo)
        }
    }
}

/// Builds the Cargo package in `dir` with `cargo build --release` and zips its binary as
/// `bootstrap` (what `provided.al2023` runs), executable, alone at the root. No
/// cross-compilation: Nimbus runs functions on this machine. Cargo finds its own target
/// directory (`CARGO_TARGET_DIR`, the workspace's `target/`, its config), so the binary's path is
/// read from its JSON messages rather than guessed; its progress and errors go to stderr.
fn cargo_package(dir: &Path, binary: Option<&str>, cargo: &std::ffi::OsStr) -> anyhow::Result<Vec<u8>> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!(
            "{}: BuildMethod {CARGO_LAMBDA} builds the Cargo package in CodeUri, and there is no Cargo.toml there",
            dir.display()
        );
    }
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "Building {} (cargo build --release)…", dir.display());
    drop(stderr);
    let mut command = Command::new(cargo);
    command.args(["build", "--release", "--message-format=json-render-diagnostics", "--manifest-path"]);
    command.arg(&manifest);
    if let Some(name) = binary {
        command.args(["--bin", name]);
    }
    let out = command.stdin(Stdio::null()).stderr(Stdio::inherit()).output().with_context(|| {
        format!(
            "running {} to build {} (is Rust installed? set CARGO to another cargo)",
            cargo.to_string_lossy(),
            dir.display()
        )
    })?;
    if !out.status.success() {
        bail!("cargo build --release failed for {} (its errors are above)", manifest.display());
    }
    let path = built_binary(&String::from_utf8_lossy(&out.stdout), &manifest, binary)?;
    let data =
        std::fs::read(&path).with_context(|| format!("reading the built binary {}", path.display()))?;
    zip_entries(vec![("bootstrap".to_owned(), data, 0o755)])
}

/// The executable cargo reported building for the package of `manifest`: the one named, else
/// its only binary.
fn built_binary(messages: &str, manifest: &Path, binary: Option<&str>) -> anyhow::Result<PathBuf> {
    let manifest = std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_owned());
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    for line in messages.lines() {
        let Ok(m) = serde_json::from_str::<Value>(line) else { continue };
        let ours = m["manifest_path"].as_str().is_some_and(|p| {
            let p = Path::new(p);
            std::fs::canonicalize(p).map_or(p == manifest, |p| p == manifest)
        });
        let is_bin = m["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin"));
        if m["reason"] == "compiler-artifact"
            && ours
            && is_bin
            && let (Some(name), Some(exe)) = (m["target"]["name"].as_str(), m["executable"].as_str())
        {
            found.push((name.to_owned(), PathBuf::from(exe)));
        }
    }
    let names = || found.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
    match binary {
        Some(name) => match found.iter().find(|(n, _)| n == name) {
            Some((_, exe)) => Ok(exe.clone()),
            None => bail!("cargo built no binary {name} for {} (built: [{}])", manifest.display(), names()),
        },
        None => match found.as_slice() {
            [(_, exe)] => Ok(exe.clone()),
            [] => {
                bail!("cargo built no binary for {}: the package needs a [[bin]] target", manifest.display())
            }
            _ => bail!(
                "{} has several binaries ({}): name one in the function's Metadata.BuildProperties.Binary",
                manifest.display(),
                names()
            ),
        },
    }
}

/// How requirements get installed: which interpreter runs pip, and where installs are cached.
struct Pip {
    python: OsString,
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

    const APP: &str = r#"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Flavour: {Type: String, AllowedValues: [python, rust], Default: python}
Conditions:
  UseRust: !Equals [!Ref Flavour, rust]
  UsePython: !Not [!Condition UseRust]
Globals:
  Function: {Runtime: python3.12, CodeUri: py/}
Resources:
  Py:
    Type: AWS::Serverless::Function
    Condition: UsePython
    Properties: {Handler: app.handler}
  Rs:
    Type: AWS::Serverless::Function
    Condition: UseRust
    Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: resize}}
    Properties: {CodeUri: rs/, Runtime: provided.al2023, Handler: bootstrap}
  Node:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: js/, Runtime: nodejs20.x, Handler: app.handler}
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layer/}
"#;

    fn builds(parameters: Option<&[(&str, &str)]>) -> Vec<(String, Build)> {
        let doc = cfn_template::parse_document(APP).expect("template");
        let deployment = Deployment {
            stack: "app",
            account: "000000000000",
            region: "us-east-1",
            parameters: parameters
                .map(|p| p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
        };
        let skipped = left_out(&doc, &deployment);
        locations(&doc, Path::new("/app"), &skipped)
            .into_iter()
            .map(|l| (format!("{} {}", l.at.join("."), l.path.display()), l.build))
            .collect()
    }

    #[test]
    fn each_function_is_built_its_way_unless_its_condition_leaves_it_out() {
        let py = || ("Globals.Function.CodeUri /app/py/".to_owned(), Build::Pip("3.12".into()));
        let node = || ("Resources.Node.Properties.CodeUri /app/js/".to_owned(), Build::Zip);
        let layer = || ("Resources.Layer.Properties.ContentUri /app/layer/".to_owned(), Build::Zip);
        let rs = |build| ("Resources.Rs.Properties.CodeUri /app/rs/".to_owned(), build);
        let cargo = || Build::Cargo { binary: Some("resize".into()) };
        // The default leaves the Rust function out: its folder is zipped, not built.
        assert_eq!(builds(Some(&[])), vec![py(), layer(), node(), rs(Build::Zip)]);
        assert_eq!(builds(Some(&[("Flavour", "rust")])), vec![py(), layer(), node(), rs(cargo())]);
        // Values the client cannot know, or cannot make sense of: everything is built.
        assert_eq!(builds(None), vec![py(), layer(), node(), rs(cargo())]);
        assert_eq!(builds(Some(&[("Flavour", "go")])), vec![py(), layer(), node(), rs(cargo())]);
        // Values of parameters the template does not declare are the engine's to refuse.
        assert_eq!(
            builds(Some(&[("Flavour", "rust"), ("Other", "x")])),
            vec![py(), layer(), node(), rs(cargo())]
        );
    }

    /// A stand-in for cargo: logs its arguments, then answers as `cargo build
    /// --message-format=json` would for a package with the given binaries, each built as a file
    /// holding its name; `fail` makes it fail as a compile error does.
    fn fake_cargo(dir: &Path, manifest: &Path, bins: &[&str], fail: bool) -> OsString {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("fake-cargo");
        let mut body = format!("#!/bin/sh\necho \"$@\" >> {}\n", dir.join("cargo.log").display());
        if fail {
            body.push_str("echo 'error[E0425]: cannot find value `x` in this scope' >&2\nexit 101\n");
        }
        let artifact = |name: &str, kind: &str, manifest: &Path, exe: &str| {
            format!(
                r#"{{"reason":"compiler-artifact","manifest_path":"{}","target":{{"kind":["{kind}"],"name":"{name}"}},"executable":{exe}}}"#,
                manifest.display()
            )
        };
        // A dependency's binary and a build script: neither is the function.
        let dep = dir.join("dep/Cargo.toml");
        let lines = [
            r#"{"reason":"build-script-executed","package_id":"x"}"#.to_owned(),
            artifact("tool", "bin", &dep, &format!("\"{}/tool\"", dir.display())),
            artifact("build-script-build", "custom-build", manifest, "null"),
        ];
        for line in lines {
            body.push_str(&format!("echo '{line}'\n"));
        }
        for bin in bins {
            let exe = dir.join(bin);
            body.push_str(&format!("echo {bin} > {}\n", exe.display()));
            body.push_str(&format!(
                "echo '{}'\n",
                artifact(bin, "bin", manifest, &format!("\"{}\"", exe.display()))
            ));
        }
        body.push_str("echo '{\"reason\":\"build-finished\",\"success\":true}'\n");
        std::fs::write(&script, body).expect("write script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        script.into_os_string()
    }

    /// A work folder with a crate folder `fn` in it, and a fake cargo building `bins` for it.
    fn cargo_fixture(bins: &[&str], fail: bool) -> (tempfile::TempDir, PathBuf, OsString) {
        let work = tempfile::tempdir().expect("tempdir");
        let dir = work.path().join("fn");
        std::fs::create_dir_all(dir.join("src")).expect("mkdir");
        std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"f\"\n").expect("write");
        let cargo = fake_cargo(work.path(), &dir.join("Cargo.toml"), bins, fail);
        (work, dir, cargo)
    }

    #[test]
    fn a_cargo_build_packages_its_binary_alone_as_an_executable_bootstrap() {
        let (work, dir, cargo) = cargo_fixture(&["resize"], false);
        let zip = cargo_package(&dir, None, &cargo).expect("package");
        assert_eq!(names(&zip), vec!["bootstrap"]);
        assert_eq!(read(&zip, "bootstrap"), "resize\n");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.clone())).expect("a zip");
        assert_eq!(archive.by_name("bootstrap").expect("entry").unix_mode().map(|m| m & 0o777), Some(0o755));
        let log = std::fs::read_to_string(work.path().join("cargo.log")).expect("cargo ran");
        let manifest = dir.join("Cargo.toml");
        assert_eq!(
            log.trim(),
            format!(
                "build --release --message-format=json-render-diagnostics --manifest-path {}",
                manifest.display()
            )
        );
        assert_eq!(cargo_package(&dir, None, &cargo).expect("package"), zip, "same binary, same package");
    }

    #[test]
    fn the_binary_is_the_named_one_or_the_only_one() {
        let (work, dir, cargo) = cargo_fixture(&["resize", "admin"], false);
        let zip = cargo_package(&dir, Some("admin"), &cargo).expect("package");
        assert_eq!(read(&zip, "bootstrap"), "admin\n");
        let log = std::fs::read_to_string(work.path().join("cargo.log")).expect("cargo ran");
        assert!(log.trim_end().ends_with("--bin admin"), "{log}");

        let err = cargo_package(&dir, None, &cargo).expect_err("which one?");
        assert!(format!("{err:#}").contains("several binaries (resize, admin)"), "{err:#}");
        assert!(format!("{err:#}").contains("Metadata.BuildProperties.Binary"), "{err:#}");
        let err = cargo_package(&dir, Some("tool"), &cargo).expect_err("a dependency's binary");
        assert!(format!("{err:#}").contains("cargo built no binary tool"), "{err:#}");
        let none = fake_cargo(work.path(), &dir.join("Cargo.toml"), &[], false);
        let err = cargo_package(&dir, None, &none).expect_err("a library");
        assert!(format!("{err:#}").contains("needs a [[bin]] target"), "{err:#}");
    }

    #[test]
    fn cargo_failures_are_errors_that_say_what_to_do() {
        let (work, dir, failing) = cargo_fixture(&["resize"], true);
        let err = cargo_package(&dir, None, &failing).expect_err("compile error");
        assert!(format!("{err:#}").contains("cargo build --release failed for"), "{err:#}");

        let missing = work.path().join("no-such-cargo").into_os_string();
        let err = cargo_package(&dir, None, &missing).expect_err("no cargo");
        assert!(format!("{err:#}").contains("is Rust installed?"), "{err:#}");

        let empty = work.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        let err = cargo_package(&empty, None, &failing).expect_err("no Cargo.toml");
        assert!(format!("{err:#}").contains("there is no Cargo.toml there"), "{err:#}");
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

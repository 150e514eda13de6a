//! The dependency graph is the architecture: this test reads every crate's manifest and fails
//! when an edge breaks the rules written in ARCHITECTURE.md.

use std::collections::BTreeMap;
use std::path::Path;

/// A crate's internal dependencies (those that are workspace crates), normal and dev.
struct Manifest {
    package: String,
    normal: Vec<String>,
    dev: Vec<String>,
    external: Vec<String>,
}

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("crates/server is two levels down")
}

fn manifests() -> BTreeMap<String, Manifest> {
    let crates = workspace_root().join("crates");
    let mut dirs: Vec<_> = std::fs::read_dir(&crates).expect("crates/").filter_map(Result::ok).collect();
    dirs.sort_by_key(std::fs::DirEntry::file_name);
    let names: Vec<String> = dirs.iter().map(|d| d.file_name().to_string_lossy().into_owned()).collect();
    let mut out = BTreeMap::new();
    for dir in dirs {
        let path = dir.path().join("Cargo.toml");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let package = doc["package"]["name"].as_str().expect("package.name").to_owned();
        let keys = |section: &str| -> Vec<String> {
            doc.get(section)
                .and_then(|t| t.as_table())
                .map(|t| t.keys().cloned().collect())
                .unwrap_or_default()
        };
        let all_normal = keys("dependencies");
        let (normal, external): (Vec<_>, Vec<_>) = all_normal.into_iter().partition(|d| names.contains(d));
        let dev = keys("dev-dependencies").into_iter().filter(|d| names.contains(d)).collect();
        out.insert(
            dir.file_name().to_string_lossy().into_owned(),
            Manifest { package, normal, dev, external },
        );
    }
    out
}

/// Which workspace crates a crate may depend on (normal dependencies).
fn allowed(krate: &str) -> &'static [&'static str] {
    match krate {
        "types" => &[],
        // The template engine is a pure core: no internal dependency at all.
        "cfn-template" | "schedule-expr" => &[],
        // Velocity templates (API Gateway mapping templates): pure, like cfn-template.
        "vtl" => &[],
        "protocol" | "sigv4" | "event-pattern" | "dynamodb-expr" | "storage" | "ports" | "runtime" => {
            &["types"]
        }
        "storage-sqlite" | "storage-postgres" => &["storage", "types"],
        // Calls out to users' endpoints over HTTP(S); knows nothing of ours.
        "outbound" => &[],
        "gateway" => &["protocol", "sigv4", "types"],
        "server" => &["*"],
        // The load generator talks to a server over HTTP like any client; it signs with our
        // SigV4 building blocks and nothing else of ours.
        "loadgen" => &["types", "sigv4"],
        // The web console reads the services through their public APIs (`ports::ServiceApi`)
        // and is served by the gateway as an `AwsService`; it knows no service.
        "console" => &["types", "protocol", "ports"],
        s if s.starts_with("service-") => &[
            "types",
            "protocol",
            "storage",
            "ports",
            "event-pattern",
            "dynamodb-expr",
            "cfn-template",
            "schedule-expr",
            "vtl",
            "runtime",
            "outbound",
        ],
        other => {
            panic!("crate {other} has no rule in tests/architecture.rs: add one, and to ARCHITECTURE.md")
        }
    }
}

#[test]
fn folder_name_is_crate_name() {
    for (dir, m) in manifests() {
        assert_eq!(dir, m.package, "crates/{dir} holds package {}", m.package);
    }
}

#[test]
fn only_allowed_internal_edges() {
    for (name, m) in manifests() {
        let rule = allowed(&name);
        if rule == ["*"] {
            continue;
        }
        for dep in &m.normal {
            assert!(rule.contains(&dep.as_str()), "{name} must not depend on {dep} (allowed: {rule:?})");
        }
    }
}

#[test]
fn services_never_depend_on_services_even_in_tests() {
    for (name, m) in manifests() {
        // The console reads services through their APIs only, in its tests too.
        if !name.starts_with("service-") && name != "console" {
            continue;
        }
        for dep in m.normal.iter().chain(&m.dev) {
            assert!(
                !dep.starts_with("service-")
                    && !dep.starts_with("storage-")
                    && dep != "gateway"
                    && dep != "server",
                "{name} depends on {dep}: services meet through ports, wired in server"
            );
        }
    }
}

#[test]
fn pure_cores_do_no_io() {
    const IO_CRATES: &[&str] = &["tokio", "hyper", "hyper-util", "rusqlite", "reqwest", "mio", "async-std"];
    for name in [
        "types",
        "protocol",
        "sigv4",
        "event-pattern",
        "dynamodb-expr",
        "cfn-template",
        "schedule-expr",
        "vtl",
    ] {
        let Some(m) = manifests().remove(name) else { continue };
        for dep in &m.external {
            assert!(!IO_CRATES.contains(&dep.as_str()), "{name} is a sans-IO core but depends on {dep}");
        }
    }
}

#[test]
fn only_gateway_knows_the_http_server() {
    for (name, m) in manifests() {
        // The load generator is a client and its self-test a stand-in server; `runtime` serves
        // the Lambda Runtime API to function processes on their own loopback ports; `outbound`
        // is the client services call users' endpoints with. None is a front door for AWS API
        // requests.
        let clients = ["gateway", "loadgen", "runtime", "outbound"];
        if clients.contains(&name.as_str()) {
            continue;
        }
        for dep in &m.external {
            assert!(dep != "hyper" && dep != "hyper-util" && dep != "axum", "{name} depends on {dep}");
        }
    }
}

/// The example applications' functions are users' code (a workspace member only to share the
/// lockfile and the compiled SDKs): they reach Nimbus as AWS, through the SDKs, never through
/// its crates.
#[test]
fn example_functions_depend_on_no_nimbus_crate() {
    let root = workspace_root();
    let text = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let workspace: toml::Table = text.parse().expect("the workspace manifest");
    let ours: Vec<String> = manifests().into_values().map(|m| m.package).collect();
    let members = workspace["workspace"]["members"].as_array().expect("members");
    let examples: Vec<&str> =
        members.iter().filter_map(|m| m.as_str()).filter(|m| m.starts_with("examples/")).collect();
    assert!(!examples.is_empty(), "the image pipeline's Rust function is a member: {members:?}");
    for member in examples {
        let path = root.join(member).join("Cargo.toml");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            for dep in doc.get(section).and_then(|t| t.as_table()).into_iter().flat_map(|t| t.keys()) {
                assert!(!ours.contains(dep), "{member} depends on Nimbus's {dep}: examples use the AWS SDKs");
            }
        }
    }
}

//! The Cloudflare Worker: build with worker-build, run under wrangler dev (local workerd + KV +
//! Durable Objects), fully offline.
//!
//! worker-build would download wasm-bindgen and wasm-opt from GitHub and esbuild from npm; the
//! `*_BIN` variables point it at the pinned local tools instead (see BUILD-NOTES.md). wrangler
//! runs in its own process group (it spawns workerd and esbuild), with telemetry and the
//! `Request.cf` download off.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::process::{Server, free_port, repo_root, run};

/// Password-hash cost for local test servers: cheap, so suites that log in often stay fast.
const TEST_PASSWORD_COST: &str = "m=64,t=1,p=1";

/// The cargo profile of the Worker's wasm (small code: opt-level "s", fat LTO).
const PROFILE: &str = "wasm-release";

/// The worker crate's directory (wrangler.toml lives there).
fn crate_dir() -> PathBuf {
    repo_root().join("wasm/worker")
}

/// Sets the variables that keep worker-build and wrangler offline and quiet.
fn offline_env(cmd: &mut Command) -> Result<()> {
    let root = repo_root();
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    let wasm_bindgen = Path::new(&home).join(".cargo/bin/wasm-bindgen");
    let wasm_opt = root.join("node_modules/.bin/wasm-opt");
    let esbuild = root.join("node_modules/@esbuild/linux-x64/bin/esbuild");
    for tool in [&wasm_opt, &esbuild] {
        if !tool.exists() {
            bail!(
                "{} is missing: run `cargo xtask setup` (npm ci) first",
                tool.display()
            );
        }
    }
    cmd.env("WASM_BINDGEN_BIN", wasm_bindgen)
        .env("WASM_OPT_BIN", wasm_opt)
        .env("ESBUILD_BIN", esbuild)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false");
    Ok(())
}

/// `worker-build` into `out_dir` (relative to the crate), with extra cargo arguments.
fn worker_build(out_dir: &str, cargo_args: &[&str]) -> Result<()> {
    let mut cmd = Command::new("worker-build");
    // worker-build's own flags first: everything from the first cargo flag on goes to cargo.
    cmd.args(["--profile", PROFILE, "--out-dir", out_dir])
        .args(cargo_args)
        .current_dir(crate_dir());
    offline_env(&mut cmd)?;
    run(&mut cmd)
}

/// Builds the Worker bundle (wasm/worker/build).
pub fn build() -> Result<()> {
    worker_build("build", &[])
}

/// The files of the bundle `build()` writes, which `wrangler dev` serves.
const BUNDLE: [&str; 2] = ["build/index.js", "build/index_bg.wasm"];

/// `cargo xtask worker-bundle`, wrangler.toml's `[build]` command: builds the bundle unless
/// it is newer than every source it is made from (the workspace manifests and lockfile,
/// core's and the Worker's sources), so a warm `npx wrangler dev` starts at once.
pub fn bundle() -> Result<()> {
    let root = repo_root();
    let outputs: Vec<PathBuf> = BUNDLE.iter().map(|f| crate_dir().join(f)).collect();
    let sources: Vec<PathBuf> = [
        "Cargo.toml",
        "Cargo.lock",
        "core/Cargo.toml",
        "core/src",
        "wasm/worker/Cargo.toml",
        "wasm/worker/src",
    ]
    .iter()
    .map(|s| root.join(s))
    .collect();
    match crate::freshness::stale_reason(&outputs, &sources)? {
        None => {
            eprintln!("xtask: wasm/worker/build is up to date");
            Ok(())
        }
        Some(reason) => {
            eprintln!("xtask: building wasm/worker/build ({reason})");
            build()
        }
    }
}

/// `wrangler dev --local` for the bundle `script` (relative to the crate dir), on
/// 127.0.0.1:`port`, KV and Durable Object state in `state`, with extra `--var`s.
fn wrangler_dev(script: &str, port: u16, state: &Path, vars: &[&str]) -> Result<Command> {
    std::fs::create_dir_all(state)
        .with_context(|| format!("creating the state directory {}", state.display()))?;
    let state = state
        .canonicalize()
        .with_context(|| format!("resolving {}", state.display()))?;
    let wrangler = repo_root().join("node_modules/.bin/wrangler");
    if !wrangler.exists() {
        bail!("wrangler is missing: run `cargo xtask setup` (npm ci) first");
    }
    let bundle = crate_dir().join(script);
    if !bundle.exists() {
        bail!("{} is missing: build the Worker first", bundle.display());
    }
    let mut cmd = Command::new(wrangler);
    cmd.arg("dev")
        .arg(script)
        .args(["--local", "--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &free_port()?.to_string()])
        .arg("--persist-to")
        .arg(&state)
        .args([
            "--show-interactive-dev-session=false",
            "--log-level",
            "warn",
        ])
        .current_dir(crate_dir());
    for var in vars {
        cmd.args(["--var", var]);
    }
    offline_env(&mut cmd)?;
    Ok(cmd)
}

/// `cargo xtask worker-dev`: builds (unless fresh), then serves in the foreground on
/// 127.0.0.1:port.
pub fn dev(port: u16, state: &Path) -> Result<()> {
    bundle()?;
    let mut cmd = wrangler_dev("build/index.js", port, state, &[])?;
    eprintln!(
        "xtask: the Worker on http://127.0.0.1:{port} (state in {}); Ctrl-C stops it",
        state.display()
    );
    run(&mut cmd)
}

/// Starts the (already built) Worker on a free port with KV state in `state`, for tests, and
/// waits until it answers.
///
/// It runs on the same local workerd as `wrangler dev`, configured from the same wrangler.toml,
/// but through Miniflare directly behind a Node HTTP server (wasm/worker/local/serve.mjs):
/// workerd closes idle keep-alive connections after 10-15 s, and a pooling test client's POST on
/// such a socket fails (through wrangler's proxy as a 503), which made the conformance suite
/// flaky.
pub fn spawn(state: &Path) -> Result<Server> {
    spawn_with(state, &[])
}

/// [`spawn`] with extra `NAME=VALUE` vars.
pub fn spawn_with(state: &Path, vars: &[&str]) -> Result<Server> {
    let cost = format!("WORKGATE_PASSWORD_COST={TEST_PASSWORD_COST}");
    let mut all = vec![cost.as_str()];
    all.extend_from_slice(vars);
    start("build/index.js", state, &all)
}

fn start(script: &str, state: &Path, vars: &[&str]) -> Result<Server> {
    std::fs::create_dir_all(state)
        .with_context(|| format!("creating the state directory {}", state.display()))?;
    let state = state
        .canonicalize()
        .with_context(|| format!("resolving {}", state.display()))?;
    if !crate_dir().join(script).exists() {
        bail!("{script} is missing: build the Worker first");
    }
    let port = free_port()?;
    let mut cmd = Command::new("node");
    cmd.arg("local/serve.mjs")
        .arg(port.to_string())
        .arg(&state)
        .arg(script)
        .args(vars)
        .current_dir(crate_dir());
    offline_env(&mut cmd)?;
    let mut server = Server::spawn(cmd, format!("http://127.0.0.1:{port}"))?;
    server.wait_ready("/api/_info", Duration::from_secs(60))?;
    Ok(server)
}

/// The default user's key of the Worker that [`moving`] fills.
const MOVING_KEY: &str = "wg_moving_test_key_0123456789";

/// Moving a deployment to and from the Worker (README "Moving a deployment"): a fresh Worker
/// with the default user off and a configured key, into which the conformance crate's
/// `moving` test posts a dump (`POST /api/_dump`) and from which it reads it back
/// (`GET /api/_dump`), comparing every answer with the store the dump came from.
pub fn moving(state: &Path) -> Result<()> {
    let key = format!("WORKGATE_DEFAULT_USER_API_KEY={MOVING_KEY}");
    let server = spawn_with(state, &["WORKGATE_DEFAULT_USER_ENABLED=false", &key])?;
    run(Command::new(env!("CARGO"))
        .args(["test", "-p", "workgate-conformance", "--test", "moving"])
        .current_dir(repo_root())
        .env("WORKGATE_MOVING_BASE_URL", &server.base_url)
        .env("WORKGATE_MOVING_KEY", MOVING_KEY))
}

/// The generic store suite (`workgate-store-suite`) inside workerd, against local KV and
/// Durable Objects, then its planted-fault check there: builds
/// the Worker with the `store-suite` feature (into build-store-suite/, so the normal bundle
/// stays as it is), serves it with `WORKGATE_STORE_SUITE=1`, and reads the report from
/// `GET /api/_store_suite`.
pub fn store_suite(state: &Path) -> Result<()> {
    worker_build("build-store-suite", &["--features", "store-suite"])?;
    let server = start(
        "build-store-suite/index.js",
        state,
        &["WORKGATE_STORE_SUITE=1"],
    )?;
    let report = http_get(&server.base_url, "/api/_store_suite")?;
    let report: serde_json::Value =
        serde_json::from_str(&report).context("the store suite's report is not JSON")?;
    let results = report["results"].as_array().cloned().unwrap_or_default();
    let failed: Vec<_> = results
        .iter()
        .filter(|r| r["passed"] != serde_json::Value::Bool(true))
        .collect();
    for r in &failed {
        eprintln!("FAILED {}: {}", r["name"], r["message"]);
    }
    eprintln!(
        "store suite in workerd: {} passed, {} failed",
        results.len() - failed.len(),
        failed.len()
    );
    if results.is_empty() || !failed.is_empty() {
        bail!("the store suite failed on the KV store");
    }
    // Every planted fault must be caught on these stores too.
    let answer = http_get(&server.base_url, "/api/_store_suite?faults=1")?;
    let answer: serde_json::Value =
        serde_json::from_str(&answer).context("the fault check's answer is not JSON")?;
    let Some(problems) = answer["problems"].as_array() else {
        bail!("the fault check answered no problem list: {answer}");
    };
    for p in problems {
        eprintln!("FAULT NOT CAUGHT: {p}");
    }
    eprintln!(
        "planted faults in workerd: {}",
        if problems.is_empty() {
            "every one caught"
        } else {
            "some not caught"
        }
    );
    if !problems.is_empty() {
        bail!("the store suite missed planted faults on the KV store");
    }
    Ok(())
}

/// A blocking GET over a plain socket, returning the body whatever the status (the suite
/// route answers 500 with its report when a case fails). HTTP/1.0, so the body arrives
/// unchunked and ends when the connection closes.
fn http_get(base_url: &str, path: &str) -> Result<String> {
    use std::io::{Read, Write};
    let addr = base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(600)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw);
    let (_, body) = raw
        .split_once("\r\n\r\n")
        .context("no HTTP response from the Worker")?;
    Ok(body.to_string())
}

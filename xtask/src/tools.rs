//! Installs what builds and tests need, idempotently: each step checks first and does nothing
//! when the right version is already there. A fresh machine has none of it.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{repo_root, run};

/// The worker-build CLI version matching the `worker` crate.
pub const WORKER_BUILD_VERSION: &str = "0.8.7";

pub fn setup() -> Result<()> {
    wasm_target()?;
    wasm_bindgen_cli()?;
    worker_build_cli()?;
    npm_packages()?;
    chromium()?;
    Ok(())
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn wasm_target() -> Result<()> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// The wasm-bindgen crate version in Cargo.lock: the CLI must match it exactly.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock =
        std::fs::read_to_string(repo_root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(v.trim_end_matches('"').to_string());
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

pub fn wasm_bindgen_cli() -> Result<()> {
    let want = locked_wasm_bindgen_version()?;
    let have = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) != Some(want.as_str()) {
        // Not --locked: its shipped lockfile pins a crate version the registry lacks.
        run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &want]))?;
    }
    Ok(())
}

pub fn worker_build_cli() -> Result<()> {
    let have = output(Command::new("worker-build").arg("--version")).unwrap_or_default();
    if !have.contains(WORKER_BUILD_VERSION) {
        run(Command::new("cargo").args([
            "install",
            "worker-build",
            "--version",
            WORKER_BUILD_VERSION,
            "--locked",
        ]))?;
    }
    Ok(())
}

/// `npm ci` when node_modules is missing or older than package-lock.json.
pub fn npm_packages() -> Result<()> {
    let root = repo_root();
    let lock = root.join("package-lock.json");
    let stamp = root.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&stamp)) {
        (Ok(l), Ok(s)) => s.modified()? >= l.modified()?,
        _ => false,
    };
    if !fresh {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&root))?;
    }
    Ok(())
}

pub fn chromium() -> Result<()> {
    if std::path::Path::new("/usr/bin/chromium").exists() {
        return Ok(());
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args([
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "chromium",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

//! The browser package: wasm-bindgen builds for the web and for Node, and its Node tests.
//!
//! `build()` compiles `wasm/browser` for wasm32 with the `wasm-release` profile, then lays out
//! the npm package in `wasm/browser/pkg/`:
//!
//! ```text
//! pkg/package.json        from wasm/browser/js/package.json (exports: node → node/, else web/)
//! pkg/web/                wasm-bindgen --target web (ES module; `await init()` fetches the wasm)
//! pkg/node/               wasm-bindgen --target nodejs (CommonJS) + index.mjs / index.cjs
//! pkg/workerd/            the web build instantiated on import (the `workerd` condition)
//! ```
//!
//! and copies `pkg/web/` to `www/pkg/`, where the web app imports it. When npm's binaryen is
//! installed (`node_modules/.bin/wasm-opt`), the wasm is shrunk with `wasm-opt -Oz`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{repo_root, run};
use crate::tools;

/// The crate's wasm file name (its lib name).
const WASM_NAME: &str = "workgate_browser";

use crate::process::target_dir;

/// The package directory, `wasm/browser/pkg`.
pub fn package_dir() -> PathBuf {
    repo_root().join("wasm/browser/pkg")
}

/// Builds www/pkg (`--target web`) and wasm/browser/pkg (Node).
pub fn build() -> Result<()> {
    let root = repo_root();
    tools::wasm_target()?;
    check_wasm_bindgen()?;
    run(Command::new(env!("CARGO"))
        .args([
            "build",
            "-p",
            "workgate-browser",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-release",
        ])
        .current_dir(&root))?;
    let wasm = target_dir().join(format!(
        "wasm32-unknown-unknown/wasm-release/{WASM_NAME}.wasm"
    ));

    let pkg = package_dir();
    let _ = std::fs::remove_dir_all(&pkg);
    for (target, dir) in [("web", "web"), ("nodejs", "node")] {
        let out = pkg.join(dir);
        run(Command::new("wasm-bindgen")
            .arg(&wasm)
            .args(["--target", target, "--out-dir"])
            .arg(&out))?;
        optimise(&out.join(format!("{WASM_NAME}_bg.wasm")))?;
    }
    let js = root.join("wasm/browser/js");
    // The root package.json says "type": "module"; wasm-bindgen's Node output is CommonJS.
    write(&pkg.join("node/package.json"), "{\"type\":\"commonjs\"}\n")?;
    copy(&js.join("index.mjs"), &pkg.join("node/index.mjs"))?;
    copy(&js.join("index.cjs"), &pkg.join("node/index.cjs"))?;
    copy(&js.join("index.d.mts"), &pkg.join("node/index.d.mts"))?;
    std::fs::create_dir_all(pkg.join("workerd"))?;
    copy(&js.join("workerd.mjs"), &pkg.join("workerd/index.mjs"))?;
    copy(&js.join("workerd.d.mts"), &pkg.join("workerd/index.d.mts"))?;
    copy(&js.join("package.json"), &pkg.join("package.json"))?;
    copy(&root.join("wasm/browser/README.md"), &pkg.join("README.md"))?;

    let www_pkg = root.join("www/pkg");
    let _ = std::fs::remove_dir_all(&www_pkg);
    std::fs::create_dir_all(&www_pkg)?;
    for entry in std::fs::read_dir(pkg.join("web"))? {
        let entry = entry?;
        copy(&entry.path(), &www_pkg.join(entry.file_name()))?;
    }
    vendor_swagger_ui(&root)?;
    report_size(&pkg.join(format!("web/{WASM_NAME}_bg.wasm")))
}

/// The files of Swagger UI (npm's `swagger-ui-dist`, pinned in package-lock.json) that the API
/// reference at `/api/docs` loads, copied into `www/vendor/swagger-ui/` (ignored by git), so every
/// host serves them as web-app files and the page makes no third-party request.
fn vendor_swagger_ui(root: &Path) -> Result<()> {
    let dist = root.join("node_modules/swagger-ui-dist");
    if !dist.is_dir() {
        bail!("node_modules/swagger-ui-dist is missing: run `cargo xtask setup`");
    }
    let vendor = root.join("www/vendor/swagger-ui");
    let _ = std::fs::remove_dir_all(&vendor);
    std::fs::create_dir_all(&vendor)?;
    for file in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "LICENSE",
        "NOTICE",
    ] {
        copy(&dist.join(file), &vendor.join(file))?;
    }
    Ok(())
}

/// Runs the package's parity tests under `node --test`, then type-checks the web app against
/// the declarations just built (`webapp::typecheck`).
pub fn test() -> Result<()> {
    let root = repo_root();
    if !package_dir().join("node/index.mjs").exists() {
        bail!("the browser package is not built: run `cargo xtask build-web`");
    }
    let tests = root.join("wasm/browser/tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&tests)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    files.sort();
    run(Command::new("node")
        .arg("--test")
        .args(&files)
        .current_dir(&root))?;
    crate::webapp::typecheck()
}

/// The wasm-bindgen CLI must be exactly the version of the crate in Cargo.lock.
fn check_wasm_bindgen() -> Result<()> {
    let want = tools::locked_wasm_bindgen_version()?;
    let out = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .context("wasm-bindgen CLI not found: run `cargo xtask setup`")?;
    let have = String::from_utf8_lossy(&out.stdout);
    if have.split_whitespace().nth(1) != Some(want.as_str()) {
        bail!(
            "wasm-bindgen CLI is {}, Cargo.lock has {want}: run `cargo xtask setup`",
            have.trim()
        );
    }
    Ok(())
}

/// `wasm-opt -Oz` in place, when npm's binaryen is installed (Debian's is too old).
fn optimise(wasm: &Path) -> Result<()> {
    let wasm_opt = repo_root().join("node_modules/.bin/wasm-opt");
    if !wasm_opt.exists() {
        eprintln!("xtask: node_modules/.bin/wasm-opt missing; the wasm is not optimised further");
        return Ok(());
    }
    run(Command::new(wasm_opt)
        .arg(wasm)
        .args([
            "-Oz",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
            "--enable-multivalue",
            "-o",
        ])
        .arg(wasm))
}

fn report_size(wasm: &Path) -> Result<()> {
    let bytes = std::fs::read(wasm)?;
    let out = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(wasm)
        .output()
        .context("gzip")?;
    eprintln!(
        "xtask: {}: {} bytes, {} bytes gzipped",
        wasm.display(),
        bytes.len(),
        out.stdout.len()
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .map(|_| ())
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

//! The web app's checks: its type check, and its browser tests in headless Debian chromium
//! driven by playwright-core.
//!
//! [`typecheck`] runs `tsc` over `www/tsconfig.json`: every script of the app is `// @ts-check`
//! JavaScript with JSDoc types, checked against the browser package's declarations in `www/pkg/`
//! (so it runs after the package is built; `browser::test` calls it).
//!
//! `www/e2e/app.test.mjs` runs under `node --test` against a host that serves both the web app
//! and the API (the native server or the local worker). It makes its own random users and
//! workspaces, so it can share a server with other tests; its last test changes the default
//! admin's password (not its API key), so it runs after the conformance suite, which signs in
//! with it. Beside it run two quick checks that need no browser: the app's sources (no HTML
//! sinks, nothing inline for the CSP to block, `// @ts-check` everywhere, no restated field rule
//! or default credential) and the API client's error messages.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

use crate::process::{repo_root, run};

/// The chromium that playwright-core drives (Debian's package; playwright downloads nothing).
const CHROMIUM: &str = "/usr/bin/chromium";

/// Type-checks the web app against the browser package's declarations: `tsc -p www/tsconfig.json`
/// (TypeScript from package.json, nothing emitted). Needs `www/pkg/` (`cargo xtask build-web`).
pub fn typecheck() -> Result<()> {
    let root = repo_root();
    let tsc = root.join("node_modules/.bin/tsc");
    if !tsc.exists() {
        bail!("node_modules/.bin/tsc is missing: run `cargo xtask setup`");
    }
    if !root.join("www/pkg/workgate_browser.d.ts").exists() {
        bail!("www/pkg is not built: run `cargo xtask build-web`");
    }
    run(Command::new(tsc)
        .args(["-p", "www/tsconfig.json", "--pretty", "false"])
        .current_dir(&root))?;
    eprintln!("xtask: the web app type-checks against the browser package's declarations");
    Ok(())
}

/// Runs the end-to-end browser tests against a running host at `base_url`; `label` names the
/// host in screenshots (artifacts/screens/<label>/).
pub fn e2e(base_url: &str, label: &str) -> Result<()> {
    let root = repo_root();
    if !root.join("node_modules/playwright-core").exists() {
        bail!("node_modules/playwright-core is missing: run `cargo xtask setup`");
    }
    if !Path::new(CHROMIUM).exists() {
        bail!("{CHROMIUM} is missing: run `cargo xtask setup`");
    }
    let screens = root.join("artifacts/screens").join(label);
    std::fs::create_dir_all(&screens)?;
    run(Command::new("node")
        .args([
            "--test",
            "www/e2e/static.test.mjs",
            "www/e2e/api.test.mjs",
            "www/e2e/app.test.mjs",
        ])
        .env("WORKGATE_BASE_URL", base_url)
        .env("WORKGATE_SCREENS", &screens)
        .env("CHROMIUM_PATH", CHROMIUM)
        .current_dir(&root))?;
    eprintln!("xtask: screenshots in {}", screens.display());
    Ok(())
}

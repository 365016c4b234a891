//! The browser package: wasm-bindgen builds for the web and for Node, and its Node tests.

use anyhow::{Result, bail};

/// Builds www/pkg (`--target web`) and wasm/browser/pkg (Node).
pub fn build() -> Result<()> {
    bail!("not implemented yet")
}

/// Runs the package's parity tests under `node --test`.
pub fn test() -> Result<()> {
    bail!("not implemented yet")
}

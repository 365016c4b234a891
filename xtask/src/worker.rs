//! The Cloudflare Worker: build with worker-build, run under wrangler dev (local workerd + KV).

use std::path::Path;

use anyhow::{Result, bail};

use crate::process::Server;

/// Builds the Worker bundle (wasm/worker/build).
pub fn build() -> Result<()> {
    bail!("not implemented yet")
}

/// `cargo xtask worker-dev`: builds, then serves in the foreground on 127.0.0.1:port.
pub fn dev(port: u16, state: &Path) -> Result<()> {
    let _ = (port, state);
    bail!("not implemented yet")
}

/// Starts the (already built) Worker on a free port with KV state in `state`, for tests, and
/// waits until it answers.
pub fn spawn(state: &Path) -> Result<Server> {
    let _ = state;
    bail!("not implemented yet")
}

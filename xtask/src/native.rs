//! The native server: build, spawn for tests, serve, benchmark.

use std::path::Path;

use anyhow::{Result, bail};

use crate::process::Server;

/// Builds the browser package and the release server, then runs `workgate serve ARGS`.
pub fn serve(args: &[String]) -> Result<()> {
    let _ = args;
    bail!("not implemented yet")
}

/// Starts the release `workgate serve` on a free port with a fresh home in `home`, with a cheap
/// password-hash cost for tests, and waits until it answers.
pub fn spawn(home: &Path) -> Result<Server> {
    let _ = home;
    bail!("not implemented yet")
}

/// Load-generator benchmarks (issue 3).
pub fn bench() -> Result<()> {
    bail!("not implemented yet")
}

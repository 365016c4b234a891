//! Child processes that run in their own process group (wrangler spawns workerd and esbuild
//! children), stopped as a group on drop.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The repository root (the parent of `xtask/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repo")
        .to_path_buf()
}

/// Runs a command to completion, failing with its name if it exits non-zero.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: $ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A server process in its own process group; dropping it sends SIGTERM to the group, then
/// SIGKILL after 10 s.
pub struct Server {
    pub base_url: String,
    pub child: Child,
}

impl Server {
    /// Spawns `cmd` in a new process group.
    pub fn spawn(mut cmd: Command, base_url: String) -> Result<Server> {
        cmd.process_group(0);
        let child = cmd
            .spawn()
            .with_context(|| format!("could not start {cmd:?}"))?;
        Ok(Server { base_url, child })
    }

    /// Waits until `GET {base_url}{path}` answers at all (any status), or fails after `timeout`.
    pub fn wait_ready(&mut self, path: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let addr = self.base_url.trim_start_matches("http://").to_string();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("server exited early with {status}");
            }
            if http_get_ok(&addr, path) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{} did not answer within {timeout:?}", self.base_url);
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Stops the process group (SIGTERM, then SIGKILL after 10 s).
    pub fn stop(&mut self) {
        let pgid = self.child.id() as i32;
        // SAFETY: kill(2) on a process group we created; no memory is involved.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A minimal HTTP/1.1 GET over a plain TCP socket: true when any status line comes back.
fn http_get_ok(addr: &str, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf.starts_with(b"HTTP/1."))
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target/` of the repository.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

//! A real PostgreSQL for the tests: Debian's `postgresql` installed if missing (idempotent),
//! and a throwaway cluster of our own — `initdb` and `pg_ctl` run as the `postgres` user, on a
//! free port on 127.0.0.1 and a private socket directory — stopped and removed when its
//! [`Cluster`] is dropped, also when a step fails. No Docker, no pre-started server.
//!
//! [`test`] is the `cargo xtask test` step: the PostgreSQL store tests of the native crate
//! (store suite, migrations, collation, several instances) with `WORKGATE_TEST_POSTGRES_URL`
//! set, then the conformance suite over HTTP against `workgate serve --database-url
//! postgresql://...`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::process::{Server, free_port, repo_root, run, target_dir};

/// The variable the native crate's PostgreSQL tests read the cluster's URL from.
pub const ENV_TEST_URL: &str = "WORKGATE_TEST_POSTGRES_URL";
/// Cheap Argon2 cost for tests (as `native::spawn` uses).
const TEST_PASSWORD_COST: &str = "m=64,t=1,p=1";

/// The directory of PostgreSQL's server programs (`initdb`, `pg_ctl`), installing Debian's
/// `postgresql` when none is there.
pub fn server_bin_dir() -> Result<PathBuf> {
    if let Some(dir) = installed_bin_dir() {
        return Ok(dir);
    }
    run(Command::new("apt-get")
        .args(["update", "-qq"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    run(Command::new("apt-get")
        .args([
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "postgresql",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    installed_bin_dir().context("postgresql is installed but no /usr/lib/postgresql/*/bin/initdb")
}

/// The newest `/usr/lib/postgresql/<major>/bin` holding `initdb`.
fn installed_bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// A running throwaway cluster. Dropping it stops the server and removes its directory.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
}

impl Cluster {
    /// Initialises and starts a cluster in a fresh directory under the system's temp dir
    /// (the `postgres` user must be able to reach it, which a root-owned checkout may forbid).
    pub fn start() -> Result<Cluster> {
        let bin = server_bin_dir()?;
        let dir = std::env::temp_dir().join(format!(
            "workgate-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos()
        ));
        std::fs::create_dir_all(dir.join("socket"))?;
        // From here on, dropping the cluster cleans up whatever was made.
        let mut cluster = Cluster { bin, dir, port: 0 };
        run(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&cluster.dir))?;
        cluster.as_postgres(
            "initdb",
            &[
                "-D",
                &cluster.data().display().to_string(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        cluster.port = free_port()?;
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off",
            cluster.port,
            cluster.dir.join("socket").display()
        );
        cluster.as_postgres(
            "pg_ctl",
            &[
                "-D",
                &cluster.data().display().to_string(),
                "-l",
                &cluster.dir.join("server.log").display().to_string(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        eprintln!("xtask: PostgreSQL cluster on 127.0.0.1:{}", cluster.port);
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `runuser -u postgres -- <bin>/<program> ARGS`.
    fn as_postgres(&self, program: &str, args: &[&str]) -> Result<()> {
        run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(program))
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null()))
    }

    /// The URL of database `db` as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `name`.
    pub fn create_database(&self, name: &str) -> Result<()> {
        self.as_postgres(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ],
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.port != 0 {
            let _ = self.as_postgres(
                "pg_ctl",
                &[
                    "-D",
                    &self.data().display().to_string(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("xtask: could not remove {}: {e}", self.dir.display());
        }
    }
}

/// The `cargo xtask test` step: the native crate's PostgreSQL tests, then the conformance
/// suite against a server on PostgreSQL.
pub fn test(scratch: &Path) -> Result<()> {
    let cluster = Cluster::start()?;
    run(Command::new(env!("CARGO"))
        .args(["test", "-p", "workgate", "--test", "postgres_store"])
        .args(["--test", "postgres_instances"])
        // SQLite -> PostgreSQL -> SQLite through `workgate export` / `import`.
        .args(["--test", "moving"])
        .current_dir(repo_root())
        .env(ENV_TEST_URL, cluster.url("postgres")))?;

    cluster.create_database("conformance")?;
    run(Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "workgate", "--bin", "workgate"])
        .current_dir(repo_root()))?;
    std::fs::create_dir_all(scratch)?;
    let port = free_port()?;
    let mut cmd = Command::new(target_dir().join("release/workgate"));
    cmd.args(["serve", "--port", &port.to_string(), "--home"])
        .arg(scratch)
        .args(["--database-url", &cluster.url("conformance")])
        .env_remove("ARGILLA_DATABASE_URL")
        .env("WORKGATE_PASSWORD_COST", TEST_PASSWORD_COST)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(scratch.join("workgate.log"))?);
    let mut server = Server::spawn(cmd, format!("http://127.0.0.1:{port}"))?;
    if let Err(e) = server.wait_ready("/api/_info", Duration::from_secs(60)) {
        let log = std::fs::read_to_string(scratch.join("workgate.log")).unwrap_or_default();
        bail!("workgate on PostgreSQL did not start: {e:#}\n{log}");
    }
    crate::test::conformance_over_http(&server.base_url)?;
    drop(server);
    drop(cluster);
    Ok(())
}

//! `cargo xtask test`: every test of every host, in an order that fails fast.

use std::process::Command;
use std::time::Instant;

use anyhow::Result;

use crate::process::{repo_root, run};
use crate::{browser, native, postgres, python, tools, webapp, worker, worker_settings};

/// One named step of the run, for the summary.
struct Steps {
    passed: Vec<(String, f64)>,
}

impl Steps {
    fn step(&mut self, name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
        eprintln!("\n==== xtask test: {name}");
        let t = Instant::now();
        f().map_err(|e| e.context(format!("step `{name}` failed")))?;
        self.passed
            .push((name.to_string(), t.elapsed().as_secs_f64()));
        Ok(())
    }
}

fn cargo(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO"));
    c.args(args).current_dir(repo_root());
    c
}

pub fn all() -> Result<()> {
    let mut s = Steps { passed: Vec::new() };
    s.step("tools", tools::setup)?;
    s.step("format", || {
        run(&mut cargo(&["fmt", "--all", "--", "--check"]))
    })?;
    s.step("clippy", || {
        run(&mut cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // The fuzz targets (their own workspace, run by `cargo xtask fuzz` on nightly, not here)
    // must keep compiling against core as it changes.
    s.step("fuzz targets: format and clippy", || {
        run(&mut cargo(&[
            "fmt",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--all",
            "--",
            "--check",
        ]))?;
        // The main workspace's target directory: the dependencies they share build once.
        run(
            cargo(&["clippy", "--manifest-path", "fuzz/Cargo.toml", "--bins"])
                .arg("--target-dir")
                .arg(crate::process::target_dir())
                .args(["--", "-D", "warnings"]),
        )
    })?;
    s.step("core builds for wasm32", || {
        run(&mut cargo(&[
            "build",
            "-p",
            "workgate-core",
            "--target",
            "wasm32-unknown-unknown",
        ]))?;
        run(&mut cargo(&[
            "clippy",
            "-p",
            "workgate-worker",
            "-p",
            "workgate-browser",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    s.step("cargo test (core, in-process conformance, native)", || {
        run(&mut cargo(&["test", "--workspace"]))
    })?;
    s.step("browser package (node --test)", || {
        browser::build()?;
        browser::test()
    })?;
    let scratch = repo_root().join("target/xtask-test");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    // The host stages are independent (each starts its own server on its own port) and spend
    // much of their time waiting on servers, clients and browsers: they run at once, each as
    // its own `xtask test-stage` process writing its own log, shown whole when it ends.
    for (name, secs) in stages_in_parallel(&scratch, STAGES)? {
        s.passed.push((name, secs));
    }
    s.step(
        "PostgreSQL (own cluster): store suite, several instances, conformance",
        || postgres::test(&scratch.join("postgres")),
    )?;
    eprintln!("\n==== xtask test: summary");
    for (name, secs) in &s.passed {
        eprintln!("ok  {name} ({secs:.1} s)");
    }
    println!("{} passed, 0 failed", s.passed.len());
    Ok(())
}

/// The stages run at once after the in-process tests, by name (`cargo xtask test-stage NAME`).
const STAGES: &[&str] = &["native", "worker"];

/// Runs one host stage in this process (what `cargo xtask test-stage NAME` does).
pub fn stage(name: &str) -> Result<()> {
    let scratch = repo_root().join("target/xtask-test").join(name);
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    match name {
        // Conformance + web app + Argilla Python clients: native server.
        "native" => {
            let server = native::spawn(&scratch.join("server"))?;
            conformance_over_http(&server.base_url)?;
            webapp::e2e(&server.base_url, "native")?;
            python::client_compat(&server.base_url)
        }
        // Store suite in workerd, conformance + web app, moving data in and out: worker.
        "worker" => {
            worker::build()?;
            worker::store_suite(&scratch.join("store-suite"))?;
            let server = worker::spawn(&scratch.join("server"))?;
            conformance_over_http(&server.base_url)?;
            webapp::e2e(&server.base_url, "worker")?;
            drop(server);
            // ARGILLA_CORS_ORIGINS as the Worker reads it (its own Worker, other settings).
            worker_settings::check(&scratch.join("settings"))?;
            // A dump posted into a fresh Worker and read back (its own Worker, other settings).
            worker::moving(&scratch.join("moving"))
        }
        other => anyhow::bail!("no test stage named {other:?} (stages: {STAGES:?})"),
    }
}

/// Starts every stage as a child `xtask test-stage NAME` (output to `DIR/NAME.log`), waits for
/// all, prints each log, and fails naming the stages that failed.
fn stages_in_parallel(scratch: &std::path::Path, names: &[&str]) -> Result<Vec<(String, f64)>> {
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let mut running = Vec::new();
    for name in names {
        let log_path = scratch.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path)?;
        eprintln!(
            "\n==== xtask test: stage `{name}` started (log: {})",
            log_path.display()
        );
        let child = Command::new(&exe)
            .args(["test-stage", name])
            .current_dir(repo_root())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        running.push((name.to_string(), log_path, child));
    }
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    for (name, log_path, mut child) in running {
        let status = child.wait()?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "\n==== xtask test: stage `{name}` ({status}, {secs:.1} s since the stages started)"
        );
        eprintln!("{}", std::fs::read_to_string(&log_path).unwrap_or_default());
        if status.success() {
            passed.push((format!("stage {name}"), secs));
        } else {
            failed.push(name);
        }
    }
    if !failed.is_empty() {
        anyhow::bail!("test stages failed: {}", failed.join(", "));
    }
    Ok(passed)
}

/// The conformance suite against a running host.
pub fn conformance_over_http(base_url: &str) -> Result<()> {
    run(cargo(&[
        "test",
        "-p",
        "workgate-conformance",
        "--",
        "--test-threads",
        "8",
    ])
    .env("WORKGATE_BASE_URL", base_url))
}

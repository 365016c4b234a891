//! `cargo xtask test`: every test of every host, in an order that fails fast.

use std::process::Command;
use std::time::Instant;

use anyhow::Result;

use crate::process::{repo_root, run};
use crate::{browser, native, postgres, python, tools, webapp, worker};

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
    s.step(
        "conformance + web app + Argilla Python clients: native server",
        || {
            let server = native::spawn(&scratch.join("native"))?;
            conformance_over_http(&server.base_url)?;
            webapp::e2e(&server.base_url, "native")?;
            python::client_compat(&server.base_url)
        },
    )?;
    s.step(
        "PostgreSQL (own cluster): store suite, several instances, conformance",
        || postgres::test(&scratch.join("postgres")),
    )?;
    s.step(
        "store suite in workerd, conformance + web app: worker",
        || {
            worker::build()?;
            worker::store_suite(&scratch.join("worker-store-suite"))?;
            let server = worker::spawn(&scratch.join("worker"))?;
            conformance_over_http(&server.base_url)?;
            webapp::e2e(&server.base_url, "worker")
        },
    )?;
    eprintln!("\n==== xtask test: summary");
    for (name, secs) in &s.passed {
        eprintln!("ok  {name} ({secs:.1} s)");
    }
    println!("{} passed, 0 failed", s.passed.len());
    Ok(())
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

//! `cargo xtask fuzz TARGET SECONDS [--runs N]`: runs one cargo-fuzz target of `fuzz/` (`handle`,
//! `users_yaml`, `bulk_records`) for a while and says how many inputs it ran and whether it
//! crashed. Not part of `cargo xtask test` (it needs the nightly toolchain and takes long).
//!
//! The build has no sanitizer (core is safe Rust; AddressSanitizer would cost throughput and
//! find nothing the type system does not) but debug assertions and overflow checks on. The
//! corpus grows in `fuzz/corpus/TARGET` (ignored by git) from the seeds in `fuzz/seeds/TARGET`
//! where there are some;
//! a crashing input is written to `fuzz/artifacts/TARGET/` (cargo-fuzz's choice) and can be replayed with
//! `cd fuzz && cargo +nightly fuzz run -s none -a TARGET artifacts/TARGET/crash-…`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::process::{repo_root, run};

/// The targets of `fuzz/Cargo.toml`.
pub const TARGETS: [&str; 3] = ["handle", "users_yaml", "bulk_records"];

pub fn run_target(target: &str, seconds: u64, runs: Option<u64>) -> Result<()> {
    if !TARGETS.contains(&target) {
        bail!(
            "unknown fuzz target {target:?}: one of {}",
            TARGETS.join(", ")
        );
    }
    nightly()?;
    cargo_fuzz()?;
    let fuzz = repo_root().join("fuzz");
    for dir in ["corpus", "artifacts"] {
        std::fs::create_dir_all(fuzz.join(dir).join(target))?;
    }
    let mut cmd = Command::new("cargo");
    cmd.current_dir(&fuzz)
        .args([
            "+nightly",
            "fuzz",
            "run",
            "--sanitizer",
            "none",
            "--debug-assertions",
        ])
        .arg(target)
        .arg(format!("corpus/{target}"));
    if target == "handle" {
        // `handle`'s input is structured (endpoints, the world's names and the API's field names
        // come from tables), so comparison tracing finds little there that the structure does
        // not already give, and it took four tenths of the time: built without it, in a target
        // directory of its own so the other targets' builds are not redone.
        cmd.args([
            "--no-trace-compares",
            "--target-dir",
            "target/no-trace-compares",
        ]);
    }
    // Seeds, where a target has them (the structured input of `handle` needs none).
    if fuzz.join("seeds").join(target).is_dir() {
        cmd.arg(format!("seeds/{target}"));
    }
    cmd.arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .args(runs.map(|n| format!("-runs={n}")))
        .arg("-print_final_stats=1")
        .stderr(Stdio::piped());
    eprintln!("xtask: $ {cmd:?}");
    let started = std::time::Instant::now();
    let mut child = cmd.spawn().context("could not start cargo +nightly fuzz")?;
    let stderr = child.stderr.take().expect("piped");
    let mut executions = None;
    let mut crash = None;
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        eprintln!("{line}");
        if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
            executions = n.trim().parse::<u64>().ok();
        }
        if let Some(path) = line.split("Test unit written to ").nth(1) {
            crash = Some(path.trim().to_string());
        }
    }
    let status = child.wait()?;
    let executions = executions.map_or("an unknown number of".into(), |n| n.to_string());
    match crash {
        Some(path) => {
            bail!("fuzz {target}: crashed after {executions} executions; input in {path}")
        }
        None if !status.success() => bail!("fuzz {target}: cargo fuzz failed with {status}"),
        None => {
            println!(
                "fuzz {target}: {executions} executions in {:.0} s, no crash",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}

/// The nightly toolchain cargo-fuzz needs (for `-Zsanitizer`-style flags): installed if missing.
fn nightly() -> Result<()> {
    let listed = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .context("rustup is needed for the nightly toolchain")?;
    if !String::from_utf8_lossy(&listed.stdout)
        .lines()
        .any(|l| l.starts_with("nightly"))
    {
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    Ok(())
}

/// cargo-fuzz, installed once (`--locked`: its own lockfile's versions).
fn cargo_fuzz() -> Result<()> {
    let installed = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

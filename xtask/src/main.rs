//! `cargo xtask`: workgate's project automation, in Rust (see ARCHITECTURE.md).
//!
//! - `cargo xtask test`: every test of every host (what CI and the README run).
//! - `cargo xtask serve`: builds the browser package and the server, then runs the server.
//! - `cargo xtask worker-dev --port P --state DIR`: the Cloudflare Worker under local workerd.
//! - `cargo xtask worker-bundle`: the Worker's bundle, unless it is fresh (wrangler's `[build]`).
//! - `cargo xtask build-web`: the browser package (web + Node builds).
//! - `cargo xtask bench-native`: load-generator benchmarks of the native server.
//! - `cargo xtask test-postgres`: the PostgreSQL step of `test` alone (own throwaway cluster).
//! - `cargo xtask setup`: installs the tools the above need (idempotent).
//! - `cargo xtask fuzz TARGET SECONDS`: one fuzz target of `fuzz/` (nightly; not in `test`).

mod bench_datasets;
mod browser;
mod freshness;
mod fuzz;
mod native;
mod postgres;
mod process;
mod python;
mod test;
mod tools;
mod webapp;
mod worker;
mod worker_settings;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "workgate project automation")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what builds and tests need (wasm target, wasm-bindgen CLI, worker-build, npm packages, chromium).
    Setup,
    /// Run every test: core, conformance (in-process, native, worker), command line, browser package, web app.
    Test,
    /// One host stage of `test` (native, worker), as `test` runs it in parallel.
    #[command(hide = true)]
    TestStage { name: String },
    /// Build the browser package and the server, then serve (arguments go to `workgate serve`).
    Serve {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build the Worker and serve it locally under workerd (offline, local KV).
    WorkerDev {
        #[arg(long, default_value_t = 8787)]
        port: u16,
        #[arg(long, default_value = ".state/worker")]
        state: PathBuf,
    },
    /// Build the Worker's bundle (wasm/worker/build) unless it is newer than its sources;
    /// wrangler.toml's `[build]` command, so `npx wrangler dev` builds what it needs.
    WorkerBundle,
    /// Run the store suite and its planted-fault check inside workerd (one step of `test`).
    WorkerStoreSuite,
    /// Build the Worker (unless fresh) and move a dump into and out of a fresh one under
    /// workerd (one step of `test`; README "Moving a deployment").
    TestWorkerMoving,
    /// Start a throwaway PostgreSQL cluster and run the native PostgreSQL tests and the
    /// conformance suite against it (one step of `test`).
    TestPostgres,
    /// Build the browser package (www/pkg for the web, wasm/browser/pkg for Node).
    BuildWeb,
    /// Benchmark the native server with a load generator.
    BenchNative,
    /// Dataset benchmarks on the native server: ingest, scan, page latency at 1M records, rg.log.
    BenchDatasets {
        /// Only these parts (`ingest` (with the scan), `page`, `rg-log`); all when none given.
        parts: Vec<String>,
    },
    /// The Worker's CPU time for one 500-record bulk under local workerd, against `_info`.
    BenchWorkerBulk,
    /// Run one fuzz target of fuzz/ (handle, users_yaml, bulk_records) for SECONDS (nightly),
    /// or until it has run `--runs` inputs if that comes first.
    Fuzz {
        target: String,
        seconds: u64,
        #[arg(long)]
        runs: Option<u64>,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Task::Setup => tools::setup(),
        Task::Test => test::all(),
        Task::TestStage { name } => test::stage(&name),
        Task::Serve { args } => native::serve(&args),
        Task::WorkerDev { port, state } => worker::dev(port, &state),
        Task::WorkerBundle => worker::bundle(),
        Task::WorkerStoreSuite => {
            let scratch = process::repo_root().join("target/xtask-worker-store-suite");
            let _ = std::fs::remove_dir_all(&scratch);
            tools::setup().and_then(|()| worker::store_suite(&scratch))
        }
        Task::TestWorkerMoving => {
            let scratch = process::repo_root().join("target/xtask-worker-moving");
            let _ = std::fs::remove_dir_all(&scratch);
            worker::bundle().and_then(|()| worker::moving(&scratch))
        }
        Task::TestPostgres => {
            let scratch = process::repo_root().join("target/xtask-postgres");
            let _ = std::fs::remove_dir_all(&scratch);
            postgres::test(&scratch)
        }
        Task::BuildWeb => browser::build(),
        Task::BenchNative => native::bench(),
        Task::BenchDatasets { parts } => bench_datasets::run_all(&parts),
        Task::BenchWorkerBulk => bench_datasets::worker_bulk_cpu(),
        Task::Fuzz {
            target,
            seconds,
            runs,
        } => fuzz::run_target(&target, seconds, runs),
    };
    if let Err(e) = result {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

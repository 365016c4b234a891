//! The native server: build, spawn for tests, serve, benchmark.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::process::{Server, free_port, repo_root, run, target_dir};

/// Cheap Argon2 cost for tests (the default OWASP cost makes every login take ~50 ms).
const TEST_PASSWORD_COST: &str = "m=64,t=1,p=1";

fn cargo() -> Command {
    let mut c = Command::new(env!("CARGO"));
    c.current_dir(repo_root());
    c
}

fn release_binary(name: &str) -> PathBuf {
    target_dir().join("release").join(name)
}

fn release_example(name: &str) -> PathBuf {
    target_dir().join("release/examples").join(name)
}

fn build_release() -> Result<()> {
    run(cargo().args(["build", "--release", "-p", "workgate", "--bin", "workgate"]))
}

/// Builds the browser package and the release server, then runs `workgate serve ARGS`.
pub fn serve(args: &[String]) -> Result<()> {
    // A fresh machine: the web app's wasm needs the wasm32 target and the wasm-bindgen CLI.
    crate::tools::wasm_target()?;
    crate::tools::wasm_bindgen_cli()?;
    // Swagger UI for /api/docs and wasm-opt come from npm (`npm ci`, only when needed).
    if let Err(e) = crate::tools::npm_packages() {
        eprintln!("xtask: warning: npm packages not installed ({e:#}); /api/docs will say so");
    }
    if let Err(e) = crate::browser::build() {
        eprintln!("xtask: warning: the browser package did not build ({e:#}); serving without it");
    }
    run(cargo()
        .args(["run", "--release", "-p", "workgate", "--", "serve"])
        .args(args))
}

/// Starts the release `workgate serve` on a free port with a fresh home in `home`, with a cheap
/// password-hash cost for tests, and waits until it answers.
pub fn spawn(home: &Path) -> Result<Server> {
    build_release()?;
    spawn_built(home, &[("WORKGATE_PASSWORD_COST", TEST_PASSWORD_COST)])
}

/// Starts the already built release server with `env` on top of the current environment. Its
/// log goes to `<home>/workgate.log`.
fn spawn_built(home: &Path, env: &[(&str, &str)]) -> Result<Server> {
    spawn_built_with(home, env, &[])
}

/// [`spawn_built`] with more `serve` arguments (such as `--database-url`).
fn spawn_built_with(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Result<Server> {
    std::fs::create_dir_all(home)?;
    let log = std::fs::File::create(home.join("workgate.log"))?;
    let mut cmd = Command::new(release_binary("workgate"));
    cmd.args(["serve", "--port", "0", "--home"])
        .arg(home)
        .args(args)
        .env_remove("ARGILLA_DATABASE_URL")
        .env_remove("WORKGATE_PASSWORD_COST")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log);
    let (base_url, child) = start_and_read_url(cmd, "workgate listening on ")?;
    let mut server = Server { base_url, child };
    server.wait_ready("/api/_info", Duration::from_secs(30))?;
    Ok(server)
}

/// Spawns `cmd` in its own process group and waits for the stdout line `<prefix>http://...`.
fn start_and_read_url(mut cmd: Command, prefix: &str) -> Result<(String, Child)> {
    cmd.process_group(0);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start {cmd:?}"))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    let prefix = prefix.to_string();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut sent = false;
        // Keep draining after the line so that the child never blocks on a full pipe.
        for line in lines.by_ref().map_while(|l| l.ok()) {
            if !sent && let Some(url) = line.strip_prefix(&prefix) {
                let _ = tx.send(url.trim().to_string());
                sent = true;
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(url) => Ok((url, child)),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{cmd:?} did not print its listening line")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

const BENCH_CONNECTIONS: &str = "64";
const BENCH_THREADS: &str = "2";
const BENCH_SECONDS: u64 = 10;
/// The run before each measured one, not counted.
const WARMUP_SECONDS: u64 = 2;

/// One wrk run's figures.
#[derive(Debug, Clone, Default)]
struct Figures {
    requests_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
}

/// Load-generator benchmarks (issues 3 and 11): API-key `GET /api/me` against workgate and
/// against a bare axum hello-world, in one run, on SQLite and on PostgreSQL (a throwaway
/// cluster); `/api/me` p99 while logins run at the default cost; a database of 100k users, 10k
/// workspaces and 1M memberships against an empty one, with resident memory, on both; two
/// instances on one PostgreSQL (aggregate req/s); and on PostgreSQL a scan page of a dataset
/// of 1M records against one of 10k.
pub fn bench() -> Result<()> {
    ensure_wrk()?;
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "workgate",
        "--bin",
        "workgate",
        "--example",
        "hello",
        "--example",
        "bulk_load",
    ]))?;
    let scratch = repo_root().join("target/xtask-bench");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let mut rows: Vec<(String, Figures, Option<u64>)> = Vec::new();

    // 1. Bare axum.
    {
        let port = free_port()?;
        let mut cmd = Command::new(release_example("hello"));
        cmd.arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let mut hello = Server::spawn(cmd, format!("http://127.0.0.1:{port}"))?;
        hello.wait_ready("/", Duration::from_secs(10))?;
        let figures = wrk(&hello.base_url, "/", None)?;
        let rss = vm_rss_kib(hello.child.id());
        rows.push(("axum hello-world, GET /".into(), figures, rss));
        hello.stop();
    }

    // 2. workgate, empty store (the default admin and one annotator), API-key GET /api/me.
    let empty_home = scratch.join("empty");
    {
        let mut server = spawn_built(
            &empty_home,
            &[("WORKGATE_PASSWORD_COST", TEST_PASSWORD_COST)],
        )?;
        create_bench_annotator(&empty_home)?;
        let admin = wrk(&server.base_url, "/api/me", Some("argilla.apikey"))?;
        rows.push((
            "workgate, empty, GET /api/me (admin key)".into(),
            admin,
            None,
        ));
        let annotator = wrk(&server.base_url, "/api/me", Some("bench-key-1"))?;
        let rss = vm_rss_kib(server.child.id());
        rows.push((
            "workgate, empty, GET /api/me (annotator key)".into(),
            annotator,
            rss,
        ));
        server.stop();
    }

    // 3. /api/me while 4 logins are in flight at the default (OWASP) password cost.
    {
        let home = scratch.join("logins");
        let mut server = spawn_built(&home, &[])?;
        let stop = Arc::new(AtomicBool::new(false));
        let logins = Arc::new(AtomicU64::new(0));
        let addr = server.base_url.trim_start_matches("http://").to_string();
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (stop, logins, addr) = (stop.clone(), logins.clone(), addr.clone());
                std::thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(BENCH_SECONDS + 5);
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        if login(&addr, "argilla", "1234").unwrap_or(false) {
                            logins.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let figures = wrk(&server.base_url, "/api/me", Some("argilla.apikey"));
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            let _ = w.join();
        }
        let figures = figures?;
        rows.push((
            format!(
                "workgate, GET /api/me with 4 logins in flight ({} logins done, OWASP cost)",
                logins.load(Ordering::Relaxed)
            ),
            figures,
            None,
        ));
        server.stop();
    }

    // 4. 100k users, 10k workspaces, 1M memberships.
    {
        let home = scratch.join("large");
        std::fs::create_dir_all(&home)?;
        let t = Instant::now();
        run(Command::new(release_example("bulk_load"))
            .arg(home.join("workgate.db"))
            .args(["100000", "10000", "10"]))?;
        eprintln!("xtask: bulk load took {:.1}s", t.elapsed().as_secs_f64());
        let mut server = spawn_built(&home, &[("WORKGATE_PASSWORD_COST", TEST_PASSWORD_COST)])?;
        let annotator = wrk(&server.base_url, "/api/me", Some("bench-key-54321"))?;
        let rss = vm_rss_kib(server.child.id());
        rows.push((
            "workgate, 100k users/10k ws/1M members, GET /api/me (annotator, 10 ws)".into(),
            annotator,
            rss,
        ));
        let admin = wrk(&server.base_url, "/api/me", Some("bench-key-0"))?;
        rows.push((
            "workgate, 100k users/10k ws/1M members, GET /api/me (admin: 10k ws names)".into(),
            admin,
            vm_rss_kib(server.child.id()),
        ));
        server.stop();
    }

    // 5. PostgreSQL: the same, on a throwaway cluster.
    let mut notes = Vec::new();
    bench_postgres(&scratch, &mut rows, &mut notes)?;

    print_table(&rows);
    for note in notes {
        println!("{note}");
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the end (1, 5, 15 min): {}", load.trim());
    Ok(())
}

/// The PostgreSQL rows: an empty store (admin and annotator keys), two instances on one
/// database, 100k users / 10k workspaces / 1M memberships, and scan pages at 10k and 1M
/// records.
fn bench_postgres(
    scratch: &Path,
    rows: &mut Vec<(String, Figures, Option<u64>)>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let cluster = crate::postgres::Cluster::start()?;
    let cheap = [("WORKGATE_PASSWORD_COST", TEST_PASSWORD_COST)];

    // Empty store.
    cluster.create_database("bench_empty")?;
    let url = cluster.url("bench_empty");
    let home = scratch.join("pg-empty");
    let mut server = spawn_built_with(&home, &cheap, &["--database-url", &url])?;
    create_bench_annotator_with(&home, &["--database-url", &url])?;
    let admin = wrk(&server.base_url, "/api/me", Some("argilla.apikey"))?;
    rows.push((
        "workgate, PostgreSQL, empty, GET /api/me (admin key)".into(),
        admin,
        None,
    ));
    let annotator = wrk(&server.base_url, "/api/me", Some("bench-key-1"))?;
    let rss = vm_rss_kib(server.child.id());
    rows.push((
        "workgate, PostgreSQL, empty, GET /api/me (annotator key)".into(),
        annotator,
        rss,
    ));

    // Two instances on the same database, 32 connections each.
    let second = spawn_built_with(
        &scratch.join("pg-empty-2"),
        &cheap,
        &["--database-url", &url],
    )?;
    let both = std::thread::scope(|scope| {
        let runs: Vec<_> = [&server.base_url, &second.base_url]
            .into_iter()
            .map(|base| scope.spawn(move || wrk_with(base, "/api/me", Some("bench-key-1"), "32")))
            .collect();
        runs.into_iter()
            .map(|r| {
                r.join()
                    .map_err(|_| anyhow::anyhow!("wrk thread panicked"))?
            })
            .collect::<Result<Vec<Figures>>>()
    })?;
    let aggregate = Figures {
        requests_per_sec: both.iter().map(|f| f.requests_per_sec).sum(),
        p50_ms: both.iter().map(|f| f.p50_ms).fold(0.0, f64::max),
        p99_ms: both.iter().map(|f| f.p99_ms).fold(0.0, f64::max),
        non_2xx: both.iter().map(|f| f.non_2xx).sum(),
    };
    rows.push((
        "workgate, PostgreSQL, 2 instances × 32 conns, GET /api/me (annotator; sum, worst p)"
            .into(),
        aggregate,
        None,
    ));
    drop(second);
    server.stop();

    // 100k users, 10k workspaces, 1M memberships; then datasets of 10k and 1M records.
    cluster.create_database("bench_large")?;
    let url = cluster.url("bench_large");
    let t = Instant::now();
    run(Command::new(release_example("bulk_load"))
        .arg(&url)
        .args(["100000", "10000", "10"]))?;
    notes.push(format!(
        "PostgreSQL bulk load (100k users, 1M memberships): {:.1}s",
        t.elapsed().as_secs_f64()
    ));
    let mut server =
        spawn_built_with(&scratch.join("pg-large"), &cheap, &["--database-url", &url])?;
    let annotator = wrk(&server.base_url, "/api/me", Some("bench-key-54321"))?;
    let rss = vm_rss_kib(server.child.id());
    rows.push((
        "workgate, PostgreSQL, 100k users/10k ws/1M members, GET /api/me (annotator, 10 ws)".into(),
        annotator,
        rss,
    ));

    // Records: 10k logged through the API into each dataset, then the large one copied up to
    // 1M in SQL (ids r0000000…r0999999; its record count in the dataset row stays 10k). A
    // failure here is a note, not the end of the run.
    if let Err(e) = bench_scan_pages(&cluster, &server.base_url, notes) {
        notes.push(format!("PostgreSQL scan pages: not measured: {e:#}"));
    }
    server.stop();
    drop(cluster);
    Ok(())
}

/// On the large PostgreSQL database: datasets `small` (10k records) and `large` (1M), and the
/// median time of one scan page from the middle of each. The bulk loader made no default admin
/// or `argilla` workspace, which the dataset benchmark's client uses: they are added in SQL.
fn bench_scan_pages(
    cluster: &crate::postgres::Cluster,
    base_url: &str,
    notes: &mut Vec<String>,
) -> Result<()> {
    psql(
        cluster,
        "bench_large",
        "INSERT INTO workspaces (id, name, inserted_at, updated_at) \
         VALUES (gen_random_uuid(), 'argilla', 0, 0); \
         INSERT INTO users (id, username, first_name, role, password_hash, api_key_digest, \
                            api_key_prefix, security_stamp, disabled, counts_as_admin, \
                            inserted_at, updated_at) \
         SELECT gen_random_uuid(), 'argilla', 'Argilla', 'admin', password_hash, \
                sha256(convert_to('argilla.apikey', 'UTF8')), 'argill', 'bench', false, true, 0, 0 \
         FROM users WHERE username = 'user0';",
    )?;
    crate::bench_datasets::ingest(base_url, "small", 10_000, 2)?;
    crate::bench_datasets::ingest(base_url, "large", 10_000, 2)?;
    let t = Instant::now();
    psql(
        cluster,
        "bench_large",
        "INSERT INTO records (dataset_seq, id, doc) \
         SELECT r.dataset_seq, 'r' || lpad((k * 10000 + substr(r.id, 2)::int)::text, 7, '0'), \
                replace(r.doc, r.id, 'r' || lpad((k * 10000 + substr(r.id, 2)::int)::text, 7, '0')) \
         FROM records r JOIN datasets d ON d.seq = r.dataset_seq AND d.name = 'large', \
              generate_series(1, 99) k; \
         ANALYZE records;",
    )?;
    notes.push(format!(
        "PostgreSQL: 990k records copied in SQL in {:.1}s",
        t.elapsed().as_secs_f64()
    ));
    let small = crate::bench_datasets::middle_page_ms(base_url, "small", 10_000)?;
    let large = crate::bench_datasets::middle_page_ms(base_url, "large", 1_000_000)?;
    notes.push(format!(
        "PostgreSQL: one scan page of 1000 from the middle (median of 30): {small:.2} ms at 10k \
         records, {large:.2} ms at 1M ({:.2}×)",
        large / small
    ));
    Ok(())
}

/// One SQL script on database `db` of `cluster`, with `psql`.
fn psql(cluster: &crate::postgres::Cluster, db: &str, sql: &str) -> Result<()> {
    let bin = crate::postgres::server_bin_dir()?;
    run(Command::new(bin.join("psql"))
        .arg(cluster.url(db))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .stdout(Stdio::null()))
}

fn ensure_wrk() -> Result<()> {
    if Path::new("/usr/bin/wrk").exists() {
        return Ok(());
    }
    eprintln!("xtask: wrk is missing; installing Debian's package");
    run(Command::new("apt-get").args(["install", "-y", "wrk"]))
}

/// An annotator with the key `bench-key-1` and ten team workspaces, through the command line.
fn create_bench_annotator(home: &Path) -> Result<()> {
    create_bench_annotator_with(home, &[])
}

/// [`create_bench_annotator`] with more `users create` arguments (such as `--database-url`).
fn create_bench_annotator_with(home: &Path, args: &[&str]) -> Result<()> {
    let mut cmd = Command::new(release_binary("workgate"));
    cmd.arg("--home")
        .arg(home)
        .args([
            "users",
            "create",
            "--first-name",
            "Bench",
            "--username",
            "bench",
            "--password",
            "benchpass1",
            "--api-key",
            "bench-key-1",
        ])
        .args(args)
        .env_remove("ARGILLA_DATABASE_URL")
        .env("WORKGATE_PASSWORD_COST", TEST_PASSWORD_COST)
        .stdout(Stdio::null());
    for i in 0..9 {
        cmd.arg("--workspace").arg(format!("team{i}"));
    }
    run(&mut cmd)
}

/// `wrk` with 64 connections for BENCH_SECONDS against `base_url + path`.
fn wrk(base_url: &str, path: &str, api_key: Option<&str>) -> Result<Figures> {
    wrk_with(base_url, path, api_key, BENCH_CONNECTIONS)
}

/// `wrk` with `connections` for BENCH_SECONDS against `base_url + path`, after a run of
/// WARMUP_SECONDS whose figures are not kept (a fresh server's first second — connections
/// accepted, pools and caches filled, allocator arenas grown — is not its steady state).
fn wrk_with(
    base_url: &str,
    path: &str,
    api_key: Option<&str>,
    connections: &str,
) -> Result<Figures> {
    let run_for = |seconds: u64| -> Result<String> {
        let mut cmd = Command::new("wrk");
        cmd.args(["-t", BENCH_THREADS, "-c", connections, "--latency"])
            .arg("-d")
            .arg(format!("{seconds}s"));
        if let Some(key) = api_key {
            cmd.arg("-H").arg(format!("X-Argilla-Api-Key: {key}"));
        }
        cmd.arg(format!("{base_url}{path}"));
        eprintln!("xtask: $ {cmd:?}");
        let out = cmd.output().context("could not run wrk")?;
        if !out.status.success() {
            bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    };
    run_for(WARMUP_SECONDS)?;
    let text = run_for(BENCH_SECONDS)?;
    parse_wrk(&text).with_context(|| format!("could not read wrk's output:\n{text}"))
}

fn parse_wrk(text: &str) -> Option<Figures> {
    let mut f = Figures::default();
    for line in text.lines().map(str::trim) {
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next()) {
            (Some("Requests/sec:"), Some(v)) => f.requests_per_sec = v.parse().ok()?,
            (Some("50%"), Some(v)) => f.p50_ms = duration_ms(v)?,
            (Some("99%"), Some(v)) => f.p99_ms = duration_ms(v)?,
            (Some("Non-2xx"), _) => {
                f.non_2xx = line.rsplit(' ').next()?.parse().ok()?;
            }
            _ => {}
        }
    }
    (f.requests_per_sec > 0.0).then_some(f)
}

/// wrk prints `812.00us`, `1.23ms`, `2.01s`.
fn duration_ms(v: &str) -> Option<f64> {
    let (num, factor) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|n| n * factor)
}

/// One login over a fresh connection; true on 200.
fn login(addr: &str, username: &str, password: &str) -> Result<bool> {
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = format!("username={username}&password={password}");
    write!(
        s,
        "POST /api/security/token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    Ok(answer.starts_with("HTTP/1.1 200"))
}

fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn print_table(rows: &[(String, Figures, Option<u64>)]) {
    let baseline = rows.first().map(|r| r.1.requests_per_sec).unwrap_or(0.0);
    println!();
    println!(
        "wrk -t{BENCH_THREADS} -c{BENCH_CONNECTIONS} -d{BENCH_SECONDS}s --latency, on {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<84} {:>10} {:>7} {:>9} {:>9} {:>8} {:>10}",
        "run", "req/s", "×hello", "p50 ms", "p99 ms", "non-2xx", "VmRSS MiB"
    );
    for (name, f, rss) in rows {
        println!(
            "{:<84} {:>10.0} {:>7.2} {:>9.3} {:>9.3} {:>8} {:>10}",
            name,
            f.requests_per_sec,
            if baseline > 0.0 {
                f.requests_per_sec / baseline
            } else {
                0.0
            },
            f.p50_ms,
            f.p99_ms,
            f.non_2xx,
            rss.map_or("-".to_string(), |k| format!("{:.1}", k as f64 / 1024.0))
        );
    }
}

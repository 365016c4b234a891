//! `cargo xtask bench-datasets`: the dataset load benchmarks of issue 10, against the release
//! server on SQLite, over HTTP/1.1 keep-alive connections:
//!
//! 1. ingest 100k TextClassification records (about 300 bytes of text, a prediction, an
//!    annotation, 3 metadata keys) in bulks of 500, from `INGEST_CLIENTS` connections;
//! 2. scan them all the way `rg.load` does (pages of 1000, the client's `fields`, `next_idx`);
//! 3. the latency of one scan page from the middle of a dataset of 10k records against one of
//!    1M records (the id index keeps it flat);
//! 4. `rg.log` of 10k records with the real Argilla 1.8 client: the share of its wall time spent
//!    inside httpx's `send` (waiting for the server), from the client's own venv.
//!
//! Not a test: it prints figures and asserts nothing. Takes a few minutes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::native;
use crate::process::repo_root;

const KEY: &str = "argilla.apikey";
const WORKSPACE: &str = "argilla";
const INGEST_RECORDS: usize = 100_000;
const BULK: usize = 500;
const INGEST_CLIENTS: usize = 2;

/// One keep-alive connection that sends a request and reads its whole answer.
struct Conn {
    stream: BufReader<TcpStream>,
    addr: String,
}

impl Conn {
    fn open(base_url: &str) -> Result<Conn> {
        let addr = base_url.trim_start_matches("http://").to_string();
        let stream = TcpStream::connect(&addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        Ok(Conn {
            stream: BufReader::new(stream),
            addr,
        })
    }

    /// Sends `method path` with a JSON body; answers (status, body).
    fn send(&mut self, method: &str, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nX-Argilla-Api-Key: {KEY}\r\n\
             X-Argilla-Workspace: {WORKSPACE}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let mut line = String::new();
        self.stream.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("no status line: {line:?}"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse()?;
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body)?;
        Ok((status, body))
    }
}

/// A record like the issue's: about 300 bytes of text, a prediction, an annotation, 3 metadata
/// keys.
fn record(i: usize) -> serde_json::Value {
    let text = format!(
        "Review {i}: the product arrived on time and works as described, although the box was \
         a little dented and the manual could be clearer about setup. Customer support answered \
         within a day and solved the remaining issue politely. Overall a good purchase that I \
         would recommend to friends who need something similar at this price point, number {i}."
    );
    serde_json::json!({
        "id": format!("r{i:07}"),
        "inputs": {"text": text},
        "prediction": {"agent": "model-v1", "labels": [{"class": "pos", "score": 0.8}, {"class": "neg", "score": 0.2}]},
        "annotation": {"agent": "ann", "labels": [{"class": "pos", "score": 1.0}]},
        "metadata": {"source": "shop", "stars": (i % 5) + 1, "batch": i / BULK},
        "multi_label": false,
        "status": "Validated",
    })
}

fn bulk_body(from: usize, to: usize) -> Vec<u8> {
    let records: Vec<_> = (from..to).map(record).collect();
    serde_json::to_vec(&serde_json::json!({"records": records})).unwrap_or_default()
}

/// Logs records `0..n` into `dataset` from `clients` connections; answers the seconds taken.
pub(crate) fn ingest(base_url: &str, dataset: &str, n: usize, clients: usize) -> Result<f64> {
    let bulks: Vec<(usize, usize)> = (0..n)
        .step_by(BULK)
        .map(|f| (f, (f + BULK).min(n)))
        .collect();
    // Bodies made up front: the client's JSON work is not the server's time.
    let bodies: Vec<Vec<u8>> = bulks.iter().map(|(f, t)| bulk_body(*f, *t)).collect();
    let path = format!("/api/datasets/{dataset}/TextClassification:bulk");
    // The first bulk creates the dataset; the rest go in parallel.
    let mut first = Conn::open(base_url)?;
    let start = Instant::now();
    let (status, body) = first.send("POST", &path, &bodies[0])?;
    if status != 200 {
        bail!("bulk: {status} {}", String::from_utf8_lossy(&body));
    }
    let next = std::sync::atomic::AtomicUsize::new(1);
    std::thread::scope(|scope| -> Result<()> {
        let mut workers = Vec::new();
        for _ in 0..clients {
            workers.push(scope.spawn(|| -> Result<()> {
                let mut conn = Conn::open(base_url)?;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else {
                        return Ok(());
                    };
                    let (status, answer) = conn.send("POST", &path, body)?;
                    if status != 200 {
                        bail!("bulk: {status} {}", String::from_utf8_lossy(&answer));
                    }
                }
            }));
        }
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("an ingest thread panicked"))??;
        }
        Ok(())
    })?;
    Ok(start.elapsed().as_secs_f64())
}

const CLIENT_FIELDS: &str = r#"["metadata.*","status","event_timestamp","annotation*","prediction*","search_keywords","inputs.*","multi_label","explanation*","text","tokens","vectors.*","metrics.*"]"#;

/// One scan page after `after`; answers (records, next_idx).
fn scan_page(
    conn: &mut Conn,
    dataset: &str,
    after: Option<&str>,
) -> Result<(usize, Option<String>)> {
    let body = match after {
        Some(a) => format!(r#"{{"fields": {CLIENT_FIELDS}, "query": {{}}, "next_idx": "{a}"}}"#),
        None => format!(r#"{{"fields": {CLIENT_FIELDS}, "query": {{}}}}"#),
    };
    let path = format!("/api/datasets/{dataset}/records/:search?limit=1000");
    let (status, answer) = conn.send("POST", &path, body.as_bytes())?;
    if status != 200 {
        bail!("scan: {status} {}", String::from_utf8_lossy(&answer));
    }
    // Read without parsing the page: xtask is built unoptimised, and parsing a megabyte of JSON
    // there would measure the client. Every record ends with its `"id":"r…"` (the server appends
    // it), and the answer ends with `"next_idx":…`.
    let n = count(&answer, br#""id":"r"#);
    let next = find_last(&answer, br#""next_idx":""#).map(|at| {
        let rest = &answer[at + br#""next_idx":""#.len()..];
        let end = rest.iter().position(|b| *b == b'"').unwrap_or(rest.len());
        String::from_utf8_lossy(&rest[..end]).into_owned()
    });
    Ok((n, next))
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// Scans the whole dataset; answers (records, seconds).
fn scan_all(base_url: &str, dataset: &str) -> Result<(usize, f64)> {
    let mut conn = Conn::open(base_url)?;
    let start = Instant::now();
    let mut total = 0;
    let mut after: Option<String> = None;
    loop {
        let (n, next) = scan_page(&mut conn, dataset, after.as_deref())?;
        if n == 0 {
            break;
        }
        total += n;
        after = next;
    }
    Ok((total, start.elapsed().as_secs_f64()))
}

/// Median milliseconds of one scan page starting in the middle of a dataset of `n` records.
pub(crate) fn middle_page_ms(base_url: &str, dataset: &str, n: usize) -> Result<f64> {
    let mut conn = Conn::open(base_url)?;
    let after = format!("r{:07}", n / 2);
    let mut samples = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let (got, _) = scan_page(&mut conn, dataset, Some(&after))?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
        if got != 1000 {
            bail!("a middle page of {dataset} had {got} records");
        }
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Ok(samples[samples.len() / 2])
}

/// `rg.log` of 10k records with client 1.8: (wall seconds, seconds inside httpx's send).
fn rg_log_share(base_url: &str) -> Result<(f64, f64)> {
    // Where `cargo xtask test` makes the venvs (xtask/src/python.rs).
    let python = repo_root().join("target/python-venvs/argilla-1.8/bin/python");
    if !python.exists() {
        bail!(
            "{} is missing: run `cargo xtask test` once to make the venvs",
            python.display()
        );
    }
    let script = r#"
import sys, time, httpx
import argilla as rg
inside = [0.0]
send = httpx.Client.send
def timed(self, *a, **k):
    t = time.perf_counter()
    try:
        return send(self, *a, **k)
    finally:
        inside[0] += time.perf_counter() - t
httpx.Client.send = timed
rg.init(api_url=sys.argv[1], api_key="argilla.apikey", workspace="argilla")
text = "the product arrived on time and works as described, although the box was a little dented " * 3
records = [rg.TextClassificationRecord(text=f"{i} {text}", id=i, prediction=[("pos", 0.8), ("neg", 0.2)],
           annotation="pos", metadata={"source": "shop", "stars": i % 5, "batch": i // 500}) for i in range(10000)]
inside[0] = 0.0
t = time.perf_counter()
rg.log(records, name="rg-log-bench", batch_size=500, verbose=False)
print(time.perf_counter() - t, inside[0])
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(base_url)
        .output()?;
    if !out.status.success() {
        bail!("rg.log benchmark: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace().map(|p| p.parse::<f64>());
    match (parts.next(), parts.next()) {
        (Some(Ok(wall)), Some(Ok(inside))) => Ok((wall, inside)),
        _ => bail!("rg.log benchmark printed {text:?}"),
    }
}

pub fn run_all(parts: &[String]) -> Result<()> {
    const PARTS: [&str; 3] = ["ingest", "page", "rg-log"];
    if let Some(unknown) = parts.iter().find(|p| !PARTS.contains(&p.as_str())) {
        bail!("unknown part {unknown:?}: one of {}", PARTS.join(", "));
    }
    let runs = |part: &str| parts.is_empty() || parts.iter().any(|p| p == part);
    let scratch = repo_root().join("target/xtask-bench-datasets");
    let _ = std::fs::remove_dir_all(&scratch);
    let server = native::spawn(&scratch.join("home"))?;
    let url = server.base_url.clone();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("dataset benchmarks, release build on SQLite, {cores} cores, HTTP/1.1 keep-alive");

    if runs("ingest") {
        let secs = ingest(&url, "ingest", INGEST_RECORDS, INGEST_CLIENTS)?;
        println!(
            "ingest: {INGEST_RECORDS} TextClassification records in bulks of {BULK} from \
         {INGEST_CLIENTS} connections: {secs:.2} s = {:.0} records/s (goal >= 50,000)",
            INGEST_RECORDS as f64 / secs
        );
        let (n, secs) = scan_all(&url, "ingest")?;
        println!(
            "scan: {n} records in pages of 1000 with the client's fields: {secs:.2} s = {:.0} \
         records/s (goal >= 200,000)",
            n as f64 / secs
        );
    }

    if runs("page") {
        ingest(&url, "small", 10_000, INGEST_CLIENTS)?;
        let t = Instant::now();
        ingest(&url, "large", 1_000_000, INGEST_CLIENTS)?;
        println!("(1M records logged in {:.1} s)", t.elapsed().as_secs_f64());
        let small = middle_page_ms(&url, "small", 10_000)?;
        let large = middle_page_ms(&url, "large", 1_000_000)?;
        println!(
            "one scan page of 1000 from the middle: {small:.2} ms at 10k records, {large:.2} ms at \
         1M records: {:.2}x (goal <= 1.5x)",
            large / small
        );
    }

    if runs("rg-log") {
        match rg_log_share(&url) {
            Ok((wall, inside)) => println!(
                "rg.log of 10k records (client 1.8, batch_size 500): {wall:.2} s wall, {inside:.2} s \
             inside httpx send = {:.0}% waiting for the server (goal < 20%)",
                100.0 * inside / wall
            ),
            Err(e) => println!("rg.log benchmark not run: {e}"),
        }
    }
    drop(server);
    let _ = std::fs::remove_dir_all(Path::new(&scratch));
    Ok(())
}

/// Bulks sent to the Worker, and `_info` requests for the baseline.
const WORKER_BULKS: usize = 40;
const WORKER_INFOS: usize = 2_000;

/// `cargo xtask bench-worker-bulk`: the CPU time workerd spends on one 500-record bulk, from
/// the `utime + stime` of the workerd processes under the local Worker (`/proc/PID/stat`),
/// against the CPU time of one `GET /api/_info` as the per-request baseline.
pub fn worker_bulk_cpu() -> Result<()> {
    crate::tools::setup()?;
    crate::worker::build()?;
    let scratch = repo_root().join("target/xtask-bench-worker");
    let _ = std::fs::remove_dir_all(&scratch);
    let server = crate::worker::spawn(&scratch.join("state"))?;
    let url = server.base_url.clone();
    let workerd = descendants_named(server.child.id(), "workerd");
    if workerd.is_empty() {
        bail!("no workerd process found under the local Worker");
    }
    let mut conn = Conn::open(&url)?;
    // Warm up: the first bulk creates the dataset and compiles the hot paths.
    let path = "/api/datasets/cpu/TextClassification:bulk";
    for i in 0..3 {
        let (status, body) = conn.send("POST", path, &bulk_body(i * BULK, (i + 1) * BULK))?;
        if status != 200 {
            bail!("bulk: {status} {}", String::from_utf8_lossy(&body));
        }
    }
    let bodies: Vec<Vec<u8>> = (3..3 + WORKER_BULKS)
        .map(|i| bulk_body(i * BULK, (i + 1) * BULK))
        .collect();
    let before = cpu_ticks(&workerd)?;
    let start = Instant::now();
    for body in &bodies {
        let (status, answer) = conn.send("POST", path, body)?;
        if status != 200 {
            bail!("bulk: {status} {}", String::from_utf8_lossy(&answer));
        }
    }
    let bulk_wall = start.elapsed().as_secs_f64();
    let bulk_ticks = cpu_ticks(&workerd)? - before;
    let before = cpu_ticks(&workerd)?;
    for _ in 0..WORKER_INFOS {
        let (status, _) = conn.send("GET", "/api/_info", b"")?;
        if status != 200 {
            bail!("_info: {status}");
        }
    }
    let info_ticks = cpu_ticks(&workerd)? - before;
    let hz = clock_ticks_per_second();
    let per_bulk_ms = bulk_ticks as f64 * 1000.0 / hz / WORKER_BULKS as f64;
    let per_info_ms = info_ticks as f64 * 1000.0 / hz / WORKER_INFOS as f64;
    println!(
        "worker (workerd, local): one bulk of {BULK} TextClassification records: {per_bulk_ms:.1} ms \
         of workerd CPU ({WORKER_BULKS} bulks, {:.1} ms wall each); one GET /api/_info: \
         {per_info_ms:.3} ms ({WORKER_INFOS} requests); the bulk beyond the baseline: {:.1} ms",
        bulk_wall * 1000.0 / WORKER_BULKS as f64,
        per_bulk_ms - per_info_ms
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// The processes under `root` (itself included) whose command name is `name`.
fn descendants_named(root: u32, name: &str) -> Vec<u32> {
    let mut parents = std::collections::HashMap::new();
    let mut names = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces, so split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let ppid = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parents.insert(pid, ppid);
            names.insert(pid, stat[open + 1..close].to_string());
        }
    }
    let under = |mut pid: u32| loop {
        if pid == root {
            return true;
        }
        match parents.get(&pid) {
            Some(&p) if p != 0 && p != pid => pid = p,
            _ => return false,
        }
    };
    names
        .iter()
        .filter(|(pid, comm)| comm.as_str() == name && under(**pid))
        .map(|(pid, _)| *pid)
        .collect()
}

/// The user + system CPU ticks of `pids`, summed (`/proc/PID/stat` fields 14 and 15).
fn cpu_ticks(pids: &[u32]) -> Result<u64> {
    let mut total = 0;
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("reading /proc/{pid}/stat"))?;
        let close = stat.rfind(')').context("unreadable /proc stat")?;
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // After `(comm)`: state is field 3, so utime (14) and stime (15) are at 11 and 12.
        let utime: u64 = fields.get(11).context("no utime")?.parse()?;
        let stime: u64 = fields.get(12).context("no stime")?.parse()?;
        total += utime + stime;
    }
    Ok(total)
}

/// `sysconf(_SC_CLK_TCK)`, from `getconf` (100 on Linux).
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

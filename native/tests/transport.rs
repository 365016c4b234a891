//! The server against slow and greedy clients, and over-limit bodies sent by ordinary clients:
//! `workgate serve` started as a child process, talked to over loopback.
//!
//! The slow-client case is the issue's: soft and hard open-file limits both at 1,024, 1,100
//! connections from 127.0.0.1 that send a partial header and then one byte every half second,
//! and normal requests from 127.0.0.2 (loopback is all of 127/8) still answered.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Home, Served, agent, answer};

/// Starts `workgate serve` with `args`, its open-file limits (soft and hard) set to
/// `open_files` when given.
fn serve(home: &Home, args: &[&str], open_files: Option<u64>) -> Served {
    let mut all = vec!["serve", "--port", "0"];
    all.extend_from_slice(args);
    let mut cmd = home.command(&all);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(limit) = open_files {
        // SAFETY: setrlimit is async-signal-safe and touches only the child's own limits.
        unsafe {
            cmd.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: limit as libc::rlim_t,
                    rlim_max: limit as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    Served::start(cmd)
}

fn socket_addr(server: &Served) -> SocketAddr {
    server
        .base_url
        .trim_start_matches("http://")
        .parse()
        .expect("host:port")
}

/// Lets this test process open a few thousand sockets.
fn raise_own_open_file_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    assert!(
        limit.rlim_cur >= needed as libc::rlim_t,
        "this test needs {needed} open files; the hard limit is {}",
        limit.rlim_cur
    );
}

/// A connection that has sent part of a request header and sends one more byte at a time.
struct SlowClient {
    stream: TcpStream,
    opened_at: Instant,
    closed_at: Option<Instant>,
}

impl SlowClient {
    fn open(addr: SocketAddr) -> std::io::Result<SlowClient> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.write_all(b"GET /api/_info HTTP/1.1\r\nHost: slow\r\nX-Slow: ")?;
        stream.set_nonblocking(true)?;
        Ok(SlowClient {
            stream,
            opened_at: Instant::now(),
            closed_at: None,
        })
    }

    /// Sends one more header byte and notes whether the server has closed the connection.
    fn drip(&mut self) {
        if self.closed_at.is_some() {
            return;
        }
        let mut buf = [0u8; 256];
        let closed = match self.stream.read(&mut buf) {
            Ok(0) => true,
            Ok(_) => false, // an answer (a timeout's 408, say) before the close
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(_) => true,
        } || matches!(self.stream.write(b"a"), Err(e) if e.kind() != ErrorKind::WouldBlock);
        if closed {
            self.closed_at = Some(Instant::now());
        }
    }
}

/// Drips on every client every half second for `duration`, calling `during` once after the
/// first round.
fn drip_for(clients: &mut [SlowClient], duration: Duration) {
    let end = Instant::now() + duration;
    while Instant::now() < end {
        for client in clients.iter_mut() {
            client.drip();
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `GET /api/_info` from `source` (another loopback address), with its own deadline.
fn normal_request_from(source: &str, addr: SocketAddr) -> Result<(u16, Duration), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let start = Instant::now();
        let work = async {
            let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
            socket
                .bind(format!("{source}:0").parse().expect("source address"))
                .map_err(|e| format!("bind {source}: {e}"))?;
            let mut stream = socket.connect(addr).await.map_err(|e| e.to_string())?;
            stream
                .write_all(b"GET /api/_info HTTP/1.1\r\nHost: normal\r\nConnection: close\r\n\r\n")
                .await
                .map_err(|e| e.to_string())?;
            let mut answer = Vec::new();
            stream
                .read_to_end(&mut answer)
                .await
                .map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&answer);
            let status = text
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse::<u16>().ok())
                .ok_or_else(|| format!("no status line in {text:?}"))?;
            Ok::<u16, String>(status)
        };
        match tokio::time::timeout(Duration::from_secs(10), work).await {
            Ok(Ok(status)) => Ok((status, start.elapsed())),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("no answer within 10 s".to_string()),
        }
    })
}

#[test]
fn slow_clients_from_one_address_do_not_starve_the_others() {
    const SLOW: usize = 1_100;
    raise_own_open_file_limit(SLOW as u64 + 200);
    let home = Home::new();
    // A header timeout longer than the test, so what protects the others is the caps alone.
    let server = serve(&home, &["--header-timeout", "120"], Some(1024));
    let addr = socket_addr(&server);

    let mut clients = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        clients.push(SlowClient::open(addr).expect("the kernel accepts the connection"));
    }
    drip_for(&mut clients, Duration::from_secs(2));

    let mut answered = Vec::new();
    for _ in 0..3 {
        let (status, took) = normal_request_from("127.0.0.2", addr).expect("answered");
        assert_eq!(status, 200);
        answered.push(took);
    }
    drip_for(&mut clients, Duration::from_secs(1));
    let kept = clients.iter().filter(|c| c.closed_at.is_none()).count();
    println!(
        "slow clients: {SLOW} opened from 127.0.0.1, {kept} still held by the server, {} closed \
         at once (per-client cap); normal requests from 127.0.0.2: 3 of 3 answered in {answered:?}",
        SLOW - kept
    );
    // The default share of one address: a quarter of (1024 - 64 - 1024/16) = 224.
    assert_eq!(kept, 224, "the per-client cap holds");
    let (code, _, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn slow_headers_are_closed_once_the_header_timeout_passes() {
    const SLOW: usize = 300;
    raise_own_open_file_limit(SLOW as u64 + 200);
    let home = Home::new();
    let server = serve(&home, &["--header-timeout", "1.5"], None);
    let addr = socket_addr(&server);
    let mut clients: Vec<SlowClient> = (0..SLOW)
        .map(|_| SlowClient::open(addr).expect("connect"))
        .collect();
    drip_for(&mut clients, Duration::from_secs(5));
    let still_open = clients.iter().filter(|c| c.closed_at.is_none()).count();
    let lifetimes: Vec<Duration> = clients
        .iter()
        .filter_map(|c| c.closed_at.map(|t| t.duration_since(c.opened_at)))
        .collect();
    let shortest = lifetimes.iter().min().copied().unwrap_or_default();
    let longest = lifetimes.iter().max().copied().unwrap_or_default();
    println!(
        "header timeout 1.5 s: {} of {SLOW} slow connections closed by the server, each \
         between {shortest:?} and {longest:?} after it opened (seen at half-second drips)",
        SLOW - still_open
    );
    assert!(
        shortest >= Duration::from_millis(1400),
        "none closed before the timeout: {shortest:?}"
    );
    assert_eq!(still_open, 0, "every slow connection is closed");
    // A normal request is still answered afterwards.
    assert_eq!(
        normal_request_from("127.0.0.1", addr).expect("answered").0,
        200
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let home = Home::new();
    let server = serve(&home, &["--idle-timeout", "1"], None);
    let mut stream = TcpStream::connect(socket_addr(&server)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /api/_info HTTP/1.1\r\nHost: idle\r\n\r\n")
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = stream.read(&mut buf).expect("the answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let answered = Instant::now();
    // Kept alive: the next read ends when the server closes the idle connection.
    let rest = stream.read(&mut buf).expect("a close, not a read timeout");
    let waited = answered.elapsed();
    assert_eq!(rest, 0, "closed without another answer");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(8),
        "closed after {waited:?}"
    );
}

/// The 413 envelope: 1 MiB + 62 bytes to `POST /api/users` with an ordinary blocking client.
#[test]
fn an_ordinary_client_sending_too_much_reads_the_413() {
    let home = Home::new();
    let server = serve(&home, &[], None);
    let client = agent();
    let body = vec![b'x'; 1024 * 1024 + 62];
    let refused = answer(
        client
            .post(&server.url("/api/users"))
            .header("X-Argilla-Api-Key", "argilla.apikey")
            .header("Content-Type", "application/json")
            .send(&body[..]),
    );
    assert_eq!(refused.status, 413, "{refused:?}");
    assert_eq!(
        refused.json()["detail"]["code"],
        "argilla.api.errors::BadRequestError"
    );
    // The body was read away, so the connection carries the next request.
    let next = answer(client.get(&server.url("/api/_info")).call());
    assert_eq!(next.status, 200);
}

/// 32 MiB + 1 byte to a bulk endpoint, whose limit is 32 MiB.
#[test]
fn an_ordinary_client_sending_too_much_to_a_bulk_endpoint_reads_the_413() {
    let home = Home::new();
    let server = serve(&home, &[], None);
    let body = vec![b' '; 32 * 1024 * 1024 + 1];
    let refused = answer(
        agent()
            .post(&server.url("/api/datasets/big/TextClassification:bulk"))
            .header("X-Argilla-Api-Key", "argilla.apikey")
            .header("Content-Type", "application/json")
            .send(&body[..]),
    );
    assert_eq!(refused.status, 413, "{refused:?}");
    assert_eq!(
        refused.json()["detail"]["code"],
        "argilla.api.errors::BadRequestError"
    );
}

/// A chunked body has no declared length: it is refused when it passes the limit, and read
/// away so that the answer arrives.
#[test]
fn a_chunked_body_over_the_limit_is_refused_readably() {
    let home = Home::new();
    let server = serve(&home, &[], None);
    let mut stream = TcpStream::connect(socket_addr(&server)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(
            b"POST /api/workspaces HTTP/1.1\r\nHost: x\r\nX-Argilla-Api-Key: argilla.apikey\r\n\
              Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..20 {
        stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .unwrap();
        stream.write_all(&chunk).unwrap();
        stream.write_all(b"\r\n").unwrap();
    }
    stream.write_all(b"0\r\n\r\n").unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).expect("the answer");
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}

/// A client that asks before sending (`Expect: 100-continue`) is told no at once, without
/// sending the body.
#[test]
fn a_client_that_expects_100_continue_is_refused_before_it_sends() {
    let home = Home::new();
    let server = serve(&home, &[], None);
    let mut stream = TcpStream::connect(socket_addr(&server)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(
            format!(
                "POST /api/users HTTP/1.1\r\nHost: x\r\nX-Argilla-Api-Key: argilla.apikey\r\n\
                 Content-Type: application/json\r\nExpect: 100-continue\r\n\
                 Content-Length: {}\r\n\r\n",
                2 * 1024 * 1024
            )
            .as_bytes(),
        )
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
}

#[test]
fn bad_transport_flags_are_one_line_errors() {
    let home = Home::new();
    for args in [
        ["serve", "--header-timeout", "0"],
        ["serve", "--idle-timeout", "soon"],
        ["serve", "--max-connections", "0"],
        ["serve", "--log-format", "xml"],
    ] {
        let outcome = home.run(&args);
        assert_eq!(outcome.code, 2, "{args:?}: {outcome:?}");
        assert!(outcome.stderr.contains("error:"), "{outcome:?}");
    }
}

/// With a cap above what the open-file limit allows, accepts fail with `EMFILE`: the server
/// pauses instead of spinning, says so once, and serves again once descriptors are free.
#[test]
fn running_out_of_descriptors_is_survived_and_logged_once() {
    const SLOW: usize = 400;
    raise_own_open_file_limit(SLOW as u64 + 200);
    let home = Home::new();
    let server = serve(
        &home,
        &[
            "--max-connections",
            "5000",
            "--max-connections-per-client",
            "5000",
            "--header-timeout",
            "2",
        ],
        Some(256),
    );
    let addr = socket_addr(&server);
    let mut clients: Vec<SlowClient> = (0..SLOW)
        .map(|_| SlowClient::open(addr).expect("the kernel accepts the connection"))
        .collect();
    // The slow ones are closed by the header timeout; the backlog is then accepted.
    drip_for(&mut clients, Duration::from_secs(5));
    drop(clients);
    let (status, _) = normal_request_from("127.0.0.2", addr).expect("answered again");
    assert_eq!(status, 200);
    let (code, _, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
    let bursts = stderr.matches("cannot accept connections").count();
    for line in stderr.lines().filter(|l| l.contains("accept")) {
        println!("{line}");
    }
    assert!(bursts >= 1, "the accept errors were logged:\n{stderr}");
    assert!(
        bursts <= 3,
        "logged once per burst, not once per error ({bursts} lines)"
    );
    assert!(
        stderr.contains("accepting connections again after"),
        "{stderr}"
    );
}

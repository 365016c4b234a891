//! The accept loop: which connections the server takes and how long it keeps them.
//!
//! `axum::serve` accepts every connection and keeps it for as long as the client likes, so a
//! few hundred clients that send a request header one byte at a time use up the open-file
//! limit and nobody else is answered. This module is the server's own accept loop, on hyper's
//! connection builder, with the defences a server facing the internet needs:
//!
//! - a **connection cap** (a semaphore): the loop waits for a free slot before it accepts, so
//!   connections alone never exhaust the file descriptors; the default is derived from the
//!   open-file limit, which [`raise_open_file_limit`] first raises from soft to hard;
//! - a **per-client cap**: a connection from an address that already holds its share is
//!   closed at once, so one client cannot take every slot;
//! - a **header timeout**: a connection must deliver a complete request header within it,
//!   counted from the accept (or from the first byte of a following request);
//! - an **idle timeout**: a keep-alive connection with no request in progress is closed when
//!   it has been quiet that long;
//! - **accept errors** (`EMFILE`, `ENFILE`, `ENOBUFS`, ...) are survived with a short back-off
//!   and logged once per burst, instead of spinning on a listener that keeps failing;
//! - **graceful shutdown**: on the signal the loop stops accepting, every connection finishes
//!   its request in flight and closes, within [`SHUTDOWN_GRACE`]; one still waiting for a
//!   request header is closed at once.
//!
//! The whole-request time limit is the app's (`server::REQUEST_TIMEOUT`).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::metrics::{Metrics, TimeoutKind};

/// How long shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Default time a client has to send a complete request header.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time an idle keep-alive connection is kept.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// File descriptors kept back from the connection cap for everything else the process opens:
/// the SQLite database, its WAL and shared-memory files for each pooled connection, the
/// listeners, stdio, the runtime's own descriptors.
pub const RESERVED_FILES: u64 = 64;
/// The largest default cap, whatever the open-file limit (an unlimited one reads as
/// `u64::MAX`; the semaphore also has a ceiling).
pub const MAX_DEFAULT_CONNECTIONS: usize = 1 << 20;
/// How long the loop pauses after an accept error that is about resources (`EMFILE`, ...).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The limits of the accept loop; `serve` flags and `WORKGATE_*` variables set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once, all clients together.
    pub max_connections: usize,
    /// Connections open at once from one client address.
    pub max_per_client: usize,
    /// Time to deliver a complete request header.
    pub header_timeout: Duration,
    /// Time a keep-alive connection may sit idle between requests.
    pub idle_timeout: Duration,
}

impl ConnectionLimits {
    /// The defaults for a process allowed `open_files` descriptors: every descriptor but
    /// [`RESERVED_FILES`] and a sixteenth (at least 16 connections, at most
    /// [`MAX_DEFAULT_CONNECTIONS`]), and a quarter of those per client address.
    pub fn for_open_files(open_files: u64) -> ConnectionLimits {
        let spare = open_files.saturating_sub(RESERVED_FILES + open_files / 16);
        let max_connections = usize::try_from(spare)
            .unwrap_or(usize::MAX)
            .clamp(16, MAX_DEFAULT_CONNECTIONS);
        ConnectionLimits {
            max_connections,
            max_per_client: (max_connections / 4).max(1),
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Raises the soft open-file limit to the hard limit and returns the limit now in force
/// (`None` where the platform has no such limit or it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            // SAFETY: as above.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
        // RLIM_INFINITY reads as u64::MAX; the cap derived from it is bounded by usize.
        #[allow(clippy::unnecessary_cast)] // rlim_t is u32 on some platforms
        Some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// What answers each request of a connection: an async function of the request (the server's
/// [`App`](crate::server::App); no router in between).
pub trait Handler: Clone + Send + Sync + 'static {
    fn handle(
        &self,
        request: axum::extract::Request,
    ) -> impl Future<Output = axum::response::Response> + Send + 'static;
}

/// Accepts connections on `listener` and serves `app` on each until `shutdown` completes,
/// then lets in-flight requests finish (up to [`SHUTDOWN_GRACE`]).
pub async fn serve<A: Handler>(
    listener: TcpListener,
    app: A,
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let clients = ClientCounts::default();
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut accept_errors = AcceptErrors::default();
    // Tells connections that shutdown began: one with no request in flight (idle, or halfway
    // through a header) closes at once instead of holding shutdown up.
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    metrics.connection_limit(limits.max_connections);
    tokio::pin!(shutdown);

    loop {
        // A slot first: at the cap, new connections wait in the kernel's backlog instead of
        // taking a descriptor each.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_errors.failed(&error, &metrics).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        accept_errors.recovered();
        let Some(client) = clients.admit(peer, limits.max_per_client) else {
            metrics.connection_refused();
            drop(stream);
            continue;
        };
        metrics.connection_opened();
        let _ = stream.set_nodelay(true);

        let activity = Arc::new(Activity::new(Instant::now()));
        let service = RequestService {
            app: app.clone(),
            activity: activity.clone(),
        };
        let io = TokioIo::new(WatchedStream {
            stream,
            activity: activity.clone(),
        });
        let connection = graceful.watch(builder.serve_connection(io, service).into_owned());
        let metrics = metrics.clone();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            tokio::select! {
                // Errors here are the client's (reset, malformed request); hyper has answered
                // what could be answered.
                _ = connection => {}
                end = activity.expired(limits, stopping) => {
                    if let Some(kind) = end {
                        metrics.connection_timed_out(kind);
                    }
                }
            }
            metrics.connection_closed();
            drop((slot, client));
        });
    }

    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = stopping_tx.send(true);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
}

/// Counts connections per client address.
#[derive(Default, Clone)]
struct ClientCounts(Arc<Mutex<HashMap<IpAddr, usize>>>);

impl ClientCounts {
    /// A slot for `peer`, or `None` when its address already holds `max`.
    fn admit(&self, peer: SocketAddr, max: usize) -> Option<ClientSlot> {
        let ip = peer.ip().to_canonical();
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(ip).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            counts: self.clone(),
            ip,
        })
    }
}

/// One connection of a client; gives its slot back on drop.
struct ClientSlot {
    counts: ClientCounts,
    ip: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Accept errors in a row: logged when a burst starts and when it ends.
#[derive(Default)]
struct AcceptErrors {
    in_burst: u64,
}

impl AcceptErrors {
    async fn failed(&mut self, error: &io::Error, metrics: &Metrics) {
        // A connection that was reset before it was accepted is the client's business.
        if matches!(
            error.kind(),
            io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::Interrupted
        ) {
            return;
        }
        metrics.accept_error();
        if self.in_burst == 0 {
            tracing::warn!(
                "cannot accept connections ({error}); retrying every {} ms",
                ACCEPT_BACKOFF.as_millis()
            );
        }
        self.in_burst += 1;
        tokio::time::sleep(ACCEPT_BACKOFF).await;
    }

    fn recovered(&mut self) {
        if self.in_burst > 0 {
            tracing::info!(
                "accepting connections again after {} failed attempts",
                self.in_burst
            );
            self.in_burst = 0;
        }
    }
}

/// What one connection is doing, for its deadlines.
///
/// The watchdog ([`Activity::expired`]) is never woken by a request: it wakes at the
/// connection's deadline or after the shorter of the two timeouts, whichever comes first, and
/// looks again. Every change a request makes moves the deadline to at least that far ahead
/// (a header begun now ends at now + header timeout; an idle spell begun now, at now + idle
/// timeout), so the watchdog is never late, and a busy keep-alive connection costs no wake-up
/// or timer change per request.
struct Activity {
    phase: Mutex<Phase>,
}

#[derive(Debug, Clone, Copy)]
struct Phase {
    in_flight: u32,
    /// When the request header now awaited began (the accept, or its first byte).
    header_since: Option<Instant>,
    /// When the connection last became idle.
    idle_since: Instant,
}

impl Activity {
    fn new(accepted: Instant) -> Activity {
        Activity {
            phase: Mutex::new(Phase {
                in_flight: 0,
                header_since: Some(accepted),
                idle_since: accepted,
            }),
        }
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes arrived: on an idle connection they start a request header.
    fn bytes_read(&self) {
        let mut phase = self.phase();
        if phase.in_flight == 0 && phase.header_since.is_none() {
            phase.header_since = Some(Instant::now());
        }
    }

    /// A complete header arrived and the request is being handled.
    fn request_started(&self) {
        let mut phase = self.phase();
        phase.in_flight += 1;
        phase.header_since = None;
    }

    fn request_finished(&self) {
        let mut phase = self.phase();
        phase.in_flight = phase.in_flight.saturating_sub(1);
        if phase.in_flight == 0 {
            phase.idle_since = Instant::now();
        }
    }

    /// The next deadline and what it is for; `None` while a request is in flight.
    fn deadline(&self, limits: ConnectionLimits) -> Option<(Instant, TimeoutKind)> {
        let phase = *self.phase();
        if phase.in_flight > 0 {
            return None;
        }
        Some(match phase.header_since {
            Some(since) => (since + limits.header_timeout, TimeoutKind::Header),
            None => (phase.idle_since + limits.idle_timeout, TimeoutKind::Idle),
        })
    }

    /// Completes when the connection passes a deadline (with which one), or when shutdown has
    /// begun while the connection waits for a request header (`None`).
    async fn expired(
        &self,
        limits: ConnectionLimits,
        mut stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Option<TimeoutKind> {
        let look_again = limits.header_timeout.min(limits.idle_timeout);
        loop {
            let deadline = self.deadline(limits);
            // A connection halfway through a header has nothing to finish. Idle ones are
            // closed by hyper's graceful shutdown, after any answer still being written.
            if *stopping.borrow_and_update() && matches!(deadline, Some((_, TimeoutKind::Header))) {
                return None;
            }
            let next_look = Instant::now() + look_again;
            let wake = deadline.map_or(next_look, |(at, _)| at.min(next_look));
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {
                    // A passed deadline (nothing moved it later)?
                    if let Some((at, kind)) = self.deadline(limits)
                        && at <= Instant::now()
                    {
                        return Some(kind);
                    }
                }
                // Shutdown begun (or the loop gone): checked at the top.
                _ = stopping.changed() => {
                    if stopping.has_changed().is_err() {
                        return None;
                    }
                }
            }
        }
    }
}

/// The app as hyper's per-request service, telling [`Activity`] when a request starts and
/// ends.
#[derive(Clone)]
struct RequestService<A> {
    app: A,
    activity: Arc<Activity>,
}

impl<A: Handler> hyper::service::Service<hyper::Request<Incoming>> for RequestService<A> {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        self.activity.request_started();
        let in_flight = InFlight(self.activity.clone());
        let answered = self.app.handle(request.map(axum::body::Body::new));
        Box::pin(async move {
            let response = answered.await;
            drop(in_flight);
            Ok(response)
        })
    }
}

/// Marks the end of a request, also when its future is dropped (the client went away).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A TCP stream that reports reads to its connection's [`Activity`].
struct WatchedStream {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 10,
            max_per_client: 2,
            header_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn the_default_cap_leaves_descriptors_for_the_rest_of_the_process() {
        let at_1024 = ConnectionLimits::for_open_files(1024);
        assert_eq!(at_1024.max_connections, 1024 - 64 - 64);
        assert_eq!(at_1024.max_per_client, at_1024.max_connections / 4);
        assert_eq!(ConnectionLimits::for_open_files(10).max_connections, 16);
        assert_eq!(
            ConnectionLimits::for_open_files(u64::MAX).max_connections,
            MAX_DEFAULT_CONNECTIONS
        );
    }

    #[test]
    fn a_client_gets_its_share_and_no_more() {
        let counts = ClientCounts::default();
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "127.0.0.2:1000".parse().unwrap();
        let first = counts.admit(a, 2).expect("first");
        let _second = counts.admit(a, 2).expect("second");
        assert!(counts.admit(a, 2).is_none());
        assert!(
            counts.admit(b, 2).is_some(),
            "another address has its own share"
        );
        drop(first);
        assert!(
            counts.admit(a, 2).is_some(),
            "a closed connection frees its slot"
        );
    }

    #[test]
    fn an_ipv4_mapped_address_counts_as_the_ipv4_address() {
        let counts = ClientCounts::default();
        let v4: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:2".parse().unwrap();
        let _a = counts.admit(v4, 1).expect("first");
        assert!(counts.admit(mapped, 1).is_none());
    }

    #[test]
    fn deadlines_follow_the_connection_phase() {
        let start = Instant::now();
        let activity = Activity::new(start);
        let (at, kind) = activity.deadline(limits()).unwrap();
        assert_eq!(
            (at, kind),
            (start + limits().header_timeout, TimeoutKind::Header)
        );
        activity.request_started();
        assert!(activity.deadline(limits()).is_none(), "none in flight");
        activity.request_finished();
        let (_, kind) = activity.deadline(limits()).unwrap();
        assert_eq!(kind, TimeoutKind::Idle);
        activity.bytes_read();
        let (_, kind) = activity.deadline(limits()).unwrap();
        assert_eq!(kind, TimeoutKind::Header, "a new header has begun");
    }
}

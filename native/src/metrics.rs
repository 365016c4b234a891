//! The server's figures in the Prometheus text format, on a listener of their own.
//!
//! The figures are kept and served only when `serve --metrics-addr` names an address (without
//! it requests are not counted at all: a label lookup per request that no one would read), and
//! never through the API's port. What is counted:
//!
//! - `workgate_http_requests_total{method,route,status}`: requests by route *template*
//!   (`/api/users/{user_id}`, from core's endpoint declarations), never by concrete path, so
//!   the number of series stays bounded; `(web app)` for the embedded web app, `(unmatched)`
//!   for `/api` paths that match no endpoint;
//! - `workgate_http_request_duration_seconds{method,route}`: a latency histogram;
//! - `workgate_logins_total{outcome}`: `POST /api/security/token` answered 200 (`succeeded`),
//!   401 (`failed`) or 429 (`throttled`);
//! - `workgate_store_errors_total`: answers 500, which the engine gives when a store failed;
//! - `workgate_connections_*`: open, accepted, refused by the per-client cap, closed by the
//!   header or idle timeout, accept errors, and the connection cap in force;
//! - `workgate_caller_cache_*`: core's caller cache (hits, misses, entries, capacity), and
//!   `workgate_database_pool_*`: the PostgreSQL pool (connections by state, waiters, size) —
//!   both read from their source when scraped ([`Metrics::read_from`]).
//!
//! `prometheus-client` (the Prometheus project's own Rust client) keeps and encodes them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// The route label of requests for the web app.
pub const WEB_APP_ROUTE: &str = "(web app)";
/// The route label of `/api` requests that match no endpoint.
pub const UNMATCHED_ROUTE: &str = "(unmatched)";
/// The path of the login endpoint, whose answers count as login outcomes.
const LOGIN_ROUTE: &str = "/api/security/token";
/// Latency buckets, in seconds: from half a millisecond to the whole-request time limit.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabels {
    /// `succeeded`, `failed` or `throttled`.
    outcome: &'static str,
}

/// Which deadline closed a connection.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum TimeoutKind {
    Header,
    Idle,
}

impl TimeoutKind {
    fn label(self) -> &'static str {
        match self {
            TimeoutKind::Header => "header",
            TimeoutKind::Idle => "idle",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TimeoutLabels {
    /// `header` or `idle`.
    timeout: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The PostgreSQL pool's figures at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolFigures {
    pub max_size: usize,
    pub size: usize,
    pub available: usize,
    pub waiting: usize,
}

/// Reads the database pool's figures.
#[derive(Clone)]
pub struct PoolSource(pub Arc<dyn Fn() -> PoolFigures + Send + Sync>);

impl std::fmt::Debug for PoolSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PoolSource")
    }
}

/// Where figures kept elsewhere are read from at each scrape.
pub struct Sources {
    pub engine: Arc<workgate_core::Engine>,
    /// The database pool, on PostgreSQL.
    pub pool: Option<PoolSource>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolStateLabels {
    /// `idle` or `in_use`.
    state: &'static str,
}

/// Every figure the server keeps.
pub struct Metrics {
    sources: std::sync::OnceLock<Sources>,
    /// Serializes scrapes, which bring the counters below up to their sources.
    scraping: std::sync::Mutex<()>,
    cache_hits: Counter,
    cache_misses: Counter,
    cache_entries: Gauge,
    cache_capacity: Gauge,
    pool_connections: Family<PoolStateLabels, Gauge>,
    pool_waiting: Gauge,
    pool_max: Gauge,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    logins: Family<LoginLabels, Counter>,
    store_errors: Counter,
    connections_open: Gauge,
    connections_accepted: Counter,
    connections_refused: Counter,
    connections_timed_out: Family<TimeoutLabels, Counter>,
    accept_errors: Counter,
    connection_limit: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut metrics = Metrics {
            sources: std::sync::OnceLock::new(),
            scraping: std::sync::Mutex::new(()),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            cache_entries: Gauge::default(),
            cache_capacity: Gauge::default(),
            pool_connections: Family::default(),
            pool_waiting: Gauge::default(),
            pool_max: Gauge::default(),
            registry: Registry::with_prefix("workgate"),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            logins: Family::default(),
            store_errors: Counter::default(),
            connections_open: Gauge::default(),
            connections_accepted: Counter::default(),
            connections_refused: Counter::default(),
            connections_timed_out: Family::default(),
            accept_errors: Counter::default(),
            connection_limit: Gauge::default(),
        };
        let r = &mut metrics.registry;
        r.register(
            "http_requests",
            "Requests answered, by method, route template and status",
            metrics.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time from the request header to the answer, by method and route template",
            metrics.latency.clone(),
        );
        r.register(
            "logins",
            "Logins at POST /api/security/token by outcome",
            metrics.logins.clone(),
        );
        r.register(
            "store_errors",
            "Answers 500: a store failed",
            metrics.store_errors.clone(),
        );
        r.register(
            "connections_open",
            "Connections open now",
            metrics.connections_open.clone(),
        );
        r.register(
            "connections_accepted",
            "Connections accepted and served",
            metrics.connections_accepted.clone(),
        );
        r.register(
            "connections_refused",
            "Connections closed at once because their client address held its share",
            metrics.connections_refused.clone(),
        );
        r.register(
            "connections_timed_out",
            "Connections closed by the header or the idle timeout",
            metrics.connections_timed_out.clone(),
        );
        r.register(
            "accept_errors",
            "Failed accepts (such as EMFILE), each followed by a short pause",
            metrics.accept_errors.clone(),
        );
        r.register(
            "connections_limit",
            "The cap on connections open at once",
            metrics.connection_limit.clone(),
        );
        r.register(
            "caller_cache_hits",
            "Requests authenticated from the caller cache",
            metrics.cache_hits.clone(),
        );
        r.register(
            "caller_cache_misses",
            "Requests whose caller was looked up in the store (directory changed, or not kept)",
            metrics.cache_misses.clone(),
        );
        r.register(
            "caller_cache_entries",
            "Callers kept in the cache now",
            metrics.cache_entries.clone(),
        );
        r.register(
            "caller_cache_capacity",
            "The most callers the cache keeps",
            metrics.cache_capacity.clone(),
        );
        metrics
    }

    /// Reads the caller cache's (and the pool's) figures from `sources` at each scrape.
    pub fn read_from(&mut self, sources: Sources) {
        if sources.pool.is_some() {
            let r = &mut self.registry;
            r.register(
                "database_pool_connections",
                "PostgreSQL connections open, by state (idle, in_use)",
                self.pool_connections.clone(),
            );
            r.register(
                "database_pool_waiting",
                "Requests waiting for a pooled PostgreSQL connection",
                self.pool_waiting.clone(),
            );
            r.register(
                "database_pool_max",
                "The most PostgreSQL connections the pool opens",
                self.pool_max.clone(),
            );
        }
        let _ = self.sources.set(sources);
    }

    /// Brings the figures read from elsewhere up to date.
    fn refresh(&self) {
        let Some(sources) = self.sources.get() else {
            return;
        };
        let _one_at_a_time = self.scraping.lock().unwrap_or_else(|e| e.into_inner());
        let cache = sources.engine.caller_cache_figures();
        self.cache_hits
            .inc_by(cache.hits.saturating_sub(self.cache_hits.get()));
        self.cache_misses
            .inc_by(cache.misses.saturating_sub(self.cache_misses.get()));
        self.cache_entries.set(gauge(cache.entries as usize));
        self.cache_capacity.set(gauge(cache.capacity as usize));
        if let Some(pool) = &sources.pool {
            let pool = (pool.0)();
            let idle = pool.available.min(pool.size);
            self.pool_connections
                .get_or_create(&PoolStateLabels { state: "idle" })
                .set(gauge(idle));
            self.pool_connections
                .get_or_create(&PoolStateLabels { state: "in_use" })
                .set(gauge(pool.size - idle));
            self.pool_waiting.set(gauge(pool.waiting));
            self.pool_max.set(gauge(pool.max_size));
        }
    }

    /// Counts one answered request. `route` is a template or one of the labels above.
    pub fn request(&self, method: &str, route: &'static str, status: u16, elapsed: Duration) {
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { method, route })
            .observe(elapsed.as_secs_f64());
        if route == LOGIN_ROUTE && method == "POST" {
            let outcome = match status {
                200 => Some("succeeded"),
                401 => Some("failed"),
                429 => Some("throttled"),
                _ => None,
            };
            if let Some(outcome) = outcome {
                self.logins.get_or_create(&LoginLabels { outcome }).inc();
            }
        }
        if status == 500 {
            self.store_errors.inc();
        }
    }

    pub fn connection_opened(&self) {
        self.connections_accepted.inc();
        self.connections_open.inc();
    }

    pub fn connection_closed(&self) {
        self.connections_open.dec();
    }

    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    pub fn connection_timed_out(&self, timeout: TimeoutKind) {
        self.connections_timed_out
            .get_or_create(&TimeoutLabels {
                timeout: timeout.label(),
            })
            .inc();
    }

    pub fn accept_error(&self) {
        self.accept_errors.inc();
    }

    pub fn connection_limit(&self, limit: usize) {
        self.connection_limit
            .set(i64::try_from(limit).unwrap_or(i64::MAX));
    }

    /// The figures in the Prometheus text format (0.0.4).
    pub fn encode(&self) -> String {
        self.refresh();
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The method as a label of bounded cardinality: the standard methods, else `other`.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("other")
}

/// Binds the metrics listener; [`serve`] then answers `GET /metrics` on it.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `GET /metrics` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async { (StatusCode::NOT_FOUND, "metrics are at /metrics\n") })
        .with_state(metrics);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn scrape(axum::extract::State(metrics): axum::extract::State<Arc<Metrics>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )],
        metrics.encode(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_template_and_logins_by_outcome() {
        let metrics = Metrics::new();
        let ms = Duration::from_millis(3);
        metrics.request("GET", "/api/users/{user_id}", 200, ms);
        metrics.request("GET", "/api/users/{user_id}", 200, ms);
        metrics.request("POST", LOGIN_ROUTE, 401, ms);
        metrics.request("POST", LOGIN_ROUTE, 429, ms);
        metrics.request("POST", LOGIN_ROUTE, 200, ms);
        metrics.request("BREW", UNMATCHED_ROUTE, 500, ms);
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"workgate_http_requests_total{method="GET",route="/api/users/{user_id}",status="200"} 2"#
            ),
            "{text}"
        );
        for outcome in ["succeeded", "failed", "throttled"] {
            assert!(
                text.contains(&format!(
                    r#"workgate_logins_total{{outcome="{outcome}"}} 1"#
                )),
                "{text}"
            );
        }
        assert!(text.contains("workgate_store_errors_total 1"), "{text}");
        assert!(text.contains(r#"method="other""#), "{text}");
        assert!(
            text.contains(
                r#"workgate_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/users/{user_id}"} 2"#
            ) || text.contains(
                r#"workgate_http_request_duration_seconds_bucket{method="GET",route="/api/users/{user_id}",le="0.005"} 2"#
            ),
            "{text}"
        );
    }
}

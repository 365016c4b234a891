//! Where the suite's requests go: an in-process engine, or a host over HTTP.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use workgate_core::credentials::PasswordCost;
use workgate_core::{Config, Engine, MemoryStore, Platform, Request, Timestamp};

use crate::answer::Answer;
use crate::call::Call;

/// The clock and randomness of the in-process engine. The clock can be moved forward, which only
/// tests on a fresh target do (token expiry, throttle lockouts).
pub struct TestPlatform {
    clock_offset_micros: AtomicI64,
}

impl Platform for TestPlatform {
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the system clock is after 1970");
        let micros = i64::try_from(since_epoch.as_micros()).expect("a clock that fits in i64");
        Timestamp::from_micros(micros + self.clock_offset_micros.load(Ordering::SeqCst))
    }

    fn fill_random(&self, buf: &mut [u8]) {
        getrandom::fill(buf).expect("the OS random source works");
    }
}

type TestEngine = Engine;

enum Host {
    InProcess(Arc<TestEngine>, Arc<TestPlatform>),
    Http {
        base_url: String,
        agent: ureq::Agent,
    },
}

/// A running workgate: requests are sent to it with [`Target::get`], [`Target::post`], ….
pub struct Target {
    host: Host,
}

/// One runtime for every in-process request; tests stay plain synchronous `#[test]` functions.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

fn base_url_from_env() -> Option<String> {
    std::env::var("WORKGATE_BASE_URL")
        .ok()
        .map(|url| url.trim_end_matches('/').to_string())
        .filter(|url| !url.is_empty())
}

impl Target {
    /// The target every ordinary test uses: the host at `WORKGATE_BASE_URL`, or one in-process
    /// engine shared by the tests of this test binary (as a real server is shared).
    pub fn shared() -> &'static Target {
        static SHARED: OnceLock<Target> = OnceLock::new();
        SHARED.get_or_init(|| match base_url_from_env() {
            Some(base_url) => Target::over_http(base_url),
            None => Target::in_process(),
        })
    }

    /// A target with a fresh store (only the default admin), for the few rules that need one.
    /// Over HTTP there is no such thing: this prints that the calling test is skipped and
    /// returns `None`, and the test returns early.
    pub fn fresh() -> Option<Target> {
        if base_url_from_env().is_some() {
            let test = std::thread::current()
                .name()
                .unwrap_or("this test")
                .to_string();
            println!("skipped over HTTP: {test} needs a fresh store (runs in-process only)");
            return None;
        }
        Some(Target::in_process())
    }

    fn in_process() -> Target {
        let config = Config {
            password_cost: PasswordCost {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            ..Default::default()
        };
        let platform = Arc::new(TestPlatform {
            clock_offset_micros: AtomicI64::new(0),
        });
        let engine = Engine::new(MemoryStore::stores(), platform.clone(), config);
        runtime()
            .block_on(engine.bootstrap_default_user())
            .expect("the default user is created on an empty store");
        Target {
            host: Host::InProcess(Arc::new(engine), platform),
        }
    }

    fn over_http(base_url: String) -> Target {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(15)))
            .max_redirects(0)
            .build()
            .new_agent();
        Target {
            host: Host::Http { base_url, agent },
        }
    }

    /// Whether requests go over HTTP (`WORKGATE_BASE_URL` is set).
    pub fn is_http(&self) -> bool {
        matches!(self.host, Host::Http { .. })
    }

    /// Moves the in-process engine's clock forward. Only fresh targets may do this.
    pub fn advance_clock(&self, secs: i64) {
        match &self.host {
            Host::InProcess(_, platform) => {
                platform
                    .clock_offset_micros
                    .fetch_add(secs * 1_000_000, Ordering::SeqCst);
            }
            Host::Http { .. } => panic!("the clock of a host over HTTP cannot be moved"),
        }
    }

    pub fn get(&self, path: &str) -> Call<'_> {
        Call::new(self, "GET", path)
    }

    pub fn post(&self, path: &str) -> Call<'_> {
        Call::new(self, "POST", path)
    }

    pub fn put(&self, path: &str) -> Call<'_> {
        Call::new(self, "PUT", path)
    }

    pub fn patch(&self, path: &str) -> Call<'_> {
        Call::new(self, "PATCH", path)
    }

    pub fn delete(&self, path: &str) -> Call<'_> {
        Call::new(self, "DELETE", path)
    }

    /// A request with any method.
    pub fn request(&self, method: &str, path: &str) -> Call<'_> {
        Call::new(self, method, path)
    }

    /// Sends one request and waits for the whole answer.
    pub(crate) fn exchange(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Answer {
        match &self.host {
            Host::InProcess(engine, _) => {
                let mut request = Request::new(method, path_and_query).body(body.to_vec());
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                let response = runtime().block_on(engine.handle(request));
                let headers = response
                    .headers
                    .into_iter()
                    .map(|(name, value)| (name.into_owned(), value.into_owned()))
                    .collect();
                Answer::new(response.status, headers, response.body)
            }
            Host::Http { base_url, agent } => {
                let url = format!("{base_url}{path_and_query}");
                let mut builder = ureq::http::Request::builder().method(method).uri(&url);
                for (name, value) in headers {
                    builder = builder.header(name.as_str(), value.as_str());
                }
                let sent = if body.is_empty() {
                    agent.run(builder.body(()).expect("a well-formed request"))
                } else {
                    agent.run(builder.body(body.to_vec()).expect("a well-formed request"))
                };
                let mut response =
                    sent.unwrap_or_else(|e| panic!("{method} {url}: no HTTP answer: {e}"));
                let status = response.status().as_u16();
                let headers = response
                    .headers()
                    .iter()
                    .map(|(name, value)| {
                        (
                            name.as_str().to_string(),
                            String::from_utf8_lossy(value.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                let body = response
                    .body_mut()
                    .read_to_vec()
                    .unwrap_or_else(|e| panic!("{method} {url}: unreadable body: {e}"));
                Answer::new(status, headers, body)
            }
        }
    }
}

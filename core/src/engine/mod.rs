//! The API engine: `handle(request) -> response` for every endpoint of API.md.
//!
//! One [`Engine`] per host process, over the [`Stores`] and the [`Platform`] the host puts
//! together.

mod auth;
pub mod caller_cache;
pub mod cors;
pub mod datasets;
mod dump;
pub mod endpoint;
pub mod error;
mod input;
pub mod openapi;
pub mod routes;
pub mod schema;
mod service;
pub mod settings;
pub mod tasks;
mod users;
mod workspaces;

use std::sync::OnceLock;

use uuid::Uuid;

use crate::access::{Action, Resource, Subject};
use crate::credentials::PasswordCost;
use crate::domain::{AuditEntry, User, Workspace};
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::store::Stores;
use endpoint::{Call, Handler};
use error::{ApiError, ApiResult};
use routes::RouteMatch;

pub use auth::Caller;
pub use caller_cache::CallerCacheFigures;

/// The largest body of an endpoint that does not declare its own limit (1 MiB); larger ones
/// are 413. A host that refuses before reading asks [`body_limit`] per request.
pub const MAX_BODY_BYTES: usize = endpoint::DEFAULT_BODY_LIMIT;

/// The largest body the engine accepts for a request line: its endpoint's declared limit
/// (the default for paths that match none). Hosts refuse larger bodies before reading them.
pub fn body_limit(method: &str, path: &str) -> usize {
    routes::match_route(method, path).body_limit()
}

/// The path template of the endpoint a request line reaches (`/api/users/{user_id}`), or
/// `None` when it reaches none. Hosts label their metrics and logs with it: its number of
/// values is bounded, and it carries no ids.
pub fn route_template(method: &str, path: &str) -> Option<&'static str> {
    match routes::match_route(method, path) {
        RouteMatch::Found { endpoint, .. } => Some(endpoint.path),
        _ => None,
    }
}

/// Login throttling policy (API.md 9.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures inside `window_secs` before the username is locked.
    pub max_failures: u32,
    /// Failures older than this are forgotten.
    pub window_secs: i64,
    /// Lock after reaching `max_failures`; doubles with each further failure.
    pub base_lockout_secs: i64,
    pub max_lockout_secs: i64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            max_failures: 5,
            window_secs: 15 * 60,
            base_lockout_secs: 30,
            max_lockout_secs: 15 * 60,
        }
    }
}

/// The default admin (API.md section 8). `Debug` hides the password and key.
#[derive(Clone, PartialEq, Eq)]
pub struct DefaultUserConfig {
    pub enabled: bool,
    pub username: String,
    pub password: String,
    pub api_key: String,
}

impl std::fmt::Debug for DefaultUserConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultUserConfig")
            .field("enabled", &self.enabled)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Default for DefaultUserConfig {
    fn default() -> Self {
        DefaultUserConfig {
            enabled: true,
            username: "argilla".into(),
            password: "1234".into(),
            api_key: "argilla.apikey".into(),
        }
    }
}

/// Engine settings a host reads from its configuration. `Debug` hides the token secret.
#[derive(Clone)]
pub struct Config {
    /// Argon2id cost of new password hashes.
    pub password_cost: PasswordCost,
    /// Bearer token lifetime (default 24 h).
    pub token_ttl_secs: i64,
    /// A configured token signing secret; when `None`, one is generated once and kept in the
    /// store.
    pub token_secret: Option<Vec<u8>>,
    pub throttle: ThrottlePolicy,
    pub default_user: DefaultUserConfig,
    /// Which origins may call the API from a browser (`ARGILLA_CORS_ORIGINS`; every origin
    /// by default).
    pub cors: cors::CorsPolicy,
    /// The most authenticated callers kept in process ([`caller_cache`]; 0: none). Used only
    /// with a directory that keeps a generation.
    pub caller_cache_capacity: usize,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("password_cost", &self.password_cost)
            .field("token_ttl_secs", &self.token_ttl_secs)
            .field(
                "token_secret",
                &self.token_secret.as_ref().map(|_| "<configured>"),
            )
            .field("throttle", &self.throttle)
            .field("default_user", &self.default_user)
            .field("cors", &self.cors)
            .field("caller_cache_capacity", &self.caller_cache_capacity)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            password_cost: PasswordCost::OWASP,
            token_ttl_secs: 24 * 60 * 60,
            token_secret: None,
            throttle: ThrottlePolicy::default(),
            default_user: DefaultUserConfig::default(),
            cors: cors::CorsPolicy::default(),
            caller_cache_capacity: DEFAULT_CALLER_CACHE_CAPACITY,
        }
    }
}

/// [`Config::caller_cache_capacity`]'s default: ten thousand callers, a few MiB at most.
pub const DEFAULT_CALLER_CACHE_CAPACITY: usize = 10_000;

/// The API engine.
pub struct Engine {
    stores: Stores,
    platform: std::sync::Arc<dyn Platform>,
    config: Config,
    /// The token secret once known (configured, or loaded/created in the store).
    token_secret: OnceLock<Vec<u8>>,
    /// A hash verified when the username is unknown, so failed logins take the same time.
    decoy_hash: OnceLock<String>,
    /// Authenticated callers while the directory does not change.
    caller_cache: caller_cache::CallerCache,
}

impl Engine {
    pub fn new(stores: Stores, platform: impl Platform + 'static, config: Config) -> Self {
        let token_secret = OnceLock::new();
        if let Some(secret) = &config.token_secret {
            let _ = token_secret.set(secret.clone());
        }
        let caller_cache = caller_cache::CallerCache::new(config.caller_cache_capacity);
        Engine {
            stores,
            platform: std::sync::Arc::new(platform),
            config,
            token_secret,
            decoy_hash: OnceLock::new(),
            caller_cache,
        }
    }

    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    pub fn platform(&self) -> &dyn Platform {
        &*self.platform
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The caller cache's figures ([`caller_cache`]), for a host's metrics.
    pub fn caller_cache_figures(&self) -> CallerCacheFigures {
        self.caller_cache.figures()
    }

    /// Answers one API request. Never panics on any input; every failure is an error envelope.
    /// A CORS preflight is answered before routing and authentication; every `/api` answer
    /// carries the CORS headers ([`cors`]).
    pub async fn handle(&self, request: Request) -> Response {
        self.handle_routed(request).await.0
    }

    /// [`Engine::handle`], also saying which endpoint's path template the request reached
    /// (`None`: none; [`route_template`]'s answer, from the one match the engine makes), for a
    /// host's metrics and logs.
    pub async fn handle_routed(&self, request: Request) -> (Response, Option<&'static str>) {
        if let Some(answer) = self.config.cors.preflight(&request) {
            return (answer, None);
        }
        let found = routes::match_route(&request.method, &request.path);
        let template = match &found {
            RouteMatch::Found { endpoint, .. } => Some(endpoint.path),
            _ => None,
        };
        let mut response = match self.route(&request, found).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        self.config
            .cors
            .decorate(&request.path, request.header_value("origin"), &mut response);
        (response, template)
    }

    /// The answer to a request on `path` (with `Origin` header `origin`) that the host refuses
    /// before the engine sees it — an over-limit or unreadable body, a timeout — with the same
    /// CORS headers as the engine's own answers, so a page on another origin can read it.
    pub fn refuse(&self, path: &str, origin: Option<&str>, error: ApiError) -> Response {
        let mut response = error.into_response();
        self.config.cors.decorate(path, origin, &mut response);
        response
    }

    async fn route(&self, req: &Request, found: RouteMatch<'_>) -> ApiResult<Response> {
        let limit = found.body_limit();
        if req.body.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let (endpoint, params) = match found {
            RouteMatch::Found { endpoint, params } => (endpoint, params),
            RouteMatch::WrongMethod { allow } => return Err(ApiError::MethodNotAllowed { allow }),
            RouteMatch::NotFound => return Err(ApiError::RouteNotFound),
        };
        let call = Call { req, params };
        match endpoint.handler {
            Handler::Public(handler) => handler(self, &call).await,
            Handler::Authenticated(handler) => {
                let caller = self.authenticate(req).await?;
                handler(self, &caller, &call).await
            }
        }
    }

    // ----- shared helpers -----

    pub(crate) fn random<const N: usize>(&self) -> [u8; N] {
        let mut buf = [0u8; N];
        self.platform.fill_random(&mut buf);
        buf
    }

    /// A fresh UUIDv4 from the host's randomness.
    pub(crate) fn new_id(&self) -> Uuid {
        uuid::Builder::from_random_bytes(self.random::<16>()).into_uuid()
    }

    /// A fresh security stamp (see `User::security_stamp`).
    pub(crate) fn new_stamp(&self) -> String {
        hex::encode(self.random::<16>())
    }

    pub(crate) async fn hash(&self, password: &str) -> ApiResult<String> {
        self.platform
            .hash_password(
                password.to_string(),
                self.config.password_cost,
                self.random::<16>(),
            )
            .await
            .map_err(|_| ApiError::Internal {
                kind: "PasswordHashError",
                message: "Could not hash the password",
            })
    }

    /// The token signing secret: configured, or generated once and kept in the store.
    pub(crate) async fn token_secret(&self) -> ApiResult<&[u8]> {
        if let Some(secret) = self.token_secret.get() {
            return Ok(secret);
        }
        let secret = self
            .stores
            .secrets
            .token_secret(self.random::<32>().to_vec())
            .await?;
        Ok(self.token_secret.get_or_init(|| secret))
    }

    /// The audit entry for a change, which the store writes with it (see `store::Directory`,
    /// "Audit with the change").
    pub(crate) fn audit_entry(
        &self,
        actor: Option<&User>,
        action: &str,
        target: AuditTarget<'_>,
        detail: Option<String>,
    ) -> AuditEntry {
        let (target_type, target_id, target_name) = match target {
            AuditTarget::User(u) => ("User", u.id, u.username.clone()),
            AuditTarget::Workspace(w) => ("Workspace", w.id, w.name.clone()),
            AuditTarget::Dataset(d) => ("Dataset", datasets::dataset_uuid(&d.id()), d.id()),
            AuditTarget::Instance => ("Instance", Uuid::nil(), "instance".to_string()),
        };
        AuditEntry {
            id: self.new_id(),
            at: self.platform.now(),
            actor_id: actor.map(|a| a.id),
            actor: actor.map_or_else(|| "system".to_string(), |a| a.username.clone()),
            action: action.to_string(),
            target_type: target_type.to_string(),
            target_id,
            target_name,
            detail,
        }
    }
}

/// What an audit entry is about.
pub(crate) enum AuditTarget<'a> {
    User(&'a User),
    Workspace(&'a Workspace),
    Dataset(&'a crate::dataset::Dataset),
    /// The whole deployment (moving data: `dump.export`, `dump.import`), under the nil id.
    Instance,
}

/// A 200 JSON response.
pub(crate) fn ok<T: serde::Serialize>(body: &T) -> ApiResult<Response> {
    // Straight to bytes: no intermediate `Value` on the hot path.
    let body = serde_json::to_vec(body).map_err(|_| ApiError::Internal {
        kind: "SerializationError",
        message: "Could not encode the response",
    })?;
    Ok(Response {
        status: 200,
        headers: crate::http::json_headers(),
        body,
    })
}

/// Denies with 403 unless the access model allows.
pub(crate) fn authorize(
    subject: &Subject,
    action: Action,
    resource: &Resource<'_>,
) -> ApiResult<()> {
    if crate::access::can(subject, action, resource) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

#[cfg(test)]
mod smoke {
    //! A few end-to-end paths through the engine; the conformance suite (tests/) covers API.md.
    use super::*;
    use crate::memory_store::MemoryStore;
    use crate::timestamp::Timestamp;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct TestPlatform(AtomicU64);

    impl Platform for TestPlatform {
        fn now(&self) -> Timestamp {
            Timestamp::from_micros(1_700_000_000_000_000 + self.0.load(Ordering::SeqCst) as i64)
        }
        fn fill_random(&self, buf: &mut [u8]) {
            for b in buf {
                let x = self.0.fetch_add(1, Ordering::SeqCst);
                *b = (x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407)
                    >> 33) as u8;
            }
        }
    }

    fn engine() -> Engine {
        let config = Config {
            password_cost: PasswordCost {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            ..Config::default()
        };
        Engine::new(
            MemoryStore::stores(),
            TestPlatform(AtomicU64::new(1)),
            config,
        )
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn default_user_logs_in_and_creates_an_annotator() {
        block(async {
            let e = engine();
            assert!(e.bootstrap_default_user().await.unwrap().is_some());
            assert!(e.bootstrap_default_user().await.unwrap().is_none());
            let me = e
                .handle(
                    Request::new("GET", "/api/me").header("X-Argilla-Api-Key", "argilla.apikey"),
                )
                .await;
            assert_eq!(me.status, 200);
            let me = me.json_body();
            assert_eq!(me["username"], "argilla");
            assert_eq!(me["api_key"], "argilla.apikey");
            assert_eq!(me["workspaces"], serde_json::json!(["argilla"]));

            let login = e
                .handle(
                    Request::new("POST", "/api/security/token")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body("username=argilla&password=1234"),
                )
                .await;
            assert_eq!(login.status, 200, "{:?}", login.json_body());
            let token = login.json_body()["access_token"]
                .as_str()
                .unwrap()
                .to_string();

            let created = e
                .handle(
                    Request::new("POST", "/api/users")
                        .header("authorization", &format!("Bearer {token}"))
                        .body(r#"{"first_name":" Ann ","username":"ann","password":"12345678"}"#),
                )
                .await;
            assert_eq!(created.status, 200, "{:?}", created.json_body());
            let ann = created.json_body();
            assert_eq!(ann["first_name"], "Ann");
            assert_eq!(ann["role"], "annotator");
            assert_eq!(ann["workspaces"], serde_json::json!(["ann"]));
            let key = ann["api_key"].as_str().unwrap();
            assert!(key.starts_with("wg_"));

            let users = e
                .handle(Request::new("GET", "/api/users").header("x-argilla-api-key", key))
                .await;
            assert_eq!(users.status, 403);
            let ws = e
                .handle(Request::new("GET", "/api/workspaces").header("x-argilla-api-key", key))
                .await;
            assert_eq!(ws.json_body()[0]["name"], "ann");
            assert_eq!(ws.json_body().as_array().unwrap().len(), 1);
        });
    }

    #[test]
    fn throttles_after_five_failures() {
        block(async {
            let e = engine();
            e.bootstrap_default_user().await.unwrap();
            let login = |pw: &str| {
                Request::new("POST", "/api/security/token")
                    .body(format!("username=argilla&password={pw}"))
            };
            for _ in 0..5 {
                assert_eq!(e.handle(login("wrong")).await.status, 401);
            }
            let locked = e.handle(login("1234")).await;
            assert_eq!(locked.status, 429);
            assert!(locked.header_value("retry-after").is_some());
        });
    }
}

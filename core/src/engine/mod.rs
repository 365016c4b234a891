//! The API engine: `handle(request) -> response` for every endpoint of API.md.
//!
//! One [`Engine`] per host process, generic over the host's [`Store`] and [`Platform`].

use std::sync::OnceLock;

use crate::credentials::PasswordCost;
use crate::http::{Request, Response};
use crate::store::{Platform, Store};

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

/// The default admin (API.md section 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultUserConfig {
    pub enabled: bool,
    pub username: String,
    pub password: String,
    pub api_key: String,
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

/// Engine settings a host reads from its configuration.
#[derive(Debug, Clone)]
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            password_cost: PasswordCost::OWASP,
            token_ttl_secs: 24 * 60 * 60,
            token_secret: None,
            throttle: ThrottlePolicy::default(),
            default_user: DefaultUserConfig::default(),
        }
    }
}

/// The API engine.
pub struct Engine<S, P> {
    store: S,
    platform: P,
    config: Config,
    /// The token secret once known (configured, or loaded/created in the store).
    token_secret: OnceLock<Vec<u8>>,
    /// A hash verified when the username is unknown, so failed logins take the same time.
    decoy_hash: OnceLock<String>,
}

impl<S: Store, P: Platform> Engine<S, P> {
    pub fn new(store: S, platform: P, config: Config) -> Self {
        let token_secret = OnceLock::new();
        if let Some(secret) = &config.token_secret {
            let _ = token_secret.set(secret.clone());
        }
        Engine {
            store,
            platform,
            config,
            token_secret,
            decoy_hash: OnceLock::new(),
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn platform(&self) -> &P {
        &self.platform
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Answers one API request. Never panics on any input.
    pub async fn handle(&self, request: Request) -> Response {
        let _ = request;
        let _ = (&self.decoy_hash, &self.token_secret);
        Response::json(404, &serde_json::json!({"detail": "Not Found"}))
    }
}

//! The engine's [`Config`] from the Worker's vars and secrets (wrangler.toml `[vars]`,
//! `wrangler secret put`, or `--var` / `.dev.vars` in development).
//!
//! Names are the native server's (see native/src/settings.rs), so one deployment guide serves
//! both: `ARGILLA_LOCAL_AUTH_SECRET_KEY` (also accepted as `WORKGATE_TOKEN_SECRET`),
//! `ARGILLA_LOCAL_AUTH_TOKEN_EXPIRATION_IN_MINUTES`, `WORKGATE_DEFAULT_USER_ENABLED`,
//! `WORKGATE_DEFAULT_USER_PASSWORD`, `WORKGATE_DEFAULT_USER_API_KEY`, `WORKGATE_PASSWORD_COST`.

use worker::Env;
use workgate_core::credentials::PasswordCost;
use workgate_core::{Config, DefaultUserConfig};

pub const TOKEN_SECRET: [&str; 2] = ["WORKGATE_TOKEN_SECRET", "ARGILLA_LOCAL_AUTH_SECRET_KEY"];
pub const TOKEN_EXPIRATION: &str = "ARGILLA_LOCAL_AUTH_TOKEN_EXPIRATION_IN_MINUTES";
pub const DEFAULT_USER_ENABLED: &str = "WORKGATE_DEFAULT_USER_ENABLED";
pub const DEFAULT_USER_PASSWORD: &str = "WORKGATE_DEFAULT_USER_PASSWORD";
pub const DEFAULT_USER_API_KEY: &str = "WORKGATE_DEFAULT_USER_API_KEY";
pub const PASSWORD_COST: &str = "WORKGATE_PASSWORD_COST";
/// `1` exposes the store-suite route (builds with the `store-suite` feature only).
#[cfg(feature = "store-suite")]
pub const STORE_SUITE: &str = "WORKGATE_STORE_SUITE";

/// A var or secret; empty counts as unset.
pub fn setting(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.to_string())
        .or_else(|_| env.secret(name).map(|v| v.to_string()))
        .ok()
        .filter(|v| !v.is_empty())
}

/// Reads the configuration. An unusable value is an error naming the setting (never its
/// value, which may be a secret).
pub fn load(env: &Env) -> Result<Config, String> {
    let mut config = Config::default();
    if let Some(cost) = setting(env, PASSWORD_COST) {
        config.password_cost =
            PasswordCost::parse(&cost).map_err(|e| format!("{PASSWORD_COST}: {e}"))?;
    }
    if let Some(minutes) = setting(env, TOKEN_EXPIRATION) {
        let minutes: i64 = minutes
            .trim()
            .parse()
            .ok()
            .filter(|m| (1..=5_256_000).contains(m))
            .ok_or_else(|| {
                format!("{TOKEN_EXPIRATION} must be a whole number of minutes from 1 to 5256000")
            })?;
        config.token_ttl_secs = minutes * 60;
    }
    if let Some(secret) = TOKEN_SECRET.iter().find_map(|name| setting(env, name)) {
        config.token_secret = Some(secret.into_bytes());
    }
    let defaults = DefaultUserConfig::default();
    config.default_user = DefaultUserConfig {
        enabled: match setting(env, DEFAULT_USER_ENABLED) {
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return Err(format!("{DEFAULT_USER_ENABLED} must be true or false")),
            },
            None => defaults.enabled,
        },
        password: setting(env, DEFAULT_USER_PASSWORD).unwrap_or(defaults.password),
        api_key: setting(env, DEFAULT_USER_API_KEY).unwrap_or(defaults.api_key),
        username: defaults.username,
    };
    Ok(config)
}

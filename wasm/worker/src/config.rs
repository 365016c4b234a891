//! The engine's [`Config`] from the Worker's vars and secrets (wrangler.toml `[vars]`,
//! `wrangler secret put`, or `--var` / `.dev.vars` in development).
//!
//! The setting names, defaults and checks are core's (`Config::from_settings`, the same as the
//! native server's environment variables); this module only says where a value comes from.

use worker::Env;
use workgate_core::Config;

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
    Config::from_settings(|name| setting(env, name))
}

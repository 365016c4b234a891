//! The engine's [`Config`] from named settings — the one place that knows the setting names,
//! their defaults and what counts as a valid value. Hosts only say where a name's value comes
//! from (the process environment and flags, or a Worker's vars and secrets).
//!
//! Names follow Argilla's where Argilla had the setting (`ARGILLA_LOCAL_AUTH_*`), so an existing
//! deployment's environment keeps working; workgate's own settings are `WORKGATE_*`.

use crate::credentials::PasswordCost;

use super::cors::CorsPolicy;
use super::{Config, DefaultUserConfig};

/// Bearer-token signing secret (Argilla's name).
pub const TOKEN_SECRET: &str = "ARGILLA_LOCAL_AUTH_SECRET_KEY";
/// The same setting under workgate's own name; if both are set they must agree.
pub const TOKEN_SECRET_ALIAS: &str = "WORKGATE_TOKEN_SECRET";
/// Bearer-token lifetime in minutes.
pub const TOKEN_EXPIRATION: &str = "ARGILLA_LOCAL_AUTH_TOKEN_EXPIRATION_IN_MINUTES";
pub const DEFAULT_USER_ENABLED: &str = "WORKGATE_DEFAULT_USER_ENABLED";
pub const DEFAULT_USER_PASSWORD: &str = "WORKGATE_DEFAULT_USER_PASSWORD";
pub const DEFAULT_USER_API_KEY: &str = "WORKGATE_DEFAULT_USER_API_KEY";
/// Argon2id cost of new password hashes, `m=KiB,t=passes,p=lanes`.
pub const PASSWORD_COST: &str = "WORKGATE_PASSWORD_COST";

/// Which origins may call the API from a browser: a JSON list of origins, or `["*"]`
/// (Argilla's name and default).
pub const CORS_ORIGINS: &str = "ARGILLA_CORS_ORIGINS";

/// Every name [`Config::from_settings`] reads.
pub const NAMES: [&str; 8] = [
    TOKEN_SECRET,
    TOKEN_SECRET_ALIAS,
    TOKEN_EXPIRATION,
    DEFAULT_USER_ENABLED,
    DEFAULT_USER_PASSWORD,
    DEFAULT_USER_API_KEY,
    PASSWORD_COST,
    CORS_ORIGINS,
];

/// The settings whose values are secrets: never echoed in errors or logs, and read from a
/// file named by `<NAME>_FILE` (as Docker and systemd secrets expect) by hosts that have files.
pub const SECRETS: [&str; 4] = [
    TOKEN_SECRET,
    TOKEN_SECRET_ALIAS,
    DEFAULT_USER_PASSWORD,
    DEFAULT_USER_API_KEY,
];

/// The shortest configured token secret accepted (HMAC-SHA256 key size).
pub const MIN_TOKEN_SECRET_BYTES: usize = 32;

/// The longest token lifetime accepted: ten years, in minutes.
const MAX_TOKEN_MINUTES: i64 = 5_256_000;

impl Config {
    /// Builds the configuration from named settings; `get` returns a setting's value, or `None`
    /// when it is unset (an empty value also counts as unset). Unset settings keep
    /// [`Config::default`]'s value.
    ///
    /// An unusable value is a one-line error naming the setting; secret values (the token
    /// secret, the default user's password and key) are never echoed.
    pub fn from_settings(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let get = |name: &str| get(name).filter(|v| !v.is_empty());
        let mut config = Config::default();

        if let Some(cost) = get(PASSWORD_COST) {
            config.password_cost =
                PasswordCost::parse(&cost).map_err(|e| format!("{PASSWORD_COST}: {e}"))?;
        }

        if let Some(minutes) = get(TOKEN_EXPIRATION) {
            let minutes: i64 = minutes
                .trim()
                .parse()
                .ok()
                .filter(|m| (1..=MAX_TOKEN_MINUTES).contains(m))
                .ok_or_else(|| {
                    format!(
                        "{TOKEN_EXPIRATION} must be a whole number of minutes from 1 to \
                         {MAX_TOKEN_MINUTES}"
                    )
                })?;
            config.token_ttl_secs = minutes * 60;
        }

        let secret = match (get(TOKEN_SECRET), get(TOKEN_SECRET_ALIAS)) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!(
                    "{TOKEN_SECRET} and {TOKEN_SECRET_ALIAS} are both set and differ; set one"
                ));
            }
            (Some(a), _) => Some((TOKEN_SECRET, a)),
            (None, Some(b)) => Some((TOKEN_SECRET_ALIAS, b)),
            (None, None) => None,
        };
        if let Some((name, secret)) = secret {
            if secret.len() < MIN_TOKEN_SECRET_BYTES {
                return Err(format!(
                    "{name} must be at least {MIN_TOKEN_SECRET_BYTES} bytes"
                ));
            }
            config.token_secret = Some(secret.into_bytes());
        }

        if let Some(origins) = get(CORS_ORIGINS) {
            config.cors =
                CorsPolicy::parse(&origins).map_err(|e| format!("{CORS_ORIGINS}: {e}"))?;
        }

        let defaults = DefaultUserConfig::default();
        config.default_user = DefaultUserConfig {
            enabled: match get(DEFAULT_USER_ENABLED) {
                Some(v) => parse_bool(&v)
                    .ok_or_else(|| format!("{DEFAULT_USER_ENABLED} must be true or false"))?,
                None => defaults.enabled,
            },
            password: get(DEFAULT_USER_PASSWORD).unwrap_or(defaults.password),
            api_key: get(DEFAULT_USER_API_KEY).unwrap_or(defaults.api_key),
            username: defaults.username,
        };
        Ok(config)
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn from(pairs: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_settings(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn nothing_set_is_the_default() {
        let c = from(&[]).unwrap();
        let d = Config::default();
        assert_eq!(c.password_cost, d.password_cost);
        assert_eq!(c.token_ttl_secs, d.token_ttl_secs);
        assert_eq!(c.token_secret, None);
        assert_eq!(c.default_user, d.default_user);
        assert_eq!(c.cors, CorsPolicy::AnyOrigin);
    }

    #[test]
    fn every_setting_maps_onto_config() {
        let c = from(&[
            (PASSWORD_COST, "m=64,t=1,p=1"),
            (TOKEN_EXPIRATION, " 30 "),
            (TOKEN_SECRET, SECRET),
            (DEFAULT_USER_ENABLED, "off"),
            (DEFAULT_USER_PASSWORD, "another-password"),
            (DEFAULT_USER_API_KEY, "another.key"),
            (CORS_ORIGINS, r#"["https://app.example"]"#),
        ])
        .unwrap();
        assert_eq!(
            c.cors,
            CorsPolicy::Origins(vec!["https://app.example".to_string()])
        );
        assert_eq!(c.password_cost.memory_kib, 64);
        assert_eq!(c.token_ttl_secs, 1800);
        assert_eq!(c.token_secret.as_deref(), Some(SECRET.as_bytes()));
        assert!(!c.default_user.enabled);
        assert_eq!(c.default_user.password, "another-password");
        assert_eq!(c.default_user.api_key, "another.key");
        assert_eq!(c.default_user.username, "argilla");
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = from(&[(TOKEN_SECRET, ""), (DEFAULT_USER_PASSWORD, "")]).unwrap();
        assert_eq!(c.token_secret, None);
        assert_eq!(c.default_user.password, "1234");
    }

    #[test]
    fn token_secret_under_either_name() {
        let c = from(&[(TOKEN_SECRET_ALIAS, SECRET)]).unwrap();
        assert_eq!(c.token_secret.as_deref(), Some(SECRET.as_bytes()));
        let c = from(&[(TOKEN_SECRET, SECRET), (TOKEN_SECRET_ALIAS, SECRET)]).unwrap();
        assert_eq!(c.token_secret.as_deref(), Some(SECRET.as_bytes()));
    }

    #[test]
    fn differing_token_secrets_are_an_error() {
        let other = "fedcba9876543210fedcba9876543210";
        let err = from(&[(TOKEN_SECRET, SECRET), (TOKEN_SECRET_ALIAS, other)]).unwrap_err();
        assert!(
            err.contains(TOKEN_SECRET) && err.contains(TOKEN_SECRET_ALIAS),
            "{err}"
        );
        assert!(!err.contains(SECRET) && !err.contains(other), "{err}");
    }

    #[test]
    fn short_token_secret_is_an_error() {
        for name in [TOKEN_SECRET, TOKEN_SECRET_ALIAS] {
            let err = from(&[(name, "s3cret")]).unwrap_err();
            assert_eq!(err, format!("{name} must be at least 32 bytes"));
        }
        assert!(from(&[(TOKEN_SECRET, &SECRET[..31])]).is_err());
    }

    #[test]
    fn bad_values_are_one_line_errors_naming_the_setting() {
        for (name, value) in [
            (PASSWORD_COST, "m=1"),
            (PASSWORD_COST, "m=64"),
            (TOKEN_EXPIRATION, "soon"),
            (TOKEN_EXPIRATION, "-5"),
            (TOKEN_EXPIRATION, "5256001"),
            (DEFAULT_USER_ENABLED, "maybe"),
            (TOKEN_SECRET, "short-secret-value"),
            (CORS_ORIGINS, "https://app.example"),
            (CORS_ORIGINS, r#"["https://app.example/"]"#),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert!(err.starts_with(name), "{err}");
            assert!(!err.contains('\n'), "{err}");
            if name != PASSWORD_COST && name != CORS_ORIGINS {
                assert!(!err.contains(value), "{err} echoes the value");
            }
        }
    }

    #[test]
    fn the_workers_example_settings_name_every_setting() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../wasm/worker/.dev.vars.example"
        );
        let example = std::fs::read_to_string(path).expect("wasm/worker/.dev.vars.example");
        for name in NAMES {
            assert!(
                example
                    .lines()
                    .any(|l| l.trim_start_matches("# ").starts_with(&format!("{name}="))),
                "{path} does not list {name}"
            );
        }
    }
}

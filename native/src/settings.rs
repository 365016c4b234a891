//! Where the data lives and how the engine is configured: command-line flags and environment
//! variables mapped onto [`workgate_core::Config`].
//!
//! Names follow Argilla's where Argilla had the setting (`ARGILLA_HOME_PATH`,
//! `ARGILLA_DATABASE_URL`, `ARGILLA_LOCAL_AUTH_*`), so an existing deployment's environment
//! keeps working; workgate's own settings are `WORKGATE_*`.

use std::path::{Path, PathBuf};

use workgate_core::Config;
use workgate_core::engine::settings as engine_settings;

use crate::postgres::{self, PostgresUrl};

pub const ENV_HOME: &str = "ARGILLA_HOME_PATH";
pub const ENV_DATABASE_URL: &str = "ARGILLA_DATABASE_URL";
pub const ENV_USERS_DB_FILE: &str = "ARGILLA_LOCAL_AUTH_USERS_DB_FILE";
pub const ENV_DATABASE_POOL_SIZE: &str = "WORKGATE_DATABASE_POOL_SIZE";
// The engine's settings are named, parsed and checked in core (`Config::from_settings`).
pub const ENV_SECRET_KEY: &str = engine_settings::TOKEN_SECRET;
pub const ENV_TOKEN_SECRET: &str = engine_settings::TOKEN_SECRET_ALIAS;
pub const ENV_TOKEN_EXPIRATION: &str = engine_settings::TOKEN_EXPIRATION;
pub const ENV_DEFAULT_USER_ENABLED: &str = engine_settings::DEFAULT_USER_ENABLED;
pub const ENV_DEFAULT_USER_PASSWORD: &str = engine_settings::DEFAULT_USER_PASSWORD;
pub const ENV_DEFAULT_USER_API_KEY: &str = engine_settings::DEFAULT_USER_API_KEY;
pub const ENV_PASSWORD_COST: &str = engine_settings::PASSWORD_COST;
pub const ENV_CORS_ORIGINS: &str = engine_settings::CORS_ORIGINS;
/// `<NAME>_FILE` names a file holding the value of the secret setting `NAME` (core's
/// `settings::SECRETS`), as Docker and systemd secrets expect.
pub const FILE_SUFFIX: &str = "_FILE";
// `serve`'s transport settings (also flags; see `workgate serve --help`).
pub const ENV_MAX_CONNECTIONS: &str = "WORKGATE_MAX_CONNECTIONS";
pub const ENV_MAX_CONNECTIONS_PER_CLIENT: &str = "WORKGATE_MAX_CONNECTIONS_PER_CLIENT";
pub const ENV_HEADER_TIMEOUT: &str = "WORKGATE_HEADER_TIMEOUT";
pub const ENV_IDLE_TIMEOUT: &str = "WORKGATE_IDLE_TIMEOUT";
pub const ENV_METRICS_ADDR: &str = "WORKGATE_METRICS_ADDR";
pub const ENV_LOG_FORMAT: &str = "WORKGATE_LOG_FORMAT";

/// The `--help` section that lists every environment variable.
pub const ENVIRONMENT_HELP: &str = "\
Environment variables:
  ARGILLA_HOME_PATH            Data directory (same as --home; default ~/.workgate)
  ARGILLA_DATABASE_URL         sqlite:///PATH (relative) or sqlite:////ABSOLUTE/PATH; default
                               <home>/workgate.db. Or PostgreSQL, for several instances:
                               postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode=MODE (also
                               postgres://, postgresql+asyncpg://, postgresql+psycopg2://)
  WORKGATE_DATABASE_POOL_SIZE  PostgreSQL connections per instance (same as
                               --database-pool-size; default 16)
  ARGILLA_LOCAL_AUTH_USERS_DB_FILE
                               YAML file read by `users migrate` (default .users.yml)
  ARGILLA_LOCAL_AUTH_SECRET_KEY (or WORKGATE_TOKEN_SECRET)
                               Bearer-token signing secret, at least 32 bytes; when unset, one
                               is generated once and kept in the database
  ARGILLA_LOCAL_AUTH_TOKEN_EXPIRATION_IN_MINUTES
                               Bearer-token lifetime in minutes (default 1440 = 24 h)
  WORKGATE_DEFAULT_USER_ENABLED
                               true/false: create the default admin `argilla` on an empty
                               database at start (default true)
  WORKGATE_DEFAULT_USER_PASSWORD
                               The default admin's password (default 1234)
  WORKGATE_DEFAULT_USER_API_KEY
                               The default admin's API key (default argilla.apikey)
  WORKGATE_PASSWORD_COST       Argon2id cost of new password hashes, m=KiB,t=passes,p=lanes
                               (default m=19456,t=2,p=1, OWASP's recommendation)
  ARGILLA_CORS_ORIGINS         Origins that may call the API from a browser: a JSON list such as
                               [\"https://app.example.com\"], or [\"*\"] (default: every origin;
                               never with credentials)
  <SECRET>_FILE                Read a secret from a file instead (one trailing newline stripped):
                               ARGILLA_LOCAL_AUTH_SECRET_KEY_FILE, WORKGATE_TOKEN_SECRET_FILE,
                               WORKGATE_DEFAULT_USER_PASSWORD_FILE,
                               WORKGATE_DEFAULT_USER_API_KEY_FILE; setting both NAME and
                               NAME_FILE is an error
  WORKGATE_MAX_CONNECTIONS, WORKGATE_MAX_CONNECTIONS_PER_CLIENT, WORKGATE_HEADER_TIMEOUT,
  WORKGATE_IDLE_TIMEOUT, WORKGATE_METRICS_ADDR, WORKGATE_LOG_FORMAT
                               `serve`'s connection limits, metrics listener and log format
                               (see `workgate serve --help`)
  RUST_LOG                     Log filter for the server's log on stderr (default info)";

/// A setting that could not be used. Displays as one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Database {
    /// One SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, which several instances may share.
    Postgres(Box<PostgresUrl>),
}

impl Database {
    /// For logs: the file, or the server and database (never a password).
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => url.describe(),
        }
    }
}

/// Everything the host reads from flags and the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The data directory.
    pub home: PathBuf,
    pub database: Database,
    /// PostgreSQL connections per instance.
    pub pool_size: usize,
    pub config: Config,
}

/// A source of environment variables (the process environment, or a map in tests).
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment. Empty values count as unset.
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl<const N: usize> Environment for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty())
    }
}

impl Settings {
    /// Reads the settings. `home` and `database_url` are the command-line values, which win over
    /// the environment (clap already folds `ARGILLA_HOME_PATH`/`ARGILLA_DATABASE_URL` into them;
    /// the environment is read again here so that library callers get the same rules).
    pub fn load(
        home: Option<PathBuf>,
        database_url: Option<String>,
        env: &dyn Environment,
    ) -> Result<Settings, SettingsError> {
        let home = match home.or_else(|| env.var(ENV_HOME).map(PathBuf::from)) {
            Some(home) => home,
            None => default_home()?,
        };
        let database = match database_url.or_else(|| env.var(ENV_DATABASE_URL)) {
            Some(url) => database_from_url(&url)?,
            None => Database::Sqlite(home.join("workgate.db")),
        };
        let pool_size = match env.var(ENV_DATABASE_POOL_SIZE) {
            Some(text) => parse_pool_size(&text)?,
            None => postgres::DEFAULT_POOL_SIZE,
        };

        // No flag maps onto an engine setting, so the environment (and the secret files it
        // names) is the only source.
        let from_files = secrets_from_files(env)?;
        let config = Config::from_settings(|name| {
            from_files
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .or_else(|| env.var(name))
        })
        .map_err(SettingsError)?;
        Ok(Settings {
            home,
            database,
            pool_size,
            config,
        })
    }

    /// Creates the data directory and the database's directory.
    pub fn create_dirs(&self) -> Result<(), SettingsError> {
        let database_dir = match &self.database {
            Database::Sqlite(path) => path.parent(),
            Database::Postgres(_) => None,
        };
        for dir in [Some(self.home.as_path()), database_dir]
            .into_iter()
            .flatten()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                SettingsError(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        Ok(())
    }
}

/// The secret settings given as `<NAME>_FILE`, read from their files. Setting both `NAME` and
/// `<NAME>_FILE` is an error, and so is a file that cannot be read or is empty; the error names
/// the variable and the file, never the content.
fn secrets_from_files(env: &dyn Environment) -> Result<Vec<(&'static str, String)>, SettingsError> {
    let mut values = Vec::new();
    for name in engine_settings::SECRETS {
        let file_var = format!("{name}{FILE_SUFFIX}");
        let Some(path) = env.var(&file_var) else {
            continue;
        };
        if env.var(name).is_some() {
            return Err(SettingsError(format!(
                "{name} and {file_var} are both set; set one"
            )));
        }
        values.push((name, read_secret_file(&file_var, Path::new(&path))?));
    }
    Ok(values)
}

/// A secret file's content, without one trailing newline (`\n` or `\r\n`), which editors
/// and `echo` add.
fn read_secret_file(file_var: &str, path: &Path) -> Result<String, SettingsError> {
    let shown = path.display();
    let bytes = std::fs::read(path)
        .map_err(|e| SettingsError(format!("cannot read {file_var} ({shown}): {e}")))?;
    let mut text = String::from_utf8(bytes)
        .map_err(|_| SettingsError(format!("{file_var} ({shown}) is not UTF-8 text")))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(SettingsError(format!("{file_var} ({shown}) is empty")));
    }
    Ok(text)
}

/// `~/.workgate`.
fn default_home() -> Result<PathBuf, SettingsError> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| Path::new(&h).join(".workgate"))
        .ok_or_else(|| {
            SettingsError(format!(
                "cannot find the home directory (HOME is unset); pass --home or set {ENV_HOME}"
            ))
        })
}

/// The pool size of `WORKGATE_DATABASE_POOL_SIZE` or `--database-pool-size`: 1 to 1000.
pub fn parse_pool_size(text: &str) -> Result<usize, SettingsError> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(SettingsError(format!(
            "{ENV_DATABASE_POOL_SIZE} must be a number of connections from 1 to 1000"
        ))),
    }
}

/// The database a URL names: PostgreSQL for its schemes ([`crate::postgres::url`]), else an
/// SQLite file ([`database_path_from_url`]).
pub fn database_from_url(url: &str) -> Result<Database, SettingsError> {
    if postgres::url::is_postgres_url(url) {
        let parsed = url
            .parse::<PostgresUrl>()
            .map_err(|e| SettingsError(format!("{ENV_DATABASE_URL}: {e}")))?;
        return Ok(Database::Postgres(Box::new(parsed)));
    }
    database_path_from_url(url).map(Database::Sqlite)
}

/// The file named by an SQLAlchemy-style SQLite URL: `sqlite:///relative.db` or
/// `sqlite:////absolute/path.db` (Argilla's own default has four slashes). A query string
/// (`?check_same_thread=False`) is ignored. The URL itself is never echoed in errors: other
/// schemes' URLs carry passwords.
pub fn database_path_from_url(url: &str) -> Result<PathBuf, SettingsError> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(SettingsError(format!(
            "{ENV_DATABASE_URL} is not a URL; expected sqlite:///PATH"
        )));
    };
    let base_scheme = scheme.split('+').next().unwrap_or(scheme);
    if !base_scheme.eq_ignore_ascii_case("sqlite") {
        return Err(SettingsError(format!(
            "unsupported database URL scheme {scheme:?}: use sqlite:///PATH or \
             postgresql://USER:PASSWORD@HOST/DB"
        )));
    }
    let Some(path) = rest.strip_prefix('/') else {
        return Err(SettingsError(format!(
            "{ENV_DATABASE_URL} must name a file: sqlite:///PATH"
        )));
    };
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(SettingsError(format!(
            "{ENV_DATABASE_URL} must name a database file; in-memory SQLite is not supported"
        )));
    }
    Ok(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(
            database_path_from_url("sqlite:////var/lib/wg.db?check_same_thread=False").unwrap(),
            PathBuf::from("/var/lib/wg.db")
        );
        assert_eq!(
            database_path_from_url("sqlite:///data/wg.db").unwrap(),
            PathBuf::from("data/wg.db")
        );
        let err = database_path_from_url("mysql://u:secret@db/argilla").unwrap_err();
        assert!(err.0.contains("unsupported database URL scheme \"mysql\""));
        assert!(!err.0.contains("secret"));
        match database_from_url("postgresql+asyncpg://u:secret@db/argilla").unwrap() {
            Database::Postgres(url) => assert_eq!(url.describe(), "postgresql://u@db:5432/argilla"),
            other => panic!("{other:?}"),
        }
        let err = database_from_url("postgresql://u:secret@db/argilla?sslmode=often").unwrap_err();
        assert!(err.0.contains("unknown sslmode"), "{err}");
        assert!(!err.0.contains("secret"));
        assert!(matches!(
            database_from_url("sqlite:///data/wg.db").unwrap(),
            Database::Sqlite(_)
        ));
        assert!(database_path_from_url("sqlite://").is_err());
        assert!(database_path_from_url("sqlite:///:memory:").is_err());
    }

    #[test]
    fn environment_maps_onto_config() {
        let env = [
            (ENV_HOME, "/srv/wg"),
            (ENV_PASSWORD_COST, "m=64,t=1,p=1"),
            (ENV_TOKEN_EXPIRATION, "30"),
            (ENV_SECRET_KEY, "0123456789abcdef0123456789abcdef"),
            (ENV_DEFAULT_USER_ENABLED, "false"),
            (ENV_DEFAULT_USER_PASSWORD, "another-password"),
        ];
        let s = Settings::load(None, None, &env).unwrap();
        assert_eq!(s.home, PathBuf::from("/srv/wg"));
        assert!(
            matches!(&s.database, Database::Sqlite(p) if p == Path::new("/srv/wg/workgate.db"))
        );
        assert_eq!(s.pool_size, postgres::DEFAULT_POOL_SIZE);
        assert_eq!(s.config.password_cost.memory_kib, 64);
        assert_eq!(s.config.token_ttl_secs, 1800);
        assert_eq!(
            s.config.token_secret.as_deref(),
            Some(&b"0123456789abcdef0123456789abcdef"[..])
        );
        assert!(!s.config.default_user.enabled);
        assert_eq!(s.config.default_user.password, "another-password");
        assert_eq!(s.config.default_user.api_key, "argilla.apikey");

        let flag = Settings::load(Some("/other".into()), None, &env).unwrap();
        assert_eq!(flag.home, PathBuf::from("/other"));
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        for env in [
            [(ENV_PASSWORD_COST, "m=1")],
            [(ENV_TOKEN_EXPIRATION, "soon")],
            [(ENV_DEFAULT_USER_ENABLED, "maybe")],
            [(ENV_SECRET_KEY, "short")],
            [(ENV_TOKEN_SECRET, "short")],
            [(ENV_DATABASE_POOL_SIZE, "0")],
            [(ENV_DATABASE_POOL_SIZE, "many")],
        ] {
            let err = Settings::load(Some("/h".into()), None, &env).unwrap_err();
            assert!(!err.0.contains('\n'), "{err}");
        }
    }
}

//! PostgreSQL database URLs as Argilla deployments spell them, turned into a connection
//! configuration and a TLS policy.
//!
//! Accepted schemes: `postgresql://`, `postgres://`, and SQLAlchemy's driver-qualified
//! `postgresql+asyncpg://`, `postgresql+psycopg2://`, `postgresql+psycopg://` (the driver part
//! is ignored: workgate talks to the server itself). The rest is libpq's URL form, parsed by
//! tokio-postgres, except `sslmode` and `sslrootcert`, which are read here:
//!
//! | `sslmode` | what workgate does |
//! | --- | --- |
//! | `disable`, `allow`, `prefer` (default) | plain TCP (libpq's `prefer` would use unverified TLS, which an active attacker can strip or intercept anyway) |
//! | `require`, `verify-ca`, `verify-full` | TLS, the server certificate verified as `verify-full` does (chain to the system roots or `sslrootcert`, and the host name): credentials never go over unverified TLS |
//!
//! Any other `sslmode` is refused. Nothing here ever echoes the URL: it may carry a password.

use std::path::PathBuf;
use std::str::FromStr;

/// Whether and how the connection is encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    /// Plain TCP (or a Unix socket).
    Disabled,
    /// TLS required, the certificate verified against the system roots plus `extra_root`
    /// (the URL's `sslrootcert`, a PEM file).
    Verified { extra_root: Option<PathBuf> },
}

/// A parsed PostgreSQL URL.
#[derive(Clone)]
pub struct PostgresUrl {
    pub config: tokio_postgres::Config,
    pub tls: Tls,
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Why a URL was refused. One line, without the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UrlError(pub String);

/// The schemes that name PostgreSQL, before any `+driver`.
const SCHEMES: &[&str] = &["postgresql", "postgres"];
/// SQLAlchemy drivers whose URLs are accepted as they are.
const DRIVERS: &[&str] = &["asyncpg", "psycopg2", "psycopg", "pg8000"];

/// Whether `url` names PostgreSQL (by its scheme), whatever else it holds.
pub fn is_postgres_url(url: &str) -> bool {
    let Some((scheme, _)) = url.split_once("://") else {
        return false;
    };
    let base = scheme.split('+').next().unwrap_or(scheme);
    SCHEMES.iter().any(|s| base.eq_ignore_ascii_case(s))
}

impl FromStr for PostgresUrl {
    type Err = UrlError;

    fn from_str(url: &str) -> Result<PostgresUrl, UrlError> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(UrlError("the database URL is not a URL".into()));
        };
        let (base, driver) = match scheme.split_once('+') {
            Some((base, driver)) => (base, Some(driver)),
            None => (scheme, None),
        };
        if !SCHEMES.iter().any(|s| base.eq_ignore_ascii_case(s)) {
            return Err(UrlError(format!(
                "{scheme:?} is not a PostgreSQL URL scheme (postgresql://, postgres://)"
            )));
        }
        if let Some(driver) = driver
            && !DRIVERS.iter().any(|d| driver.eq_ignore_ascii_case(d))
        {
            return Err(UrlError(format!(
                "unknown PostgreSQL driver {driver:?} in the database URL scheme; use \
                 postgresql:// (or +asyncpg, +psycopg2, +psycopg)"
            )));
        }
        let (location, query) = match rest.split_once('?') {
            Some((location, query)) => (location, Some(query)),
            None => (rest, None),
        };
        let mut sslmode = None;
        let mut sslrootcert = None;
        let mut kept = Vec::new();
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            if pair.is_empty() {
                continue;
            }
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => sslmode = Some(percent_decode(value)?),
                "sslrootcert" => sslrootcert = Some(PathBuf::from(percent_decode(value)?)),
                _ => kept.push(pair),
            }
        }
        let tls = match sslmode.as_deref().unwrap_or("prefer") {
            "disable" | "allow" | "prefer" => Tls::Disabled,
            "require" | "verify-ca" | "verify-full" => Tls::Verified {
                extra_root: sslrootcert,
            },
            other => {
                return Err(UrlError(format!(
                    "unknown sslmode {other:?} in the database URL; use disable, allow, prefer, \
                     require, verify-ca or verify-full"
                )));
            }
        };
        let mut libpq = format!("postgresql://{location}");
        if !kept.is_empty() {
            libpq.push('?');
            libpq.push_str(&kept.join("&"));
        }
        let mut config = tokio_postgres::Config::from_str(&libpq).map_err(|e| {
            UrlError(format!(
                "the PostgreSQL database URL cannot be used: {}",
                one_line(&e.to_string())
            ))
        })?;
        // tokio-postgres sees no sslmode: workgate decides TLS itself (see the module docs).
        config.ssl_mode(match tls {
            Tls::Disabled => tokio_postgres::config::SslMode::Disable,
            Tls::Verified { .. } => tokio_postgres::config::SslMode::Require,
        });
        if config.get_hosts().is_empty() {
            return Err(UrlError(
                "the PostgreSQL database URL names no host (postgresql://USER:PASSWORD@HOST/DB)"
                    .into(),
            ));
        }
        if config.get_dbname().is_none() {
            return Err(UrlError(
                "the PostgreSQL database URL names no database (postgresql://USER:PASSWORD@HOST/DB)"
                    .into(),
            ));
        }
        if config.get_application_name().is_none() {
            config.application_name("workgate");
        }
        Ok(PostgresUrl { config, tls })
    }
}

impl PostgresUrl {
    /// Where it connects, for logs: `user@host:port/db`, never the password.
    pub fn describe(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!(
            "postgresql://{}@{host}:{port}/{}{}",
            self.config.get_user().unwrap_or(""),
            self.config.get_dbname().unwrap_or(""),
            match self.tls {
                Tls::Disabled => "",
                Tls::Verified { .. } => " (TLS)",
            }
        )
    }
}

fn percent_decode(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(b) = hex else {
                return Err(UrlError("bad percent-encoding in the database URL".into()));
            };
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError("the database URL is not UTF-8".into()))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<PostgresUrl, UrlError> {
        url.parse()
    }

    #[test]
    fn argilla_spellings_are_accepted() {
        for url in [
            "postgresql://argilla:secret@db:5433/argilla",
            "postgres://argilla:secret@db:5433/argilla",
            "postgresql+asyncpg://argilla:secret@db:5433/argilla",
            "postgresql+psycopg2://argilla:secret@db:5433/argilla",
        ] {
            let parsed = parse(url).unwrap();
            assert_eq!(parsed.config.get_user(), Some("argilla"), "{url}");
            assert_eq!(parsed.config.get_password(), Some(&b"secret"[..]));
            assert_eq!(parsed.config.get_dbname(), Some("argilla"));
            assert_eq!(parsed.config.get_ports(), &[5433]);
            assert_eq!(parsed.tls, Tls::Disabled);
            assert!(is_postgres_url(url));
            let shown = format!("{parsed:?}");
            assert!(!shown.contains("secret"), "{shown}");
            assert_eq!(shown, "postgresql://argilla@db:5433/argilla");
        }
        assert!(!is_postgres_url("sqlite:///x.db"));
    }

    #[test]
    fn sslmode_decides_tls() {
        for (mode, tls) in [
            ("disable", Tls::Disabled),
            ("allow", Tls::Disabled),
            ("prefer", Tls::Disabled),
            ("require", Tls::Verified { extra_root: None }),
            ("verify-ca", Tls::Verified { extra_root: None }),
            ("verify-full", Tls::Verified { extra_root: None }),
        ] {
            let url = format!("postgresql://u@h/d?sslmode={mode}&connect_timeout=5");
            let parsed = parse(&url).unwrap();
            assert_eq!(parsed.tls, tls, "{mode}");
            assert_eq!(
                parsed.config.get_connect_timeout(),
                Some(&std::time::Duration::from_secs(5))
            );
        }
        let parsed =
            parse("postgres://u@h/d?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem").unwrap();
        assert_eq!(
            parsed.tls,
            Tls::Verified {
                extra_root: Some(PathBuf::from("/etc/ca.pem"))
            }
        );
    }

    #[test]
    fn bad_urls_are_refused_in_one_line_without_the_password() {
        for (url, needle) in [
            (
                "postgresql://u:hunter2@h/d?sslmode=sometimes",
                "unknown sslmode",
            ),
            (
                "postgresql+mysqldb://u:hunter2@h/d",
                "unknown PostgreSQL driver",
            ),
            ("mysql://u:hunter2@h/d", "not a PostgreSQL URL scheme"),
            ("postgresql://u:hunter2@h/d?colour=blue", "cannot be used"),
            ("postgresql://u:hunter2@h:notaport/d", "cannot be used"),
            ("postgresql://u:hunter2@h", "names no database"),
        ] {
            let err = parse(url).unwrap_err();
            assert!(err.0.contains(needle), "{url}: {err}");
            assert!(!err.0.contains("hunter2"), "{err}");
            assert!(!err.0.contains('\n'), "{err}");
        }
    }
}

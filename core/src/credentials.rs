//! Credentials: API keys, password hashes and bearer tokens.
//!
//! - API keys carry 256 random bits (from the host), are shown once, and are stored and looked
//!   up only as SHA-256 digests ([`ApiKeyDigest`]).
//! - Passwords are hashed with Argon2id into a portable PHC string whose cost the host sets
//!   ([`PasswordCost`]); bcrypt `$2a$/$2b$/$2y$` hashes imported from Argilla verify too and are
//!   flagged for rehashing ([`PasswordCheck::needs_rehash`]).
//! - Bearer tokens are HS256 JWTs that carry the user's id and security stamp and expire; they
//!   stop working when the user is deleted, disabled or changes password.
//!
//! Every comparison of secret material is constant-time (digest lookups compare digests, not
//! keys; MAC checks use `hmac`'s `verify_slice`).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::timestamp::Timestamp;

// ---------------------------------------------------------------------------------------------
// API keys

/// Prefix of generated API keys, so secret scanners and people recognise them.
pub const API_KEY_PREFIX: &str = "wg_";
/// How many leading characters of a key the masked form shows (API.md 9.2).
pub const API_KEY_SHOWN_CHARS: usize = 6;

/// SHA-256 of an API key: what the stores keep and index.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApiKeyDigest(pub [u8; 32]);

impl ApiKeyDigest {
    pub fn of(key: &str) -> Self {
        ApiKeyDigest(Sha256::digest(key.as_bytes()).into())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(ApiKeyDigest(out))
    }
}

impl std::fmt::Debug for ApiKeyDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeyDigest({})", &self.to_hex()[..12])
    }
}

impl Serialize for ApiKeyDigest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ApiKeyDigest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ApiKeyDigest::from_hex(&s).ok_or_else(|| serde::de::Error::custom("invalid API key digest"))
    }
}

/// A freshly generated API key from 32 random bytes: `wg_` + 43 base64url characters.
pub fn new_api_key(random: [u8; 32]) -> String {
    format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(random))
}

/// The first characters of a key, kept beside the digest to build the masked form.
pub fn api_key_prefix(key: &str) -> String {
    key.chars().take(API_KEY_SHOWN_CHARS).collect()
}

/// The masked form of a key shown to anyone but its owner: its first characters and `…`.
pub fn masked_api_key(prefix: &str) -> String {
    format!("{prefix}…")
}

// ---------------------------------------------------------------------------------------------
// Passwords

/// Argon2id cost. The default is OWASP's recommendation (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        PasswordCost::OWASP
    }
}

impl PasswordCost {
    /// OWASP's Argon2id minimum: m=19456 KiB, t=2, p=1.
    pub const OWASP: PasswordCost = PasswordCost {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// Parses `m=19456,t=2,p=1` (any order; all three required).
    pub fn parse(s: &str) -> Result<PasswordCost, String> {
        let (mut m, mut t, mut p) = (None, None, None);
        for part in s.split(',') {
            let (k, v) = part.trim().split_once('=').ok_or_else(|| {
                format!("invalid password cost part {part:?}: expected key=value")
            })?;
            let v: u32 = v
                .trim()
                .parse()
                .map_err(|_| format!("invalid number in password cost part {part:?}"))?;
            match k.trim() {
                "m" => m = Some(v),
                "t" => t = Some(v),
                "p" => p = Some(v),
                other => {
                    return Err(format!(
                        "unknown password cost key {other:?} (expected m, t, p)"
                    ));
                }
            }
        }
        let cost = PasswordCost {
            memory_kib: m.ok_or("password cost needs m=<KiB>")?,
            iterations: t.ok_or("password cost needs t=<passes>")?,
            parallelism: p.ok_or("password cost needs p=<lanes>")?,
        };
        cost.params()?;
        Ok(cost)
    }

    fn params(&self) -> Result<Params, String> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None).map_err(|e| {
            format!(
                "invalid Argon2 cost m={},t={},p={}: {e}",
                self.memory_kib, self.iterations, self.parallelism
            )
        })
    }
}

impl std::fmt::Display for PasswordCost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "m={},t={},p={}",
            self.memory_kib, self.iterations, self.parallelism
        )
    }
}

/// Hashes a password with Argon2id at `cost`, salted with 16 bytes from the host, into a PHC
/// string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
pub fn hash_password(password: &str, cost: PasswordCost, salt: [u8; 16]) -> Result<String, String> {
    let params = cost.params()?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCheck {
    pub matches: bool,
    /// The hash is bcrypt, or Argon2 at another cost: rehash on this successful login.
    pub needs_rehash: bool,
}

/// Checks `password` against a PHC Argon2 string or a bcrypt `$2a$/$2b$/$2y$` hash.
/// Unknown or malformed hashes never match.
pub fn verify_password(password: &str, stored: &str, cost: PasswordCost) -> PasswordCheck {
    if is_bcrypt(stored) {
        // bcrypt only looks at the first 72 bytes; Argilla had the same limit.
        let matches = bcrypt::verify(password, stored).unwrap_or(false);
        return PasswordCheck {
            matches,
            needs_rehash: true,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return PasswordCheck {
            matches: false,
            needs_rehash: false,
        };
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let current = Params::try_from(&parsed).ok();
    let needs_rehash = parsed.algorithm.as_str() != "argon2id"
        || current.is_none_or(|p| {
            p.m_cost() != cost.memory_kib
                || p.t_cost() != cost.iterations
                || p.p_cost() != cost.parallelism
        });
    PasswordCheck {
        matches,
        needs_rehash,
    }
}

/// Whether `hash` is a bcrypt hash of a variant Argilla wrote.
pub fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
}

/// Whether `hash` is a stored password hash workgate can verify (for imports).
///
/// The cost is bounded too (bcrypt ≤ 16; Argon2 ≤ 256 MiB, 16 passes, 16 lanes), so an
/// imported file cannot make each login of a user exhaust memory or hang a thread.
pub fn is_supported_password_hash(hash: &str) -> bool {
    if is_bcrypt(hash) {
        let cost_ok = hash.as_bytes().get(6) == Some(&b'$')
            && hash
                .get(4..6)
                .and_then(|c| c.parse::<u32>().ok())
                .is_some_and(|c| (4..=16).contains(&c));
        return cost_ok && is_well_formed_bcrypt(hash);
    }
    PasswordHash::new(hash).is_ok_and(|h| {
        // Bounded before argon2 reads them: its `Params::new` multiplies `p` by 8 unchecked
        // (an overflow panic in debug builds; found by fuzzing users_yaml).
        let within = |name: &str, max: u32| h.params.get_decimal(name).is_none_or(|v| v <= max);
        h.algorithm.as_str().starts_with("argon2")
            && within("m", 262_144)
            && within("t", 16)
            && within("p", 16)
            && Params::try_from(&h)
                .is_ok_and(|p| p.m_cost() <= 262_144 && p.t_cost() <= 16 && p.p_cost() <= 16)
    })
}

/// Whether `bcrypt::verify` would parse `hash` (so a login can check it), decided without
/// hashing: verifying once at the hash's own cost took up to seconds per imported user (cost 16),
/// making an import of a large `.users.yml` take hours.
fn is_well_formed_bcrypt(hash: &str) -> bool {
    use std::str::FromStr;
    if bcrypt::HashParts::from_str(hash).is_err() {
        return false;
    }
    // `from_str` checked there are three `$`-separated parts and the last is 53 bytes long.
    let Some(body) = hash.split('$').filter(|s| !s.is_empty()).nth(2) else {
        return false;
    };
    let (salt, digest) = body.split_at(22);
    bcrypt::BASE_64.decode(salt).is_ok_and(|s| s.len() == 16)
        && bcrypt::BASE_64.decode(digest).is_ok()
}

// ---------------------------------------------------------------------------------------------
// Bearer tokens

type HmacSha256 = Hmac<Sha256>;

/// What a bearer token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// Username, as Argilla's tokens carry it.
    pub sub: String,
    /// User id.
    pub uid: Uuid,
    /// The user's security stamp when the token was issued.
    pub stp: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

/// Why a token was refused. All of these answer 401; the reason is for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("unsupported token algorithm")]
    Algorithm,
    #[error("bad token signature")]
    Signature,
    #[error("token expired")]
    Expired,
}

const JWT_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Signs `claims` into an HS256 JWT.
pub fn issue_token(secret: &[u8], claims: &TokenClaims) -> String {
    let header = URL_SAFE_NO_PAD.encode(JWT_HEADER);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

/// Checks a token's form, algorithm (HS256 only), signature (constant-time) and expiry.
/// The caller then checks that the subject exists, is enabled and has the same stamp.
pub fn verify_token(secret: &[u8], token: &str, now: Timestamp) -> Result<TokenClaims, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| TokenError::Malformed)?;
    let header: serde_json::Value =
        serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(TokenError::Algorithm);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| TokenError::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    mac.verify_slice(&sig).map_err(|_| TokenError::Signature)?;
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| TokenError::Malformed)?;
    let claims: TokenClaims =
        serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
    if now.secs() >= claims.exp {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: PasswordCost = PasswordCost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn api_keys_are_long_random_and_digested() {
        let k = new_api_key([7; 32]);
        assert!(k.starts_with("wg_"));
        assert_eq!(k.len(), 3 + 43);
        assert_ne!(new_api_key([8; 32]), k);
        let d = ApiKeyDigest::of(&k);
        assert_eq!(ApiKeyDigest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(masked_api_key(&api_key_prefix(&k)), format!("{}…", &k[..6]));
    }

    #[test]
    fn argon2_round_trip_and_rehash_flag() {
        let h = hash_password("s3cret-pass", CHEAP, [1; 16]).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert_eq!(
            verify_password("s3cret-pass", &h, CHEAP),
            PasswordCheck {
                matches: true,
                needs_rehash: false
            }
        );
        assert!(!verify_password("wrong", &h, CHEAP).matches);
        assert!(
            verify_password(
                "s3cret-pass",
                &h,
                PasswordCost {
                    memory_kib: 128,
                    ..CHEAP
                }
            )
            .needs_rehash
        );
        assert!(is_supported_password_hash(&h));
    }

    #[test]
    fn bcrypt_variants_verify_and_need_rehash() {
        // `1234` hashed by Argilla's passlib (bcrypt, cost 4 here to keep the test fast).
        let h = bcrypt::hash_with_salt("1234", 4, [3; 16]).unwrap();
        for variant in [
            bcrypt::Version::TwoA,
            bcrypt::Version::TwoB,
            bcrypt::Version::TwoY,
        ] {
            let s = h.format_for_version(variant);
            assert_eq!(
                verify_password("1234", &s, CHEAP),
                PasswordCheck {
                    matches: true,
                    needs_rehash: true
                },
                "{s}"
            );
            assert!(!verify_password("12345", &s, CHEAP).matches);
            assert!(is_supported_password_hash(&s));
        }
        assert!(!is_supported_password_hash("$2b$04$short"));
        let too_costly = bcrypt::hash_with_salt("1234", 4, [3; 16])
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB)
            .replacen("$04$", "$31$", 1);
        assert!(!is_supported_password_hash(&too_costly));
        assert!(!is_supported_password_hash("plain"));
        assert!(!verify_password("x", "plain", CHEAP).matches);
    }

    /// An Argon2 hash whose lanes would overflow argon2's own check is refused, not a panic.
    #[test]
    fn argon2_imports_with_huge_parameters_are_refused() {
        for hash in [
            "$argon2id$v=19$m=64,t=1,p=1555555555$c2FsdHNhbHRzYWx0$3Y6Yy0p1vH3l7X5qf6l3Xw",
            "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0$3Y6Yy0p1vH3l7X5qf6l3Xw",
            "$argon2id$v=19$m=64,t=4294967295,p=1$c2FsdHNhbHRzYWx0$3Y6Yy0p1vH3l7X5qf6l3Xw",
        ] {
            assert!(!is_supported_password_hash(hash), "{hash}");
        }
        assert!(is_supported_password_hash(
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$3Y6Yy0p1vH3l7X5qf6l3Xw"
        ));
    }

    /// An import accepts exactly the bcrypt hashes a login can verify, without hashing (found by
    /// `cargo xtask fuzz users_yaml`: each cost-16 entry took seconds to check).
    #[test]
    fn bcrypt_imports_are_checked_as_verify_parses_them() {
        let good = bcrypt::hash_with_salt("1234", 4, [5; 16])
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB);
        let body = &good[7..];
        let mut cases = vec![
            good.clone(),
            format!("$2b$$04${body}"),
            format!("$2b$04${body}$"),
            format!("$2b$04${}", &body[1..]),
            format!("$2b$04${body}x"),
            // A salt whose last character carries bits past 16 bytes.
            format!("$2b$04${}z{}", &body[..21], &body[22..]),
            format!("$2b$04${}!{}", &body[..30], &body[31..]),
            format!("$2b$04${}é{}", &body[..20], &body[22..]),
        ];
        for i in [0, 21, 22, 52] {
            let mut bytes = body.as_bytes().to_vec();
            bytes[i] = b'*';
            cases.push(format!("$2b$04${}", String::from_utf8(bytes).unwrap()));
        }
        for case in &cases {
            assert_eq!(
                is_well_formed_bcrypt(case),
                bcrypt::verify("", case).is_ok(),
                "{case}"
            );
        }
        assert!(is_supported_password_hash(&good));
        // Well formed at the highest accepted cost: accepted (checking it must not hash it).
        assert!(is_supported_password_hash(
            &good.replacen("$04$", "$16$", 1)
        ));
    }

    #[test]
    fn cost_parsing() {
        assert_eq!(
            PasswordCost::parse("m=19456,t=2,p=1"),
            Ok(PasswordCost::OWASP)
        );
        assert!(PasswordCost::parse("m=1,t=2,p=1").is_err());
        assert!(PasswordCost::parse("m=1024,t=2").is_err());
        assert!(PasswordCost::parse("x=1").is_err());
    }

    fn claims(exp: i64) -> TokenClaims {
        TokenClaims {
            sub: "ann".into(),
            uid: Uuid::nil(),
            stp: "s".into(),
            iat: 0,
            exp,
        }
    }

    #[test]
    fn tokens_sign_verify_expire() {
        let t = issue_token(b"k1", &claims(100));
        assert_eq!(
            verify_token(b"k1", &t, Timestamp::from_secs(99)),
            Ok(claims(100))
        );
        assert_eq!(
            verify_token(b"k1", &t, Timestamp::from_secs(100)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify_token(b"k2", &t, Timestamp::from_secs(1)),
            Err(TokenError::Signature)
        );
        assert_eq!(
            verify_token(b"k1", "a.b", Timestamp::from_secs(1)),
            Err(TokenError::Malformed)
        );
        // alg=none with the same payload
        let payload = t.split('.').nth(1).unwrap();
        let none = format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
        );
        assert_eq!(
            verify_token(b"k1", &none, Timestamp::from_secs(1)),
            Err(TokenError::Algorithm)
        );
        // a tampered payload
        let forged = format!(
            "{}.{}.{}",
            t.split('.').next().unwrap(),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(10_000)).unwrap()),
            t.split('.').nth(2).unwrap()
        );
        assert_eq!(
            verify_token(b"k1", &forged, Timestamp::from_secs(1)),
            Err(TokenError::Signature)
        );
    }
}

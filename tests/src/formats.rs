//! Checks of the wire formats of API.md section 1 and 9, and bearer-token tampering.

/// A lower-case, dashed UUID version 4.
pub fn is_uuid_v4(s: &str) -> bool {
    match uuid::Uuid::parse_str(s) {
        Ok(id) => id.get_version_num() == 4 && id.hyphenated().to_string() == s,
        Err(_) => false,
    }
}

/// `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`: naive UTC with microseconds, no zone.
pub fn is_timestamp(s: &str) -> bool {
    let shape = "dddd-dd-ddTdd:dd:dd.dddddd";
    s.len() == shape.len()
        && s.bytes().zip(shape.bytes()).all(|(c, want)| match want {
            b'd' => c.is_ascii_digit(),
            other => c == other,
        })
}

/// The masked form of an API key: its first 6 characters and `…` (API.md 9.2).
pub fn masked(key: &str) -> String {
    let head: String = key.chars().take(6).collect();
    format!("{head}…")
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url.
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(B64URL[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Decodes unpadded (or padded) base64url.
pub fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = B64URL.iter().position(|&x| x == c)? as u32;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

/// The token with one character of its signature (its last dot-separated part) changed.
pub fn with_broken_signature(token: &str) -> String {
    let (rest, signature) = token
        .rsplit_once('.')
        .unwrap_or_else(|| panic!("a token of the form header.payload.signature, got {token}"));
    let mut chars: Vec<char> = signature.chars().collect();
    let first = chars.first().copied().unwrap_or('A');
    chars[0] = if first == 'A' { 'B' } else { 'A' };
    format!("{rest}.{}", chars.into_iter().collect::<String>())
}

/// The token's payload re-sent under `{"alg":"none"}` with an empty signature.
pub fn with_alg_none(token: &str) -> String {
    let payload = token
        .split('.')
        .nth(1)
        .unwrap_or_else(|| panic!("a token of the form header.payload.signature, got {token}"));
    let header = base64url_encode(br#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{payload}.")
}

/// The token's payload re-sent under `{"alg":"HS512"}` with its original signature.
pub fn with_other_alg(token: &str) -> String {
    let mut parts = token.splitn(3, '.');
    let (_, payload, signature) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let header = base64url_encode(br#"{"alg":"HS512","typ":"JWT"}"#);
    format!("{header}.{payload}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert!(is_timestamp("2023-03-16T11:11:59.871532"));
        assert!(!is_timestamp("2023-03-16T11:11:59.871532Z"));
        assert!(!is_timestamp("2023-03-16T11:11:59"));
        assert!(!is_timestamp("2023-03-16 11:11:59.871532"));
    }

    #[test]
    fn uuids() {
        assert!(is_uuid_v4("0b6e0d3e-8a4f-4c9e-9d2a-1f1f6b7c8d9e"));
        assert!(!is_uuid_v4("0B6E0D3E-8A4F-4C9E-9D2A-1F1F6B7C8D9E"));
        assert!(!is_uuid_v4("0b6e0d3e8a4f4c9e9d2a1f1f6b7c8d9e"));
        assert!(!is_uuid_v4("0b6e0d3e-8a4f-1c9e-9d2a-1f1f6b7c8d9e"));
    }

    #[test]
    fn base64url_round_trips() {
        for s in ["", "a", "ab", "abc", "abcd", r#"{"alg":"none"}"#] {
            assert_eq!(
                base64url_decode(&base64url_encode(s.as_bytes())).as_deref(),
                Some(s.as_bytes())
            );
        }
        assert_eq!(base64url_encode(b"abc"), "YWJj");
        assert_eq!(base64url_encode(b"ab"), "YWI");
    }

    #[test]
    fn masking() {
        assert_eq!(masked("argilla.apikey"), "argill…");
    }
}

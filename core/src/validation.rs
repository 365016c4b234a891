//! The field rules of API.md section 4 that more than the API engine needs: the name pattern
//! of usernames and workspace names, and the password length. The engine turns a broken rule
//! into a 422 item; the browser package exposes the same rules to the web app, so a form
//! checks exactly what the server will.
//!
//! Built without the `engine` feature (the browser package carries it).

/// The name rule shared by usernames and workspace names (Argilla's regex, quoted in its 422s).
pub const NAME_PATTERN: &str = "^(?!-|_)[a-z0-9-_]+$";

/// The shortest password accepted, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// The longest password accepted, in characters.
pub const PASSWORD_MAX_CHARS: usize = 100;

/// Whether `s` matches [`NAME_PATTERN`] as a whole (a trailing newline does not).
pub fn is_valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        None | Some('-') | Some('_') => false,
        Some(first) => std::iter::once(first)
            .chain(chars)
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'),
    }
}

/// Whether `password` has an accepted length (counted in characters, as Argilla counts).
pub fn is_valid_password_length(password: &str) -> bool {
    (PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&password.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rule() {
        for ok in ["a", "argilla", "team-1", "a_b", "0", "x-"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in ["", "-a", "_a", "A", "a b", "a\n", "é", "a.b"] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn password_length_counts_characters() {
        assert!(!is_valid_password_length("1234567"));
        assert!(is_valid_password_length("12345678"));
        assert!(is_valid_password_length(&"é".repeat(100)));
        assert!(!is_valid_password_length(&"é".repeat(101)));
    }
}

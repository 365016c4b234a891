//! A request being built: `t.post("/api/users").key(&k).json(&body).send()`.

use serde_json::Value;

use crate::answer::Answer;
use crate::endpoints;
use crate::target::Target;

/// One request to a [`Target`]. Nothing is sent until [`Call::send`].
#[must_use = "a call does nothing until .send()"]
pub struct Call<'t> {
    target: &'t Target,
    method: String,
    path_and_query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    off_contract: bool,
}

impl<'t> Call<'t> {
    pub(crate) fn new(target: &'t Target, method: &str, path_and_query: &str) -> Call<'t> {
        Call {
            target,
            method: method.to_string(),
            path_and_query: path_and_query.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            off_contract: false,
        }
    }

    /// Authenticates with `X-Argilla-Api-Key: <key>`.
    pub fn key(self, key: &str) -> Self {
        self.header("X-Argilla-Api-Key", key)
    }

    /// Authenticates with `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, body: &Value) -> Self {
        self.header("Content-Type", "application/json")
            .raw_body(serde_json::to_vec(body).expect("JSON serialises"))
    }

    /// A JSON body with no `Content-Type` header at all.
    pub fn json_without_content_type(self, body: &Value) -> Self {
        self.raw_body(serde_json::to_vec(body).expect("JSON serialises"))
    }

    /// A form-encoded body (`application/x-www-form-urlencoded`).
    pub fn form(self, fields: &[(&str, &str)]) -> Self {
        let encoded = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.header("Content-Type", "application/x-www-form-urlencoded")
            .raw_body(encoded.into_bytes())
    }

    /// These exact body bytes; add a `Content-Type` with [`Call::header`] if wanted.
    pub fn raw_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Marks a request that deliberately matches no endpoint of the contract (unknown paths,
    /// wrong methods). Any other request must match a row of [`endpoints::ENDPOINTS`].
    pub fn off_contract(mut self) -> Self {
        self.off_contract = true;
        self
    }

    /// Sends the request and returns the answer.
    #[track_caller]
    pub fn send(self) -> Answer {
        let path = self
            .path_and_query
            .split_once('?')
            .map_or(self.path_and_query.as_str(), |(path, _)| path);
        if !self.off_contract {
            assert!(
                endpoints::find(&self.method, path).is_some(),
                "{} {path} is not in the suite's endpoint table (tests/src/endpoints.rs); \
                 add it there, or mark the call .off_contract()",
                self.method
            );
        }
        let mut answer = self.target.exchange(
            &self.method,
            &self.path_and_query,
            &self.headers,
            &self.body,
        );
        answer.request = format!("{} {}", self.method, self.path_and_query);
        answer
    }
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
pub fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for byte in s.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

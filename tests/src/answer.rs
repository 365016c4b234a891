//! What came back from one request.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// The status, headers and body of a response, with the body parsed as JSON (`Null` if it is
/// not JSON). Assertions name the request that produced it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub json: Value,
    /// `METHOD /path?query`, for failure messages.
    pub request: String,
}

impl Answer {
    pub(crate) fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Answer {
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            json,
            request: String::new(),
        }
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert!(
            self.status == status,
            "{}: expected status {status}, got {} with body {}",
            self.request,
            self.status,
            self.text()
        );
        &self.json
    }

    /// Asserts the status and the whole JSON body.
    #[track_caller]
    pub fn expect_json(&self, status: u16, body: &Value) {
        self.expect(status);
        assert!(
            &self.json == body,
            "{}: answered {status} as expected, but with body\n  {}\nexpected\n  {}",
            self.request,
            self.text(),
            body
        );
    }

    /// The keys of the top-level JSON object, in the order they were sent.
    pub fn key_order(&self) -> Vec<String> {
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        de.deserialize_map(KeyOrder).unwrap_or_default()
    }
}

/// Collects the keys of a JSON object in wire order (serde_json's `Value` sorts them).
struct KeyOrder;

impl<'de> Visitor<'de> for KeyOrder {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
        let mut keys = Vec::new();
        while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
            keys.push(key);
        }
        Ok(keys)
    }
}

//! Calling a Durable Object: one JSON operation in a POST, one JSON answer back — both read by
//! serde_json (see [`read_op`]), never by the JS runtime's `JSON.parse`, which would lose the
//! difference between `1.0` and `1` in record documents.

use serde::Serialize;
use serde::de::DeserializeOwned;
use worker::{Error, Method, Request, RequestInit, Result, Stub};

pub async fn call<Op: Serialize, Answer: DeserializeOwned>(stub: &Stub, op: &Op) -> Result<Answer> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(serde_json::to_string(op)?.into()));
    // The host part is never resolved: a stub delivers the request to its object.
    let req = Request::new_with_init("https://durable-object.internal/", &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        let text = resp.text().await.unwrap_or_default();
        return Err(Error::RustError(format!(
            "durable object answered {}: {text}",
            resp.status_code()
        )));
    }
    // Parsed by serde_json, not by the JS runtime: JSON.parse would turn `1.0` into `1`, and
    // record documents must come back as they were stored.
    let text = resp.text().await?;
    serde_json::from_str(&text).map_err(|e| Error::RustError(format!("durable object answer: {e}")))
}

/// Reads a Durable Object's operation from its request, with serde_json.
pub async fn read_op<Op: DeserializeOwned>(req: &mut Request) -> Result<Op> {
    let text = req.text().await?;
    serde_json::from_str(&text)
        .map_err(|e| Error::RustError(format!("durable object operation: {e}")))
}

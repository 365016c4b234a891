//! Calling a Durable Object: one JSON operation in a POST, one JSON answer back.

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
    resp.json().await
}

//! The `LoginThrottle` Durable Object: failed-login counts, one instance per username.
//!
//! KV cannot count (no atomic increment, ~1 write/s per key, and a count written in one place
//! is seen elsewhere a minute later), so each username's record lives in its own Durable
//! Object, named `login:{username}`. One object handles one event at a time, so concurrent
//! failures are all counted; spreading usernames over objects means an attack on one name
//! slows no one else.

use serde::{Deserialize, Serialize};
use worker::{DurableObject, Env, Request, Response, Result, State};
use workgate_core::Timestamp;
use workgate_core::domain::LoginFailures;

use crate::durable;

/// The Durable Object binding in wrangler.toml.
pub const BINDING: &str = "LOGIN_THROTTLE";
const RECORD: &str = "failures";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    Get,
    Record { now: Timestamp, window_secs: i64 },
    Clear,
}

#[worker::durable_object(fetch)]
pub struct LoginThrottle {
    state: State,
}

impl DurableObject for LoginThrottle {
    fn new(state: State, _env: Env) -> Self {
        LoginThrottle { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op: Op = req.json().await?;
        let storage = self.state.storage();
        let current: LoginFailures = storage.get(RECORD).await?.unwrap_or_default();
        let answer = match op {
            Op::Get => current,
            Op::Record { now, window_secs } => {
                let next = current.after_failure(now, window_secs);
                storage.put(RECORD, next).await?;
                next
            }
            Op::Clear => {
                if current != LoginFailures::default() {
                    storage.delete(RECORD).await?;
                }
                LoginFailures::default()
            }
        };
        Response::from_json(&answer)
    }
}

/// Sends one operation to the object of `username`.
pub async fn call(env: &Env, username: &str, op: &Op) -> Result<LoginFailures> {
    let stub = env
        .durable_object(BINDING)?
        .get_by_name(&format!("login:{username}"))?;
    durable::call(&stub, op).await
}

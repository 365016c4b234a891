//! The `LoginThrottle` Durable Object: failed-login counts, one instance per username.
//!
//! KV cannot count (no atomic increment, ~1 write/s per key, and a count written in one place
//! is seen elsewhere a minute later), so each username's record lives in its own Durable
//! Object, named `login:{username}`. One object handles one event at a time, so concurrent
//! failures are all counted; spreading usernames over objects means an attack on one name
//! slows no one else.
//!
//! Nothing of a username's object stays once it is useless: each failure sets an alarm at the
//! moment core's retention (`rules::failure_window`: past the window and past any lockout)
//! lets the record go, and the alarm deletes the object's storage unless a newer failure moved
//! the deadline. A cleared record deletes it at once. So wrong passwords for unknown usernames
//! leave nothing behind for long.

use serde::{Deserialize, Serialize};
use worker::js_sys;
use worker::wasm_bindgen::JsValue;
use worker::{Date, DurableObject, Env, Request, Response, Result, ScheduledTime, State};
use workgate_core::domain::LoginFailures;
use workgate_core::{FailureWindow, StoreError, StoreResult, Timestamp};

use crate::durable;

/// The Durable Object binding in wrangler.toml.
pub const BINDING: &str = "LOGIN_THROTTLE";
const RECORD: &str = "failures";
/// Milliseconds since the epoch after which the record may go (core's retention).
const EXPIRES: &str = "expires_ms";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    Get,
    Record { window: Window },
    Clear,
}

/// [`FailureWindow`] as it travels to the object.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Window {
    pub now: Timestamp,
    pub window_secs: i64,
    pub forget_before: Timestamp,
}

impl From<Window> for FailureWindow {
    fn from(w: Window) -> Self {
        FailureWindow {
            now: w.now,
            window_secs: w.window_secs,
            forget_before: w.forget_before,
        }
    }
}

impl From<FailureWindow> for Window {
    fn from(w: FailureWindow) -> Self {
        Window {
            now: w.now,
            window_secs: w.window_secs,
            forget_before: w.forget_before,
        }
    }
}

#[worker::durable_object(alarm)]
pub struct LoginThrottle {
    state: State,
}

impl DurableObject for LoginThrottle {
    fn new(state: State, _env: Env) -> Self {
        LoginThrottle { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op: Op = durable::read_op(&mut req).await?;
        let storage = self.state.storage();
        let current: LoginFailures = storage.get(RECORD).await?.unwrap_or_default();
        let answer = match op {
            Op::Get => current,
            Op::Record { window } => {
                let next = workgate_core::rules::next_failures(current, &window.into());
                // This record becomes forgettable once `forget_before` passes its last
                // failure (`now`); `forget_before` trails `now` by a fixed span.
                let keep_micros = window.now.micros() - window.forget_before.micros();
                let expires_ms = (window.now.micros() + keep_micros).div_euclid(1000);
                storage.put(RECORD, next).await?;
                storage.put(EXPIRES, expires_ms).await?;
                storage.set_alarm(at(expires_ms)).await?;
                next
            }
            Op::Clear => {
                if current != LoginFailures::default() {
                    storage.delete_alarm().await?;
                    storage.delete_all().await?;
                }
                LoginFailures::default()
            }
        };
        Response::from_json(&answer)
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        match storage.get::<i64>(EXPIRES).await? {
            // A failure after this alarm was set moved the deadline (normally it also moved
            // the alarm): wait for it.
            Some(expires_ms) if (Date::now().as_millis() as i64) < expires_ms => {
                storage.set_alarm(at(expires_ms)).await?;
            }
            _ => storage.delete_all().await?,
        }
        Response::empty()
    }
}

/// An alarm time, from milliseconds since the epoch.
fn at(ms: i64) -> ScheduledTime {
    ScheduledTime::new(js_sys::Date::new(&JsValue::from_f64(ms as f64)))
}

/// Sends one operation to the object of `username`.
pub async fn call(env: &Env, username: &str, op: &Op) -> Result<LoginFailures> {
    let stub = env
        .durable_object(BINDING)?
        .get_by_name(&format!("login:{username}"))?;
    durable::call(&stub, op).await
}

/// Core's [`workgate_core::LoginThrottle`] on these objects: one per username (under `prefix`).
pub struct DurableThrottle {
    env: Env,
    prefix: String,
}

impl DurableThrottle {
    pub fn new(env: Env, prefix: String) -> Self {
        DurableThrottle { env, prefix }
    }

    async fn call(&self, username: &str, op: &Op) -> StoreResult<LoginFailures> {
        call(&self.env, &format!("{}{username}", self.prefix), op)
            .await
            .map_err(|e| StoreError::Backend(format!("login throttle: {e}")))
    }
}

#[async_trait::async_trait(?Send)]
impl workgate_core::LoginThrottle for DurableThrottle {
    async fn login_failures(&self, username: &str) -> StoreResult<LoginFailures> {
        self.call(username, &Op::Get).await
    }

    async fn record_login_failure(
        &self,
        username: &str,
        window: FailureWindow,
    ) -> StoreResult<LoginFailures> {
        self.call(
            username,
            &Op::Record {
                window: window.into(),
            },
        )
        .await
    }

    async fn clear_login_failures(&self, username: &str) -> StoreResult<()> {
        self.call(username, &Op::Clear).await.map(|_| ())
    }
}

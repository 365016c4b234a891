//! # workgate-conformance
//!
//! API.md (and docs/DECISIONS.md where API.md is silent) as executable tests. The tests live in
//! `tests/tests/<area>.rs`; this library is what they share:
//!
//! - [`Target`]: where requests go. By default an in-process [`workgate_core::Engine`] over a
//!   [`workgate_core::MemoryStore`]; with `WORKGATE_BASE_URL=http://127.0.0.1:PORT` the same
//!   requests go over HTTP to a running host (native server or worker). The HTTP target is
//!   shared by every test, so tests create their own users and workspaces with unique names
//!   ([`unique`]) and never touch the default `argilla` admin.
//! - [`Call`] and [`Answer`]: a small request builder, `t.get("/api/me").key(&k).send()`, and
//!   the status, headers and JSON that came back.
//! - [`endpoints::ENDPOINTS`]: every endpoint the suite speaks to, in one table; a request that
//!   matches no row is refused unless marked [`Call::off_contract`], and the OpenAPI test checks
//!   the table against `/api/docs/spec.json`.
//! - [`errors`]: the expected error bodies, built the way API.md section 2 writes them.
//! - [`formats`]: checks of ids, timestamps and masked keys, and token tampering.
//! - fixtures on [`Target`]: `create_user`, `create_workspace`, `add_member`, `login`.

mod answer;
mod call;
pub mod datasets;
pub mod endpoints;
pub mod errors;
mod fixtures;
pub mod formats;
pub mod moving;
mod target;

pub use answer::Answer;
pub use call::Call;
pub use fixtures::{CreatedUser, CreatedWorkspace, position_of, random_id, unique};
pub use serde_json::{Value, json};
pub use target::Target;

/// The default admin's API key (API.md section 8). Tests use it to set things up and never change
/// or delete that user.
pub const DEFAULT_ADMIN_KEY: &str = "argilla.apikey";
/// The default admin's username and password.
pub const DEFAULT_ADMIN_USERNAME: &str = "argilla";
pub const DEFAULT_ADMIN_PASSWORD: &str = "1234";

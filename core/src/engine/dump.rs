//! `GET /api/_dump` and `POST /api/_dump`: moving a deployment over HTTP, on every host (the
//! way to and from the Worker, which has no command line). The format, its checks and the
//! import rules are `crate::dump`'s; this module only authorises and translates.
//!
//! - `GET` (admin): the whole dump as JSON lines (`application/x-ndjson`).
//! - `POST` (admin; `?merge=true` to merge): the dump as the body, checked whole first; the
//!   answer counts what was written and skipped. `?max_writes=N` stops a part-by-part import
//!   (the Worker's) after N writes with `"complete": false`, so no request runs into the
//!   platform's per-request limits; the same dump posted again with merge goes on. A refused dump is 400 naming the line, and
//!   so is a non-empty target (without merge) or a conflict; nothing is written either way.
//! - **Into a store with no users** nobody can authenticate, so one more caller is accepted
//!   there: the configured default user's API key (`WORKGATE_DEFAULT_USER_API_KEY`) while the
//!   default user is switched off (`WORKGATE_DEFAULT_USER_ENABLED=false`) and the key is not the
//!   well-known `argilla.apikey`. That is how a fresh Worker is filled: deploy it with the
//!   default user off and a random key, `POST` the dump with that key; once the dump's users
//!   are in, the key opens nothing (unless the dump gives it to a user).
//!
//! **Audit** ([`Engine::export_dump`], [`Engine::import_dump`], also what `workgate export` /
//! `import` call): an export hands out every user's password hash and key digest, and an
//! import creates users, so both are audited, target type `Instance`. `dump.export` (the
//! counts handed out) is written *after* the store is read, so it is not in the dump it
//! records, and before the answer leaves: over HTTP no dump is answered without its entry (an
//! entry that cannot be written is the error answer instead). An export of an empty store
//! writes none. `dump.import` (`mode=empty|merge`, what was written and skipped) is written
//! after the import's rows, in the same transaction where the store has one; a refused import
//! writes none. The actor is the caller; `system` for the command line and for the default key
//! into an empty store (nobody is there to be the actor).

use serde_json::json;
use subtle::ConstantTimeEq;

use super::endpoint::{Answer, Call, Endpoint, Handler};
use super::error::{ApiError, ApiResult, FieldError};
use super::{AuditTarget, Caller, DefaultUserConfig, Engine, authorize, ok};
use crate::access::{Action, Resource};
use crate::credentials::ApiKeyDigest;
use crate::domain::User;
use crate::dump::{self, Counts, Dump, ExportError, ImportError, Imported, Mode};
use crate::http::Response;

/// The largest dump `POST /api/_dump` reads: Cloudflare's request body limit on the free and
/// pro plans (100 MB). Larger deployments move with `workgate export` / `import`.
pub const DUMP_BODY_LIMIT: usize = 100 * 1000 * 1000;

impl Engine {
    /// Writes the whole store's dump to `sink` (see [`dump::export`]), then the `dump.export`
    /// audit entry with the counts it wrote, by `actor` (`None`: the command line, `system`).
    /// The entry is not in this dump: it is written after the store was read. An export of an
    /// empty store writes no entry.
    pub async fn export_dump<S>(
        &self,
        actor: Option<&User>,
        sink: &mut S,
    ) -> Result<Counts, ExportError>
    where
        S: FnMut(&str) -> Result<(), String>,
    {
        let counts = dump::export(&self.stores, sink).await?;
        if counts != Counts::default() {
            let entry = self.audit_entry(
                actor,
                "dump.export",
                AuditTarget::Instance,
                Some(counts.detail()),
            );
            self.stores.audit.append_audit(entry).await?;
        }
        Ok(counts)
    }

    /// Imports a checked dump (see [`dump::import_at_most`]) and writes the `dump.import`
    /// audit entry by `actor` (`None`: the command line, `system`) after the import's rows;
    /// a refused import writes nothing.
    pub async fn import_dump(
        &self,
        actor: Option<&User>,
        dump: Dump,
        mode: Mode,
        max_writes: Option<usize>,
    ) -> Result<Imported, ImportError> {
        let record = |done: &Imported| {
            let mode = match mode {
                Mode::Empty => "empty",
                Mode::Merge => "merge",
            };
            let mut detail = format!(
                "mode={mode}; written {}; skipped {}",
                done.written.detail(),
                done.skipped.detail()
            );
            if !done.complete {
                detail.push_str("; complete=false");
            }
            self.audit_entry(actor, "dump.import", AuditTarget::Instance, Some(detail))
        };
        dump::import_at_most(&self.stores, dump, mode, max_writes, record).await
    }

    /// `GET /api/_dump`.
    pub(crate) async fn get_dump(&self, caller: &Caller) -> ApiResult<Response> {
        self.authorize_moving(caller).await?;
        let mut body = Vec::new();
        let mut sink = |line: &str| {
            body.extend_from_slice(line.as_bytes());
            body.push(b'\n');
            Ok(())
        };
        self.export_dump(Some(caller.user()), &mut sink)
            .await
            .map_err(|e| match e {
                dump::ExportError::Store(e) => ApiError::from(e),
                dump::ExportError::Sink(_) => ApiError::Internal {
                    kind: "SerializationError",
                    message: "Could not encode the dump",
                },
            })?;
        Ok(Response {
            status: 200,
            headers: vec![
                ("content-type".into(), "application/x-ndjson".into()),
                ("x-content-type-options".into(), "nosniff".into()),
            ],
            body,
        })
    }

    /// `POST /api/_dump[?merge=true]`.
    pub(crate) async fn post_dump(&self, call: &Call<'_>) -> ApiResult<Response> {
        let req = call.req;
        let actor = match self.authenticate(req).await {
            Ok(caller) => {
                self.authorize_moving(&caller).await?;
                Some(caller.user().clone())
            }
            Err(ApiError::Unauthorized) if self.may_fill_empty_store(req).await? => None,
            Err(e) => return Err(e),
        };
        let query = |name: &str| {
            req.query.as_deref().and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            })
        };
        let mut errors = Vec::new();
        let max_writes = query("max_writes").map(|_| {
            super::input::query_int(req, "max_writes", 1, 1, u32::MAX, &mut errors) as usize
        });
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let mode = match query("merge").as_deref() {
            None => Mode::Empty,
            Some("true" | "1") => Mode::Merge,
            Some("false" | "0") => Mode::Empty,
            Some(_) => {
                return Err(ApiError::Validation(vec![FieldError::new(
                    vec![json!("query"), json!("merge")],
                    "value could not be parsed to a boolean",
                    "type_error.bool",
                )]));
            }
        };
        let text = std::str::from_utf8(&req.body)
            .map_err(|_| ApiError::BadRequest("the dump is not UTF-8 text".into()))?;
        let dump = dump::read(text).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        match self
            .import_dump(actor.as_ref(), dump, mode, max_writes)
            .await
        {
            Ok(imported) => ok(&json!({
                "written": imported.written,
                "skipped": imported.skipped,
                "in_one_transaction": imported.in_one_transaction,
                "complete": imported.complete,
            })),
            Err(
                e @ (ImportError::NotEmpty(_)
                | ImportError::Conflict(_)
                | ImportError::NoAdmin
                | ImportError::NoDatasets(_)),
            ) => Err(ApiError::BadRequest(e.to_string())),
            Err(ImportError::Store(e)) => Err(e.into()),
            Err(e @ ImportError::Halfway { .. }) => Err(ApiError::Coded {
                status: 500,
                class: "GenericServerError",
                params: json!({"type": "ImportStopped", "message": e.to_string()}),
            }),
        }
    }

    /// A dump holds every user's hashes and the whole audit log, and an import creates users:
    /// only those who may list users, create them and read the log.
    async fn authorize_moving(&self, caller: &Caller) -> ApiResult<()> {
        let subject = self.caller_subject(caller).await?;
        for action in [Action::ListUsers, Action::CreateUser, Action::ReadAuditLog] {
            authorize(&subject, action, &Resource::Instance)?;
        }
        Ok(())
    }

    /// Whether the request carries the configured default user's key into a store that has
    /// no users while that user is switched off (see the module docs).
    async fn may_fill_empty_store(&self, req: &crate::http::Request) -> ApiResult<bool> {
        let configured = &self.config.default_user;
        let Some(key) = req
            .header_value("x-argilla-api-key")
            .map(str::trim)
            .filter(|k| !k.is_empty())
        else {
            return Ok(false);
        };
        if configured.enabled || configured.api_key == DefaultUserConfig::default().api_key {
            return Ok(false);
        }
        let matches: bool = ApiKeyDigest::of(key)
            .0
            .ct_eq(&ApiKeyDigest::of(&configured.api_key).0)
            .into();
        Ok(matches && !self.stores.directory.has_users().await?)
    }
}

// ---------------------------------------------------------------------------------------------
// Declared once (see `endpoint`).

pub(super) const ENDPOINTS: &[Endpoint] = &[EXPORT, IMPORT];

const MERGE: super::endpoint::Param = super::endpoint::Param {
    name: "merge",
    kind: super::endpoint::ParamType::Boolean,
    description: "Add to a store that holds data: skip what it holds identically, refuse conflicts",
};

const MAX_WRITES: super::endpoint::Param = super::endpoint::Param::integer(
    "max_writes",
    "On a store without transactions (the Worker): stop after this many writes and answer \
     complete=false; post the same dump again with merge=true to go on",
);

pub(super) const EXPORT: Endpoint = Endpoint {
    errors: &[403],
    ..Endpoint::new(
        "GET",
        "/api/_dump",
        "Export the whole store as a dump (JSON lines; admin)",
        Handler::Authenticated(|e, c, _| Box::pin(e.get_dump(c))),
        Answer::AnyObject,
    )
};

pub(super) const IMPORT: Endpoint = Endpoint {
    body_limit: DUMP_BODY_LIMIT,
    query_params: &[MERGE, MAX_WRITES],
    errors: &[400, 401, 403],
    ..Endpoint::new(
        "POST",
        "/api/_dump",
        "Import a dump, all or nothing (admin; see README, Moving a deployment)",
        Handler::Public(|e, c| Box::pin(e.post_dump(c))),
        Answer::AnyObject,
    )
};

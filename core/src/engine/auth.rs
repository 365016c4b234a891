//! Authentication (API.md section 3), login with throttling (9.6), and the caller's own
//! endpoints: `/api/me`, `/api/v1/me/workspaces`, `PUT /api/me/password`.

use std::sync::Arc;

use crate::access::{Action, Resource, Subject};
use crate::credentials::{self, ApiKeyDigest, TokenClaims};
use crate::domain::{LoginFailures, Role, User};
use crate::http::{Request, Response};
use crate::rules;
use crate::store::{StoreError, UserEdit};
use crate::timestamp::Timestamp;

use super::caller_cache::{CacheKey, Entry};
use super::error::{ApiError, ApiResult, FieldError};
use super::input::{self, Fields};
use super::schema::{Token, UserOut, WorkspaceOut, Workspaces};
use super::{AuditTarget, Engine, authorize, ok};

/// The authenticated caller of a request. `Debug` hides the key.
#[derive(Clone)]
pub struct Caller {
    /// The API key the caller authenticated with, if it used one (kept only for this request,
    /// to echo the caller's own key back as Argilla does).
    api_key: Option<String>,
    /// The caller as the cache keeps it (or as this request alone keeps it, when the
    /// directory has no generation): where its workspaces are kept once read.
    entry: Arc<Entry>,
}

impl Caller {
    /// The authenticated user, as the caller cache keeps it.
    pub fn user(&self) -> &User {
        &self.entry.user
    }
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("user", self.user())
            .field("by_api_key", &self.api_key.is_some())
            .finish()
    }
}

impl Engine {
    /// Finds the caller: `X-Argilla-Api-Key` if present and non-empty (an unknown key is 401
    /// even with a valid token), else `Authorization: Bearer <token>`, else 401.
    pub(crate) async fn authenticate(&self, req: &Request) -> ApiResult<Caller> {
        if let Some(key) = req
            .header_value("x-argilla-api-key")
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            let entry = self
                .caller_entry(CacheKey::ApiKey(ApiKeyDigest::of(key)))
                .await?;
            return match entry {
                Some(entry) if !entry.user.disabled => Ok(Caller {
                    api_key: Some(key.to_string()),
                    entry,
                }),
                _ => Err(ApiError::Unauthorized),
            };
        }
        let Some(authorization) = req.header_value("authorization") else {
            return Err(ApiError::Unauthorized);
        };
        let Some((scheme, token)) = authorization.trim().split_once(' ') else {
            return Err(ApiError::Unauthorized);
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::Unauthorized);
        }
        let secret = self.token_secret().await?;
        let claims = credentials::verify_token(secret, token.trim(), self.platform.now())
            .map_err(|_| ApiError::Unauthorized)?;
        match self.caller_entry(CacheKey::User(claims.uid)).await? {
            Some(entry)
                if !entry.user.disabled
                    && entry.user.username == claims.sub
                    && stamp_matches(&entry.user.security_stamp, &claims.stp) =>
            {
                Ok(Caller {
                    api_key: None,
                    entry,
                })
            }
            _ => Err(ApiError::Unauthorized),
        }
    }

    /// The user `key` names, from the caller cache when the directory's generation is the
    /// one the entry was kept under, else from the store (and then kept, under the generation
    /// read *before* the lookup; see [`super::caller_cache`]). Unknown keys are not kept.
    async fn caller_entry(&self, key: CacheKey) -> ApiResult<Option<Arc<Entry>>> {
        let directory = &*self.stores.directory;
        let generation = if self.config.caller_cache_capacity == 0 {
            None
        } else if let Some(at_hand) = directory.generation_at_hand() {
            Some(at_hand)
        } else {
            self.caller_cache.reads.generation(directory).await?
        };
        if let Some(generation) = generation
            && let Some(entry) = self.caller_cache.get(&key, generation)
        {
            return Ok(Some(entry));
        }
        let user = match &key {
            CacheKey::ApiKey(digest) => self.stores.directory.user_by_api_key(digest).await?,
            CacheKey::User(id) => self.stores.directory.user_by_id(*id).await?,
        };
        Ok(user.map(|user| match generation {
            Some(generation) => self.caller_cache.insert(key, generation, user),
            None => Arc::new(Entry::new(user)),
        }))
    }

    /// The workspaces the caller can access ([`Engine::accessible_workspaces`]), read once per
    /// cache entry.
    pub(crate) async fn caller_workspaces(
        &self,
        caller: &Caller,
    ) -> ApiResult<Vec<crate::domain::Workspace>> {
        if let Some(kept) = caller.entry.accessible.get() {
            return Ok(kept.to_vec());
        }
        let read: Arc<[crate::domain::Workspace]> =
            self.accessible_workspaces(caller.user()).await?.into();
        Ok(caller.entry.accessible.get_or_init(|| read).to_vec())
    }

    /// The access-model subject of the caller ([`Engine::subject`]), its memberships from
    /// [`Engine::caller_workspaces`].
    pub(crate) async fn caller_subject(&self, caller: &Caller) -> ApiResult<Subject> {
        let workspaces = if caller.user().role == Role::Admin {
            Vec::new()
        } else {
            self.caller_workspaces(caller)
                .await?
                .into_iter()
                .map(|w| w.name)
                .collect()
        };
        Ok(Subject::new(
            caller.user().username.clone(),
            caller.user().role,
            workspaces,
        ))
    }

    /// The `api_key` shown for `user` to `caller` (API.md 9.2): the caller's own key when it
    /// authenticated with it, a fresh key right after creation or rotation, else masked.
    pub(crate) fn shown_key(
        &self,
        user: &User,
        caller: Option<&Caller>,
        fresh: Option<&str>,
    ) -> String {
        if let Some(key) = fresh {
            return key.to_string();
        }
        if let Some(
            caller @ Caller {
                api_key: Some(key), ..
            },
        ) = caller
            && caller.user().id == user.id
            && ApiKeyDigest::of(key) == user.api_key_digest
        {
            return key.clone();
        }
        credentials::masked_api_key(&user.api_key_prefix)
    }

    /// A user as the API shows it, with its memberships.
    pub(crate) async fn user_out(
        &self,
        user: &User,
        caller: Option<&Caller>,
        fresh_key: Option<&str>,
    ) -> ApiResult<UserOut> {
        let workspaces = self
            .stores
            .directory
            .workspaces_of(user.id)
            .await?
            .into_iter()
            .map(|w| w.name)
            .collect();
        Ok(UserOut::new(
            user,
            workspaces,
            self.shown_key(user, caller, fresh_key),
        ))
    }

    /// Many users as the API shows them, with their memberships fetched in one store call.
    pub(crate) async fn users_out(
        &self,
        users: &[User],
        caller: &Caller,
    ) -> ApiResult<Vec<UserOut>> {
        let ids: Vec<_> = users.iter().map(|u| u.id).collect();
        let names = self.stores.directory.workspace_names_of_users(&ids).await?;
        Ok(users
            .iter()
            .zip(names)
            .map(|(user, workspaces)| {
                UserOut::new(user, workspaces, self.shown_key(user, Some(caller), None))
            })
            .collect())
    }

    /// The workspaces a user can access: every one for admins, its memberships otherwise.
    pub(crate) async fn accessible_workspaces(
        &self,
        user: &User,
    ) -> ApiResult<Vec<crate::domain::Workspace>> {
        Ok(if user.role == Role::Admin {
            self.stores.directory.workspaces().await?
        } else {
            self.stores.directory.workspaces_of(user.id).await?
        })
    }

    /// `GET /api/me`: written once per cache entry (see [`Entry::me`]), then copied.
    pub(crate) async fn me(&self, caller: &Caller) -> ApiResult<Response> {
        if let Some(body) = caller.entry.me.get() {
            return Ok(Response {
                status: 200,
                headers: crate::http::json_headers(),
                body: body.clone(),
            });
        }
        let workspaces = self
            .caller_workspaces(caller)
            .await?
            .into_iter()
            .map(|w| w.name)
            .collect();
        let response = ok(&UserOut::new(
            caller.user(),
            workspaces,
            self.shown_key(caller.user(), Some(caller), None),
        ))?;
        let _ = caller.entry.me.set(response.body.clone());
        Ok(response)
    }

    /// `GET /api/me/credentials` (API.md 9.12): one hash verification, for an authenticated
    /// caller's own account.
    pub(crate) async fn my_credentials(&self, caller: &Caller) -> ApiResult<Response> {
        ok(&self.default_credentials_of(caller.user()).await)
    }

    pub(crate) async fn my_workspaces(&self, caller: &Caller) -> ApiResult<Response> {
        let items = self
            .caller_workspaces(caller)
            .await?
            .iter()
            .map(WorkspaceOut::from)
            .collect();
        ok(&Workspaces { items })
    }

    // ----- login and throttling -----

    /// `POST /api/security/token`.
    pub(crate) async fn login(&self, req: &Request) -> ApiResult<Response> {
        let fields = input::form_fields(req);
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let mut errors = Vec::new();
        let field_loc = |name: &str| vec![serde_json::json!("body"), serde_json::json!(name)];
        if let Some(grant) = get("grant_type")
            && grant != "password"
        {
            errors.push(
                FieldError::new(
                    field_loc("grant_type"),
                    "string does not match regex \"password\"",
                    "value_error.str.regex",
                )
                .with_ctx(serde_json::json!({"pattern": "password"})),
            );
        }
        let username = get("username");
        let password = get("password");
        for (name, value) in [("username", username), ("password", password)] {
            if value.is_none() {
                errors.push(FieldError::new(
                    field_loc(name),
                    "field required",
                    "value_error.missing",
                ));
            }
        }
        let (Some(username), Some(password), true) = (username, password, errors.is_empty()) else {
            return Err(ApiError::Validation(errors));
        };

        let now = self.platform.now();
        // Names that cannot exist are refused without touching the store (nothing to throttle).
        let throttled = input::is_valid_name(username);
        if throttled {
            self.claim_attempt(username, now).await?;
        }
        let user = if throttled {
            self.stores.directory.user_by_username(username).await?
        } else {
            None
        };
        let (stored, usable) = match &user {
            Some(u) if !u.disabled => (u.password_hash.clone(), true),
            _ => (self.decoy_hash().await?, false),
        };
        let check = self
            .platform
            .verify_password(password.to_string(), stored, self.config.password_cost)
            .await;
        let user = match user {
            Some(user) if usable && check.matches => user,
            // The attempt was already counted as a failure by `claim_attempt`.
            _ => return Err(ApiError::Unauthorized),
        };
        self.stores.throttle.clear_login_failures(username).await?;
        if check.needs_rehash {
            // Upgrade bcrypt (or an old cost) to the current scheme; the stamp stays, so
            // existing tokens keep working. A failure here must not fail the login. The edit
            // replaces only the hash that was verified: a password changed meanwhile stays.
            if let Ok(hash) = self.hash(password).await {
                let verified = user.password_hash.clone();
                let edit = UserEdit::new(move |current| {
                    if current.password_hash != verified {
                        return Err(StoreError::Stale("password changed during login"));
                    }
                    Ok(User {
                        password_hash: hash.clone(),
                        ..current.clone()
                    })
                });
                let _ = self.stores.directory.update_user(user.id, edit).await;
            }
        }
        let access_token = self.issue_token(&user, now).await?;
        ok(&Token {
            access_token,
            token_type: "bearer",
        })
    }

    async fn issue_token(&self, user: &User, now: Timestamp) -> ApiResult<String> {
        let claims = TokenClaims {
            sub: user.username.clone(),
            uid: user.id,
            stp: user.security_stamp.clone(),
            iat: now.secs(),
            exp: now.secs().saturating_add(self.config.token_ttl_secs),
        };
        Ok(credentials::issue_token(
            self.token_secret().await?,
            &claims,
        ))
    }

    /// Counts one password attempt for `username` *before* the password is checked, so that
    /// parallel guesses cannot all slip in under the limit: 429 if the username is locked, or
    /// if attempts that raced in since the record was read already reach the limit. A correct
    /// password clears the record afterwards.
    pub(crate) async fn claim_attempt(&self, username: &str, now: Timestamp) -> ApiResult<()> {
        let policy = self.config.throttle;
        let failures = self.stores.throttle.login_failures(username).await?;
        self.refuse_if_locked(failures, now)?;
        let record = self
            .stores
            .throttle
            .record_login_failure(username, rules::failure_window(now, &policy))
            .await?;
        let before = record.count.saturating_sub(1);
        if before > failures.count && before >= policy.max_failures {
            return Err(ApiError::TooManyRequests {
                retry_after: policy.base_lockout_secs,
            });
        }
        Ok(())
    }

    /// 429 while `failures` lock the username (API.md 9.6, docs/DECISIONS.md).
    pub(crate) fn refuse_if_locked(
        &self,
        failures: LoginFailures,
        now: Timestamp,
    ) -> ApiResult<()> {
        let policy = &self.config.throttle;
        let (Some(last), true) = (failures.last_at, failures.count >= policy.max_failures) else {
            return Ok(());
        };
        let doublings = (failures.count - policy.max_failures).min(30);
        let lockout = policy
            .base_lockout_secs
            .saturating_mul(1_i64 << doublings)
            .min(policy.max_lockout_secs);
        let until = last.plus_secs(lockout);
        if now < until {
            let remaining_micros = until.micros() - now.micros();
            let retry_after = (remaining_micros + 999_999) / 1_000_000;
            return Err(ApiError::TooManyRequests { retry_after });
        }
        Ok(())
    }

    /// A hash of a random password at the current cost, verified when the username is unknown
    /// so that failed logins take about the same time either way.
    pub(crate) async fn decoy_hash(&self) -> ApiResult<String> {
        if let Some(h) = self.decoy_hash.get() {
            return Ok(h.clone());
        }
        let random = hex::encode(self.random::<16>());
        let hash = self.hash(&random).await?;
        Ok(self.decoy_hash.get_or_init(|| hash).clone())
    }

    /// `PUT /api/me/password`.
    pub(crate) async fn change_own_password(
        &self,
        caller: &Caller,
        req: &Request,
    ) -> ApiResult<Response> {
        let body = input::json_object(req)?;
        let mut fields = Fields::new(&body);
        let current = fields.required_string("current_password");
        let new = fields.password("new_password", true);
        fields.finish()?;
        let (Some(current), Some(new)) = (current, new) else {
            return Err(ApiError::Validation(Vec::new()));
        };
        let subject = self.caller_subject(caller).await?;
        authorize(
            &subject,
            Action::ChangeOwnPassword,
            &Resource::User(&caller.user().username),
        )?;

        let now = self.platform.now();
        let username = caller.user().username.as_str();
        self.claim_attempt(username, now).await?;
        let check = self
            .platform
            .verify_password(
                current,
                caller.user().password_hash.clone(),
                self.config.password_cost,
            )
            .await;
        if !check.matches {
            return Err(ApiError::BadRequest(
                "Current password is incorrect".to_string(),
            ));
        }
        self.stores.throttle.clear_login_failures(username).await?;
        let hash = self.hash(&new).await?;
        // Applied to the current record: a change made meanwhile (by an admin) is kept, and a
        // password or stamp changed meanwhile means this request's credentials are stale.
        let stamp = caller.user().security_stamp.clone();
        let new_stamp = self.new_stamp();
        let edit = UserEdit::new(move |current| {
            if current.disabled || current.security_stamp != stamp {
                return Err(StoreError::Stale(
                    "the session ended during the password change",
                ));
            }
            Ok(User {
                password_hash: hash.clone(),
                security_stamp: new_stamp.clone(),
                updated_at: now,
                ..current.clone()
            })
        });
        let entry = self.audit_entry(
            Some(caller.user()),
            "user.password.change",
            AuditTarget::User(caller.user()),
            None,
        );
        let edit = edit.audited(entry, |_, _| None);
        let updated = match self
            .stores
            .directory
            .update_user(caller.user().id, edit)
            .await
        {
            Ok(user) => user,
            Err(StoreError::Stale(_) | StoreError::UserNotFound(_)) => {
                return Err(ApiError::Unauthorized);
            }
            Err(e) => return Err(e.into()),
        };
        ok(&self.user_out(&updated, Some(caller), None).await?)
    }
}

/// Constant-time comparison of security stamps.
fn stamp_matches(stored: &str, claimed: &str) -> bool {
    use subtle::ConstantTimeEq;
    stored.len() == claimed.len() && bool::from(stored.as_bytes().ct_eq(claimed.as_bytes()))
}

// ---------------------------------------------------------------------------------------------
// Authentication and the caller's own endpoints, declared once (see `endpoint`).

use super::endpoint::{Answer, Body, Endpoint, Handler};

/// Every endpoint of this module, in the order the OpenAPI description lists them.
pub(super) const ENDPOINTS: &[Endpoint] = &[
    LOGIN,
    ME,
    MY_CREDENTIALS,
    CHANGE_OWN_PASSWORD,
    MY_WORKSPACES,
];

pub(super) const LOGIN: Endpoint = Endpoint {
    body: Some(Body::Form("Login")),
    errors: &[429],
    ..Endpoint::new(
        "POST",
        "/api/security/token",
        "Log in with username and password (form-encoded)",
        Handler::Public(|e, call| Box::pin(e.login(call.req))),
        Answer::Schema("Token"),
    )
};

pub(super) const ME: Endpoint = Endpoint::new(
    "GET",
    "/api/me",
    "The authenticated user",
    Handler::Authenticated(|e, caller, _| Box::pin(e.me(caller))),
    Answer::Schema("UserOut"),
);

pub(super) const MY_CREDENTIALS: Endpoint = Endpoint::new(
    "GET",
    "/api/me/credentials",
    "Whether the caller's own account still has a default password or API key",
    Handler::Authenticated(|e, caller, _| Box::pin(e.my_credentials(caller))),
    Answer::Schema("Credentials"),
);

pub(super) const CHANGE_OWN_PASSWORD: Endpoint = Endpoint {
    body: Some(Body::Json("PasswordChange")),
    errors: &[400, 429],
    ..Endpoint::new(
        "PUT",
        "/api/me/password",
        "Change one's own password (current password required)",
        Handler::Authenticated(|e, caller, call| Box::pin(e.change_own_password(caller, call.req))),
        Answer::Schema("UserOut"),
    )
};

pub(super) const MY_WORKSPACES: Endpoint = Endpoint::new(
    "GET",
    "/api/v1/me/workspaces",
    "Workspaces the caller can access",
    Handler::Authenticated(|e, caller, _| Box::pin(e.my_workspaces(caller))),
    Answer::Schema("Workspaces"),
);

//! The generic store suite: every guarantee the [`Store`] trait documents, as named cases that
//! any implementation can be run through (the memory store here, the SQLite store natively, the
//! Workers KV store inside workerd).
//!
//! Each case gets a fresh, empty store from the host's `make` function, drives it through the
//! trait only, and answers `Ok(())` or `Err(message)`; nothing panics, so a failing case never
//! takes the others (or a Worker) down with it. The suite needs no runtime, thread or clock —
//! records carry fixed timestamps and deterministic ids — so it runs wherever the store does,
//! wasm32 included. Cases run one after the other; concurrency (two processes racing for a
//! username, say) is the host's to test, with the threads or requests it has.
//!
//! Two ways to run it:
//!
//! - [`run_all`] runs every case and returns a [`SuiteReport`] (serialisable, so a Worker can
//!   send it back as JSON); natively, finish with [`SuiteReport::assert_all_passed`].
//! - [`store_suite_tests!`](crate::store_suite_tests) expands to one test function per case, so
//!   a host's test runner lists and filters them by name:
//!
//! ```ignore
//! mod store_suite {
//!     workgate_core::store_suite_tests!(#[tokio::test] make = || async { SqliteStore::in_memory().await.unwrap() });
//! }
//! ```
//!
//! Where the trait leaves something open (the error for a membership query of an unknown
//! workspace, say) the suite accepts every reasonable answer and says so in the case.

use std::fmt::{self, Debug};
use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::credentials::{ApiKeyDigest, api_key_prefix};
use crate::domain::{AuditEntry, LoginFailures, NewUser, Role, User, Workspace};
use crate::store::{FailureWindow, StoreError, StoreResult, Stores, UserEdit};
use crate::timestamp::Timestamp;

// ---------------------------------------------------------------------------------------------
// Assertions that answer instead of panicking

/// `ensure!(cond)` / `ensure!(cond, "format", args)`: fail the case unless `cond` holds.
macro_rules! ensure {
    ($cond:expr $(,)?) => {
        if !$cond {
            return Err(format!(
                "check failed: {} (store_suite.rs:{})",
                stringify!($cond),
                line!()
            ));
        }
    };
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!("{} (store_suite.rs:{})", format!($($fmt)+), line!()));
        }
    };
}

/// `ensure_eq!(actual, expected)`: fail the case unless they are equal, showing both.
macro_rules! ensure_eq {
    ($actual:expr, $expected:expr $(,)?) => {
        ensure_eq!($actual, $expected, "{}", stringify!($actual))
    };
    // A `match`, as in `assert_eq!`, keeps temporaries in the operands alive.
    ($actual:expr, $expected:expr, $($fmt:tt)+) => {
        match (&$actual, &$expected) {
            (actual, expected) => {
                if actual != expected {
                    return Err(format!(
                        "{}: expected {:?}, got {:?} (store_suite.rs:{})",
                        format!($($fmt)+),
                        expected,
                        actual,
                        line!()
                    ));
                }
            }
        }
    };
}

/// `ensure_err!(result, expected_error)`: fail the case unless the store refused with exactly
/// that error.
macro_rules! ensure_err {
    ($result:expr, $expected:expr $(,)?) => {{
        let expected: StoreError = $expected;
        match $result {
            Err(e) if e == expected => {}
            Err(e) => {
                return Err(format!(
                    "{}: expected Err({:?}), got Err({:?}) (store_suite.rs:{})",
                    stringify!($result),
                    expected,
                    e,
                    line!()
                ));
            }
            Ok(v) => {
                return Err(format!(
                    "{}: expected Err({:?}), got Ok({:?}) (store_suite.rs:{})",
                    stringify!($result),
                    expected,
                    v,
                    line!()
                ));
            }
        }
    }};
}

/// Turns a store error the case did not expect into a failure message.
trait OrFail<T> {
    fn or_fail(self, what: &str) -> Result<T, String>;
}

impl<T> OrFail<T> for StoreResult<T> {
    fn or_fail(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: unexpected error {e:?}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Running

/// What one case answers: `Err` carries a message saying what differed and where.
pub type Outcome = Result<(), String>;

/// The future of one case run against a store borrowed for `'a`.
pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + 'a>>;

/// One named case of the suite.
pub struct Case {
    pub name: &'static str,
    run: for<'a> fn(&'a Stores) -> CaseFuture<'a>,
}

impl Case {
    /// Runs the case against `stores`, which must be fresh and empty.
    pub fn run<'a>(&self, store: &'a Stores) -> CaseFuture<'a> {
        (self.run)(store)
    }
}

impl Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case").field("name", &self.name).finish()
    }
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResult {
    pub name: String,
    pub passed: bool,
    /// Why it failed; empty when it passed.
    pub message: String,
}

/// The results of a suite run, in case order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteReport {
    pub results: Vec<CaseResult>,
}

impl SuiteReport {
    /// Whether every case passed (and there was at least one).
    pub fn all_passed(&self) -> bool {
        !self.results.is_empty() && self.results.iter().all(|r| r.passed)
    }

    /// The failed cases.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.results.iter().filter(|r| !r.passed)
    }

    /// For native tests: panics with every failure unless all cases passed.
    #[track_caller]
    pub fn assert_all_passed(&self) {
        if !self.all_passed() {
            panic!("store suite failed:\n{self}");
        }
    }
}

impl fmt::Display for SuiteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.results {
            if r.passed {
                writeln!(f, "ok      {}", r.name)?;
            } else {
                writeln!(f, "FAILED  {}: {}", r.name, r.message)?;
            }
        }
        let failed = self.failures().count();
        write!(
            f,
            "store suite: {} of {} cases passed",
            self.results.len() - failed,
            self.results.len()
        )
    }
}

impl CaseResult {
    /// For native tests: panics with the message unless the case passed.
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.passed {
            panic!("store suite case {} failed: {}", self.name, self.message);
        }
    }
}

/// Runs every case, each on a fresh store from `make`, one after the other.
pub async fn run_all<F, Fut>(make: F) -> SuiteReport
where
    F: Fn() -> Fut,
    Fut: Future<Output = Stores>,
{
    let mut report = SuiteReport::default();
    for case in cases() {
        let store = make().await;
        report.results.push(run_on(&case, &store).await);
    }
    report
}

/// Runs the case called `name` on a fresh store from `make` (for one test per case).
pub async fn run_case<F, Fut>(name: &str, make: F) -> CaseResult
where
    F: Fn() -> Fut,
    Fut: Future<Output = Stores>,
{
    match cases().into_iter().find(|c| c.name == name) {
        Some(case) => run_on(&case, &make().await).await,
        None => CaseResult {
            name: name.to_string(),
            passed: false,
            message: "no store suite case of that name".to_string(),
        },
    }
}

async fn run_on(case: &Case, store: &Stores) -> CaseResult {
    let outcome = match check_fresh(store).await {
        Ok(()) => case.run(store).await,
        Err(e) => Err(format!("the store from make() is not fresh: {e}")),
    };
    CaseResult {
        name: case.name.to_string(),
        passed: outcome.is_ok(),
        message: outcome.err().unwrap_or_default(),
    }
}

/// Every case reads the store as empty to begin with; a `make` that hands out a used store
/// would make failures elsewhere hard to read.
async fn check_fresh(s: &Stores) -> Outcome {
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 0);
    ensure!(
        s.directory
            .workspaces()
            .await
            .or_fail("workspaces")?
            .is_empty()
    );
    ensure!(s.audit.audit(1, 0).await.or_fail("audit")?.is_empty());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Fixtures: fixed times with microseconds, deterministic ids that do not sort in creation order

/// 2023-11-14T22:13:20 UTC plus `n` steps of a little over a second, with microseconds, so a
/// store that drops precision or orders by id instead of time shows it.
fn at(n: i64) -> Timestamp {
    Timestamp::from_micros(1_700_000_000_000_000 + n * 1_000_037 + 123_457)
}

/// A v4-shaped id from `n`, scrambled so that ids do not sort in the order they were made.
fn id(n: u128) -> Uuid {
    let scrambled = n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835) ^ (n << 64);
    uuid::Builder::from_random_bytes(scrambled.to_be_bytes()).into_uuid()
}

fn user_id(n: u128) -> Uuid {
    id(0x1000 + n)
}

fn workspace_id(n: u128) -> Uuid {
    id(0x2000 + n)
}

/// The API key of fixture user `username`, rotation `generation`.
fn api_key(username: &str, generation: u32) -> String {
    format!("wg_fixture-{username}-{generation}")
}

/// A user record numbered `n` (its id and times follow from `n`).
fn user(n: u128, username: &str, role: Role) -> User {
    let key = api_key(username, 0);
    User {
        id: user_id(n),
        username: username.to_string(),
        first_name: format!("First {n}"),
        last_name: n.is_multiple_of(2).then(|| format!("Last {n}")),
        role,
        password_hash: format!("$argon2id$v=19$m=64,t=1,p=1$c2FsdC0{n}$aGFzaC0{username}"),
        api_key_digest: ApiKeyDigest::of(&key),
        api_key_prefix: api_key_prefix(&key),
        security_stamp: format!("stamp-{n}"),
        disabled: false,
        inserted_at: at(n as i64),
        updated_at: at(n as i64),
    }
}

fn admin(n: u128, username: &str) -> User {
    user(n, username, Role::Admin)
}

fn annotator(n: u128, username: &str) -> User {
    user(n, username, Role::Annotator)
}

/// A workspace record numbered `n`.
fn workspace(n: u128, name: &str) -> Workspace {
    Workspace {
        id: workspace_id(n),
        name: name.to_string(),
        inserted_at: at(n as i64),
        updated_at: at(n as i64),
    }
}

/// `user` joining its personal workspace (record number `ws`) and then the named team
/// workspaces (records `ws + 1`, ...).
fn joining(user: User, ws: u128, teams: &[&str]) -> NewUser {
    let mut workspaces = vec![Workspace {
        id: workspace_id(ws),
        name: user.username.clone(),
        inserted_at: user.inserted_at,
        updated_at: user.inserted_at,
    }];
    for (i, name) in teams.iter().enumerate() {
        let mut w = workspace(ws + 1 + i as u128, name);
        w.inserted_at = user.inserted_at;
        w.updated_at = user.inserted_at;
        workspaces.push(w);
    }
    NewUser { user, workspaces }
}

fn audit_entry(n: u128, at: Timestamp) -> AuditEntry {
    AuditEntry {
        id: id(0x3000 + n),
        at,
        actor_id: (n % 2 == 1).then(|| user_id(n)),
        actor: if n % 2 == 1 {
            format!("user-{n}")
        } else {
            "system".to_string()
        },
        action: "workspace.member.add".to_string(),
        target_type: "Workspace".to_string(),
        target_id: workspace_id(n),
        target_name: format!("team-{n}"),
        detail: n.is_multiple_of(3).then(|| format!("detail {n} ✓")),
    }
}

fn names(workspaces: &[Workspace]) -> Vec<&str> {
    workspaces.iter().map(|w| w.name.as_str()).collect()
}

fn usernames(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

/// `update_user` with an edit that sets the whole record (the cases hold what they want).
async fn update(s: &Stores, user: User) -> StoreResult<User> {
    s.directory
        .update_user(user.id, UserEdit::replace_with(user))
        .await
}

/// `record_login_failure` at `now` with a window of `window_secs`, keeping every record (the
/// retention cases say otherwise).
async fn fail(
    s: &Stores,
    username: &str,
    now: Timestamp,
    window_secs: i64,
) -> StoreResult<LoginFailures> {
    let window = FailureWindow {
        now,
        window_secs,
        forget_before: Timestamp::from_micros(i64::MIN),
    };
    s.throttle.record_login_failure(username, window).await
}

/// Creates users (each with its personal workspace), failing the case on any error.
async fn seed(s: &Stores, users: impl IntoIterator<Item = NewUser>) -> Outcome {
    for new in users {
        let name = new.user.username.clone();
        s.directory
            .create_user(new)
            .await
            .or_fail(&format!("create_user({name})"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The case list

/// Builds the case list and the names [`store_suite_tests!`](crate::store_suite_tests) expands
/// to, from one list so they cannot drift apart. (`$d` is a `$`, passed in so that the macro
/// it defines can have metavariables of its own.)
macro_rules! suite {
    ($d:tt; $($name:ident),* $(,)?) => {
        /// Every case, in the order [`run_all`] runs them.
        pub fn cases() -> Vec<Case> {
            vec![$(Case { name: stringify!($name), run: |s| Box::pin($name(s)) }),*]
        }

        /// The names of every case, in order.
        pub const CASE_NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Calls `$callback! { [$args] case_name, ... }` with every case name: how
        /// [`store_suite_tests!`](crate::store_suite_tests) gets the list.
        #[doc(hidden)]
        #[macro_export]
        macro_rules! __store_suite_with_case_names {
            ($d callback:path; $d($d args:tt)*) => {
                $d callback! { [$d($d args)*] $($name),* }
            };
        }
    };
}

suite! {
    $;
    kind_is_named_and_ping_answers,
    empty_store_finds_nothing,
    create_user_round_trips_every_field,
    create_user_creates_its_workspaces_from_the_records,
    create_user_joins_an_existing_workspace_of_the_personal_name,
    create_user_adds_memberships_in_the_order_given,
    usernames_are_unique_and_a_refused_create_writes_nothing,
    similar_names_are_distinct,
    user_count_follows_creates_and_deletes,
    has_users_follows_creates_and_deletes,
    users_are_listed_in_insertion_order,
    update_user_replaces_the_mutable_fields,
    update_user_keeps_id_username_and_inserted_at,
    update_user_of_an_unknown_user_is_not_found,
    api_key_lookup_follows_a_rotated_digest,
    update_user_keeps_the_last_enabled_admin,
    disabled_admins_do_not_count_as_admins,
    delete_user_removes_memberships_and_keeps_the_personal_workspace,
    delete_user_of_an_unknown_user_is_not_found,
    delete_user_keeps_the_last_enabled_admin,
    a_deleted_username_can_be_created_again,
    create_users_creates_all_in_order_and_shared_workspaces_once,
    create_users_with_a_repeated_username_writes_nothing,
    create_users_with_an_existing_username_writes_nothing,
    create_users_of_an_empty_batch_is_empty,
    create_workspace_round_trips,
    workspace_names_are_unique,
    workspaces_are_listed_in_insertion_order,
    delete_workspace_removes_its_memberships,
    delete_workspace_of_an_unknown_workspace_is_not_found,
    memberships_are_listed_by_membership_time,
    membership_pairs_are_unique,
    add_member_needs_both_to_exist,
    remove_member_removes_one_membership,
    remove_member_without_membership_is_not_member,
    membership_lists_of_unknown_ids,
    audit_is_newest_first_with_limit_and_offset,
    audit_round_trips_every_field_and_outlives_its_subjects,
    audit_entries_at_the_same_time_are_newest_appended_first,
    login_failures_default_to_none,
    login_failures_count_inside_the_window,
    login_failures_start_a_new_window_when_it_has_passed,
    login_failures_are_per_username_and_cleared,
    token_secret_keeps_the_first_candidate,
}

/// One test function per store suite case, named after the case, for a host's test runner:
///
/// ```ignore
/// workgate_core::store_suite_tests!(#[tokio::test] make = || async { MemoryStore::new() });
/// ```
///
/// Each test runs its case on a fresh store from `make` and panics with the case's message if
/// it fails. The attribute is the host's async test attribute; put the invocation in a module
/// of its own so the names do not clash.
#[macro_export]
macro_rules! store_suite_tests {
    (#[$test:meta] make = $make:expr $(,)?) => {
        $crate::__store_suite_with_case_names! { $crate::__store_suite_test_fns; #[$test] $make }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_suite_test_fns {
    ([#[$test:meta] $make:expr] $($name:ident),*) => {
        $(
            #[$test]
            async fn $name() {
                $crate::store_suite::run_case(stringify!($name), $make)
                    .await
                    .assert_passed();
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------
// Basics

async fn kind_is_named_and_ping_answers(s: &Stores) -> Outcome {
    ensure!(!s.directory.kind().is_empty(), "kind() is empty");
    ensure!(
        s.directory
            .kind()
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-'),
        "kind() {:?} should be a short lower-case name",
        s.directory.kind()
    );
    s.directory.ping().await.or_fail("ping")?;
    Ok(())
}

async fn empty_store_finds_nothing(s: &Stores) -> Outcome {
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 0);
    ensure!(s.directory.users().await.or_fail("users")?.is_empty());
    ensure!(
        s.directory
            .workspaces()
            .await
            .or_fail("workspaces")?
            .is_empty()
    );
    ensure_eq!(
        s.directory
            .user_by_id(user_id(1))
            .await
            .or_fail("user_by_id")?,
        None
    );
    ensure_eq!(
        s.directory
            .user_by_username("argilla")
            .await
            .or_fail("user_by_username")?,
        None
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&ApiKeyDigest::of("argilla.apikey"))
            .await
            .or_fail("user_by_api_key")?,
        None
    );
    ensure_eq!(
        s.directory
            .workspace_by_id(workspace_id(1))
            .await
            .or_fail("workspace_by_id")?,
        None
    );
    ensure_eq!(
        s.directory
            .workspace_by_name("argilla")
            .await
            .or_fail("workspace_by_name")?,
        None
    );
    ensure!(s.audit.audit(100, 0).await.or_fail("audit")?.is_empty());
    ensure_eq!(
        s.throttle
            .login_failures("argilla")
            .await
            .or_fail("login_failures")?,
        LoginFailures::default()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Creating users

async fn create_user_round_trips_every_field(s: &Stores) -> Outcome {
    let mut ann = annotator(1, "ann");
    ann.first_name = "Ann-Marie Ünïcødé 名前 \u{1F600}".to_string();
    ann.last_name = Some("O'Brien \"quoted\" \\ back".to_string());
    ann.updated_at = at(7);
    ann.password_hash = "$2b$12$abcdefghijklmnopqrstuuC6Xv4rpWJd4U6zGKjCFh0t1JvO5Y8xK".into();
    let mut root = admin(2, "root");
    root.last_name = None;
    root.disabled = true;

    let created = s
        .directory
        .create_user(joining(ann.clone(), 1, &[]))
        .await
        .or_fail("create_user(ann)")?;
    ensure_eq!(created, ann, "create_user returns the stored user");
    let created = s
        .directory
        .create_user(NewUser {
            user: root.clone(),
            workspaces: vec![],
        })
        .await
        .or_fail("create_user(root) without workspaces")?;
    ensure_eq!(created, root, "create_user returns the stored user");

    for u in [&ann, &root] {
        ensure_eq!(
            s.directory.user_by_id(u.id).await.or_fail("user_by_id")?,
            Some(u.clone()),
            "user_by_id({})",
            u.username
        );
        ensure_eq!(
            s.directory
                .user_by_username(&u.username)
                .await
                .or_fail("user_by_username")?,
            Some(u.clone()),
            "user_by_username({})",
            u.username
        );
        ensure_eq!(
            s.directory
                .user_by_api_key(&u.api_key_digest)
                .await
                .or_fail("user_by_api_key")?,
            Some(u.clone()),
            "user_by_api_key({})",
            u.username
        );
    }
    ensure_eq!(
        s.directory.users().await.or_fail("users")?,
        vec![ann, root.clone()]
    );
    ensure!(
        s.directory
            .workspaces_of(root.id)
            .await
            .or_fail("workspaces_of")?
            .is_empty(),
        "a user created with no workspaces is a member of none"
    );
    Ok(())
}

async fn create_user_creates_its_workspaces_from_the_records(s: &Stores) -> Outcome {
    let new = joining(annotator(1, "ann"), 10, &["team-a", "team-b"]);
    let expected = new.workspaces.clone();
    s.directory
        .create_user(new)
        .await
        .or_fail("create_user(ann)")?;
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        expected
    );
    for w in &expected {
        ensure_eq!(
            s.directory
                .workspace_by_id(w.id)
                .await
                .or_fail("workspace_by_id")?,
            Some(w.clone()),
            "workspace_by_id({})",
            w.name
        );
        ensure_eq!(
            s.directory
                .workspace_by_name(&w.name)
                .await
                .or_fail("workspace_by_name")?,
            Some(w.clone()),
            "workspace_by_name({})",
            w.name
        );
    }
    ensure_eq!(
        s.directory
            .workspaces_of(user_id(1))
            .await
            .or_fail("workspaces_of")?,
        expected
    );
    Ok(())
}

async fn create_user_joins_an_existing_workspace_of_the_personal_name(s: &Stores) -> Outcome {
    // A workspace called "bob" exists before user bob does (made by an admin, or left behind
    // by a deleted bob).
    let existing = workspace(1, "bob");
    s.directory
        .create_workspace(existing.clone())
        .await
        .or_fail("create_workspace(bob)")?;
    let team = workspace(2, "team");
    s.directory
        .create_workspace(team.clone())
        .await
        .or_fail("create_workspace(team)")?;

    let bob = annotator(3, "bob");
    let new = joining(bob.clone(), 30, &["team"]);
    let (unused_personal, unused_team) = (new.workspaces[0].clone(), new.workspaces[1].clone());
    s.directory
        .create_user(new)
        .await
        .or_fail("create_user(bob)")?;

    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        vec![existing.clone(), team.clone()],
        "no workspace is created when one of the name exists"
    );
    ensure_eq!(
        s.directory
            .workspace_by_id(unused_personal.id)
            .await
            .or_fail("workspace_by_id")?,
        None,
        "the unused personal workspace record"
    );
    ensure_eq!(
        s.directory
            .workspace_by_id(unused_team.id)
            .await
            .or_fail("workspace_by_id")?,
        None,
        "the unused team workspace record"
    );
    ensure_eq!(
        s.directory
            .workspaces_of(bob.id)
            .await
            .or_fail("workspaces_of")?,
        vec![existing.clone(), team],
        "bob joined the existing workspaces"
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(existing.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["bob"]
    );
    Ok(())
}

async fn create_user_adds_memberships_in_the_order_given(s: &Stores) -> Outcome {
    // "zeta" exists already; the others are created by create_user. The order given is
    // neither alphabetical nor by id.
    s.directory
        .create_workspace(workspace(1, "zeta"))
        .await
        .or_fail("create_workspace(zeta)")?;
    let ann = annotator(2, "ann");
    s.directory
        .create_user(joining(ann.clone(), 20, &["mid", "zeta", "alpha"]))
        .await
        .or_fail("create_user(ann)")?;
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "mid", "zeta", "alpha"]
    );
    ensure_eq!(
        names(&s.directory.workspaces().await.or_fail("workspaces")?),
        vec!["zeta", "ann", "mid", "alpha"],
        "workspaces in insertion order"
    );
    Ok(())
}

async fn usernames_are_unique_and_a_refused_create_writes_nothing(s: &Stores) -> Outcome {
    let ann = annotator(1, "ann");
    s.directory
        .create_user(joining(ann.clone(), 10, &["team"]))
        .await
        .or_fail("create_user(ann)")?;
    let before_workspaces = s.directory.workspaces().await.or_fail("workspaces")?;

    // Same username, everything else new: another id, key, and workspaces to create.
    let mut again = annotator(2, "ann");
    again.api_key_digest = ApiKeyDigest::of(&api_key("ann", 1));
    let mut new = joining(again.clone(), 20, &["team", "fresh"]);
    new.workspaces[0].name = "ann-2".into();
    ensure_err!(
        s.directory.create_user(new).await,
        StoreError::UsernameTaken("ann".into())
    );

    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 1);
    ensure_eq!(
        s.directory.users().await.or_fail("users")?,
        vec![ann.clone()]
    );
    ensure_eq!(
        s.directory
            .user_by_id(again.id)
            .await
            .or_fail("user_by_id")?,
        None,
        "the refused user's id"
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&again.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        None,
        "the refused user's key"
    );
    ensure_eq!(
        s.directory
            .user_by_username("ann")
            .await
            .or_fail("user_by_username")?,
        Some(ann.clone()),
        "the first ann is untouched"
    );
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        before_workspaces,
        "no workspace of the refused user is created"
    );
    let team = s
        .directory
        .workspace_by_name("team")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("team is gone")?;
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(team.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["ann"],
        "no membership of the refused user is added"
    );
    Ok(())
}

/// Names that a LIKE pattern (`_` is a wildcard) or a key-prefix scan would confuse.
async fn similar_names_are_distinct(s: &Stores) -> Outcome {
    let all = ["ann", "anna", "an", "a_n", "axn", "a-n"];
    for (i, name) in all.iter().enumerate() {
        seed(
            s,
            [joining(
                annotator(i as u128 + 1, name),
                10 * i as u128 + 10,
                &[],
            )],
        )
        .await?;
    }
    for (i, name) in all.iter().enumerate() {
        let u = s
            .directory
            .user_by_username(name)
            .await
            .or_fail("user_by_username")?
            .ok_or_else(|| format!("user {name} not found"))?;
        ensure_eq!(u.id, user_id(i as u128 + 1), "user_by_username({name})");
        let w = s
            .directory
            .workspace_by_name(name)
            .await
            .or_fail("workspace_by_name")?
            .ok_or_else(|| format!("workspace {name} not found"))?;
        ensure_eq!(
            w.id,
            workspace_id(10 * i as u128 + 10),
            "workspace_by_name({name})"
        );
        ensure_eq!(
            usernames(&s.directory.members_of(w.id).await.or_fail("members_of")?),
            vec![*name],
            "members_of({name})"
        );
        ensure_eq!(
            names(
                &s.directory
                    .workspaces_of(u.id)
                    .await
                    .or_fail("workspaces_of")?
            ),
            vec![*name],
            "workspaces_of({name})"
        );
    }
    for missing in ["a", "anna2", "a%", "_nn", "ANN", "ann "] {
        ensure_eq!(
            s.directory
                .user_by_username(missing)
                .await
                .or_fail("user_by_username")?,
            None,
            "user_by_username({missing:?})"
        );
        ensure_eq!(
            s.directory
                .workspace_by_name(missing)
                .await
                .or_fail("workspace_by_name")?,
            None,
            "workspace_by_name({missing:?})"
        );
    }
    // Failures and deletions of one do not touch the others.
    fail(s, "an", at(100), 900)
        .await
        .or_fail("record_login_failure")?;
    ensure_eq!(
        s.throttle
            .login_failures("ann")
            .await
            .or_fail("login_failures")?,
        LoginFailures::default()
    );
    s.directory
        .delete_user(user_id(1))
        .await
        .or_fail("delete_user(ann)")?;
    ensure_eq!(
        usernames(&s.directory.users().await.or_fail("users")?),
        vec!["anna", "an", "a_n", "axn", "a-n"]
    );
    Ok(())
}

async fn user_count_follows_creates_and_deletes(s: &Stores) -> Outcome {
    seed(
        s,
        [
            joining(admin(1, "root"), 10, &[]),
            joining(annotator(2, "ann"), 20, &[]),
        ],
    )
    .await?;
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 2);
    s.directory
        .create_users(vec![
            joining(annotator(3, "bob"), 30, &[]),
            joining(annotator(4, "cat"), 40, &[]),
        ])
        .await
        .or_fail("create_users")?;
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 4);
    s.directory
        .delete_user(user_id(2))
        .await
        .or_fail("delete_user(ann)")?;
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 3);
    let _ = s
        .directory
        .create_user(joining(annotator(5, "bob"), 50, &[]))
        .await;
    ensure_eq!(
        s.directory.user_count().await.or_fail("user_count")?,
        3,
        "a refused create does not count"
    );
    Ok(())
}

async fn has_users_follows_creates_and_deletes(s: &Stores) -> Outcome {
    ensure_eq!(
        s.directory.has_users().await.or_fail("has_users")?,
        false,
        "empty store"
    );
    seed(s, [joining(annotator(2, "ann"), 20, &[])]).await?;
    ensure_eq!(
        s.directory.has_users().await.or_fail("has_users")?,
        true,
        "one user"
    );
    s.directory
        .delete_user(user_id(2))
        .await
        .or_fail("delete_user(ann)")?;
    ensure_eq!(
        s.directory.has_users().await.or_fail("has_users")?,
        false,
        "its only user deleted"
    );
    Ok(())
}

async fn users_are_listed_in_insertion_order(s: &Stores) -> Outcome {
    // Ids are scrambled, names are not alphabetical, and three users share one inserted_at:
    // ties go by insertion.
    let mut users = vec![
        annotator(1, "zed"),
        admin(2, "mia"),
        annotator(3, "bob"),
        annotator(4, "ann"),
        annotator(5, "kim"),
    ];
    for u in &mut users[2..] {
        u.inserted_at = at(3);
        u.updated_at = at(3);
    }
    for (i, u) in users.iter().enumerate() {
        seed(s, [joining(u.clone(), 10 * i as u128 + 10, &[])]).await?;
    }
    ensure_eq!(s.directory.users().await.or_fail("users")?, users);

    // An update does not move a user; a deletion leaves the others in order.
    let mut bob = users[2].clone();
    bob.first_name = "Robert".into();
    bob.updated_at = at(50);
    update(s, bob.clone()).await.or_fail("update_user(bob)")?;
    s.directory
        .delete_user(users[0].id)
        .await
        .or_fail("delete_user(zed)")?;
    ensure_eq!(
        s.directory.users().await.or_fail("users")?,
        vec![users[1].clone(), bob, users[3].clone(), users[4].clone()]
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Updating users

async fn update_user_replaces_the_mutable_fields(s: &Stores) -> Outcome {
    let root = admin(1, "root");
    let ann = annotator(2, "ann");
    seed(
        s,
        [
            joining(root.clone(), 10, &[]),
            joining(ann.clone(), 20, &["team"]),
        ],
    )
    .await?;

    let key = api_key("ann", 1);
    let changed = User {
        first_name: "Annie".into(),
        last_name: None,
        role: Role::Admin,
        password_hash: "$argon2id$v=19$m=64,t=1,p=1$bmV3$bmV3aGFzaA".into(),
        api_key_digest: ApiKeyDigest::of(&key),
        api_key_prefix: api_key_prefix(&key),
        security_stamp: "stamp-new".into(),
        disabled: true,
        updated_at: at(99),
        ..ann.clone()
    };
    let stored = update(s, changed.clone())
        .await
        .or_fail("update_user(ann)")?;
    ensure_eq!(stored, changed, "update_user returns the stored user");
    ensure_eq!(
        s.directory.user_by_id(ann.id).await.or_fail("user_by_id")?,
        Some(changed.clone())
    );
    ensure_eq!(
        s.directory
            .user_by_username("ann")
            .await
            .or_fail("user_by_username")?,
        Some(changed.clone())
    );

    // And back: last_name from None to Some, enabled again.
    let back = User {
        last_name: Some("Smith".into()),
        disabled: false,
        role: Role::Annotator,
        updated_at: at(100),
        ..changed
    };
    update(s, back.clone())
        .await
        .or_fail("update_user(ann) again")?;
    ensure_eq!(
        s.directory.user_by_id(ann.id).await.or_fail("user_by_id")?,
        Some(back.clone())
    );
    ensure_eq!(
        s.directory.users().await.or_fail("users")?,
        vec![root, back],
        "users() sees the update"
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "team"],
        "an update keeps memberships"
    );
    let team = s
        .directory
        .workspace_by_name("team")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("team is gone")?;
    let members = s
        .directory
        .members_of(team.id)
        .await
        .or_fail("members_of")?;
    ensure_eq!(
        members.first().map(|u| u.first_name.as_str()),
        Some("Annie"),
        "members_of sees the update"
    );
    Ok(())
}

async fn update_user_keeps_id_username_and_inserted_at(s: &Stores) -> Outcome {
    let ann = annotator(1, "ann");
    seed(
        s,
        [
            joining(admin(2, "root"), 20, &[]),
            joining(ann.clone(), 10, &[]),
        ],
    )
    .await?;
    let attempt = User {
        username: "renamed".into(),
        inserted_at: at(77),
        first_name: "Ann".into(),
        updated_at: at(78),
        ..ann.clone()
    };
    let stored = update(s, attempt).await.or_fail("update_user(ann)")?;
    let expected = User {
        first_name: "Ann".into(),
        updated_at: at(78),
        ..ann.clone()
    };
    ensure_eq!(stored, expected, "usernames and inserted_at are immutable");
    ensure_eq!(
        s.directory
            .user_by_username("ann")
            .await
            .or_fail("user_by_username")?,
        Some(expected)
    );
    ensure_eq!(
        s.directory
            .user_by_username("renamed")
            .await
            .or_fail("user_by_username")?,
        None
    );
    Ok(())
}

async fn update_user_of_an_unknown_user_is_not_found(s: &Stores) -> Outcome {
    seed(s, [joining(admin(1, "root"), 10, &[])]).await?;
    let ghost = annotator(2, "ghost");
    ensure_err!(
        update(s, ghost.clone()).await,
        StoreError::UserNotFound(ghost.id)
    );
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 1);
    ensure_eq!(
        s.directory
            .user_by_id(ghost.id)
            .await
            .or_fail("user_by_id")?,
        None
    );
    ensure_eq!(
        s.directory
            .user_by_username("ghost")
            .await
            .or_fail("user_by_username")?,
        None
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&ghost.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        None
    );
    Ok(())
}

async fn api_key_lookup_follows_a_rotated_digest(s: &Stores) -> Outcome {
    let root = admin(1, "root");
    let ann = annotator(2, "ann");
    seed(
        s,
        [
            joining(root.clone(), 10, &[]),
            joining(ann.clone(), 20, &[]),
        ],
    )
    .await?;
    let mut current = ann.clone();
    for generation in 1..=3 {
        let old = current.api_key_digest;
        let key = api_key("ann", generation);
        current = User {
            api_key_digest: ApiKeyDigest::of(&key),
            api_key_prefix: api_key_prefix(&key),
            updated_at: at(50 + i64::from(generation)),
            ..current
        };
        update(s, current.clone())
            .await
            .or_fail("update_user(ann) with a new key")?;
        ensure_eq!(
            s.directory
                .user_by_api_key(&old)
                .await
                .or_fail("user_by_api_key")?,
            None,
            "the old key after rotation {generation}"
        );
        ensure_eq!(
            s.directory
                .user_by_api_key(&current.api_key_digest)
                .await
                .or_fail("user_by_api_key")?,
            Some(current.clone()),
            "the new key after rotation {generation}"
        );
    }
    ensure_eq!(
        s.directory
            .user_by_api_key(&ann.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        None,
        "the first key"
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&root.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        Some(root),
        "another user's key is untouched"
    );
    // An update that keeps the key keeps it working.
    let renamed = User {
        first_name: "Annie".into(),
        ..current.clone()
    };
    update(s, renamed.clone())
        .await
        .or_fail("update_user(ann) keeping the key")?;
    ensure_eq!(
        s.directory
            .user_by_api_key(&current.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        Some(renamed)
    );
    Ok(())
}

async fn update_user_keeps_the_last_enabled_admin(s: &Stores) -> Outcome {
    let root = admin(1, "root");
    let ann = annotator(2, "ann");
    seed(
        s,
        [
            joining(root.clone(), 10, &[]),
            joining(ann.clone(), 20, &[]),
        ],
    )
    .await?;

    let demoted = User {
        role: Role::Annotator,
        ..root.clone()
    };
    ensure_err!(update(s, demoted).await, StoreError::LastAdmin);
    let disabled = User {
        disabled: true,
        ..root.clone()
    };
    ensure_err!(update(s, disabled).await, StoreError::LastAdmin);
    ensure_eq!(
        s.directory
            .user_by_id(root.id)
            .await
            .or_fail("user_by_id")?,
        Some(root.clone()),
        "the refused updates changed nothing"
    );

    // The last admin can still change anything else.
    let renamed = User {
        first_name: "Rooty".into(),
        updated_at: at(40),
        ..root.clone()
    };
    update(s, renamed.clone())
        .await
        .or_fail("update_user(root) keeping the role")?;

    // With a second enabled admin, one of them can go; then the other is the last.
    let promoted = User {
        role: Role::Admin,
        ..ann.clone()
    };
    update(s, promoted.clone())
        .await
        .or_fail("update_user(ann) to admin")?;
    update(
        s,
        User {
            role: Role::Annotator,
            ..renamed.clone()
        },
    )
    .await
    .or_fail("update_user(root) to annotator with ann admin")?;
    ensure_err!(
        update(
            s,
            User {
                role: Role::Annotator,
                ..promoted.clone()
            }
        )
        .await,
        StoreError::LastAdmin
    );
    ensure_err!(
        update(
            s,
            User {
                disabled: true,
                ..promoted
            }
        )
        .await,
        StoreError::LastAdmin
    );
    Ok(())
}

async fn disabled_admins_do_not_count_as_admins(s: &Stores) -> Outcome {
    let root = admin(1, "root");
    let off = User {
        disabled: true,
        ..admin(2, "off")
    };
    let ann = annotator(3, "ann");
    seed(
        s,
        [
            joining(root.clone(), 10, &[]),
            joining(off.clone(), 20, &[]),
            joining(ann.clone(), 30, &[]),
        ],
    )
    .await?;

    ensure_err!(
        update(
            s,
            User {
                role: Role::Annotator,
                ..root.clone()
            }
        )
        .await,
        StoreError::LastAdmin
    );
    ensure_err!(
        update(
            s,
            User {
                disabled: true,
                ..root.clone()
            }
        )
        .await,
        StoreError::LastAdmin
    );
    ensure_err!(
        s.directory.delete_user(root.id).await,
        StoreError::LastAdmin
    );

    // The disabled admin is not protected: it can be changed and deleted.
    update(
        s,
        User {
            first_name: "Still off".into(),
            ..off.clone()
        },
    )
    .await
    .or_fail("update_user(off)")?;
    // Enabling it makes two enabled admins, so root can be demoted...
    update(s, off.clone().tap(|u| u.disabled = false))
        .await
        .or_fail("update_user(off) enabled")?;
    update(
        s,
        User {
            role: Role::Annotator,
            ..root.clone()
        },
    )
    .await
    .or_fail("update_user(root) to annotator with off enabled")?;
    // ...and then off is the last one.
    ensure_err!(s.directory.delete_user(off.id).await, StoreError::LastAdmin);
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 3);
    Ok(())
}

/// `value.tap(|v| ...)`: a changed copy, inline.
trait Tap: Sized {
    fn tap(mut self, change: impl FnOnce(&mut Self)) -> Self {
        change(&mut self);
        self
    }
}

impl<T> Tap for T {}

// ---------------------------------------------------------------------------------------------
// Deleting users

async fn delete_user_removes_memberships_and_keeps_the_personal_workspace(s: &Stores) -> Outcome {
    let root = admin(1, "root");
    let ann = annotator(2, "ann");
    let bob = annotator(3, "bob");
    seed(
        s,
        [
            joining(root.clone(), 10, &["team"]),
            joining(ann.clone(), 20, &["team"]),
            joining(bob.clone(), 30, &["team"]),
        ],
    )
    .await?;
    let workspaces_before = s.directory.workspaces().await.or_fail("workspaces")?;

    let deleted = s
        .directory
        .delete_user(ann.id)
        .await
        .or_fail("delete_user(ann)")?;
    ensure_eq!(deleted, ann, "delete_user returns the deleted user");
    ensure_eq!(
        s.directory.user_by_id(ann.id).await.or_fail("user_by_id")?,
        None
    );
    ensure_eq!(
        s.directory
            .user_by_username("ann")
            .await
            .or_fail("user_by_username")?,
        None
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&ann.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        None
    );
    ensure_eq!(
        usernames(&s.directory.users().await.or_fail("users")?),
        vec!["root", "bob"]
    );
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        workspaces_before,
        "every workspace stays, the personal one included"
    );
    let personal = s
        .directory
        .workspace_by_name("ann")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("ann's personal workspace is gone")?;
    ensure!(
        s.directory
            .members_of(personal.id)
            .await
            .or_fail("members_of")?
            .is_empty(),
        "ann's personal workspace has no members left"
    );
    let team = s
        .directory
        .workspace_by_name("team")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("team is gone")?;
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(team.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["root", "bob"]
    );
    let ann_workspaces = s.directory.workspaces_of(ann.id).await;
    ensure!(
        matches!(&ann_workspaces, Ok(w) if w.is_empty())
            || ann_workspaces == Err(StoreError::UserNotFound(ann.id)),
        "workspaces_of(deleted ann): expected no workspaces, got {ann_workspaces:?}"
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(bob.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["bob", "team"]
    );
    Ok(())
}

async fn delete_user_of_an_unknown_user_is_not_found(s: &Stores) -> Outcome {
    seed(s, [joining(admin(1, "root"), 10, &[])]).await?;
    ensure_err!(
        s.directory.delete_user(user_id(9)).await,
        StoreError::UserNotFound(user_id(9))
    );
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 1);
    Ok(())
}

async fn delete_user_keeps_the_last_enabled_admin(s: &Stores) -> Outcome {
    let root = admin(1, "root");
    let boss = admin(2, "boss");
    let ann = annotator(3, "ann");
    seed(
        s,
        [
            joining(root.clone(), 10, &["team"]),
            joining(boss.clone(), 20, &["team"]),
            joining(ann.clone(), 30, &["team"]),
        ],
    )
    .await?;
    s.directory
        .delete_user(ann.id)
        .await
        .or_fail("delete_user(ann)")?;
    s.directory
        .delete_user(boss.id)
        .await
        .or_fail("delete_user(boss)")?;
    ensure_err!(
        s.directory.delete_user(root.id).await,
        StoreError::LastAdmin
    );
    ensure_eq!(
        s.directory
            .user_by_id(root.id)
            .await
            .or_fail("user_by_id")?,
        Some(root.clone()),
        "the refused delete changed nothing"
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(root.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["root", "team"],
        "the refused delete kept the memberships"
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&root.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        Some(root)
    );
    Ok(())
}

async fn a_deleted_username_can_be_created_again(s: &Stores) -> Outcome {
    let ann = annotator(2, "ann");
    seed(
        s,
        [
            joining(admin(1, "root"), 10, &[]),
            joining(ann.clone(), 20, &["team"]),
        ],
    )
    .await?;
    let personal = s
        .directory
        .workspace_by_name("ann")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("ann's workspace is missing")?;
    s.directory
        .delete_user(ann.id)
        .await
        .or_fail("delete_user(ann)")?;

    let mut again = annotator(3, "ann");
    again.api_key_digest = ApiKeyDigest::of(&api_key("ann", 1));
    let created = s
        .directory
        .create_user(joining(again.clone(), 30, &[]))
        .await
        .or_fail("create_user(ann) again")?;
    ensure_eq!(created, again);
    ensure_eq!(
        s.directory
            .user_by_username("ann")
            .await
            .or_fail("user_by_username")?,
        Some(again.clone())
    );
    ensure_eq!(
        s.directory
            .workspaces_of(again.id)
            .await
            .or_fail("workspaces_of")?,
        vec![personal.clone()],
        "the new ann joins the personal workspace the old one left, and nothing else"
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(personal.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["ann"]
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&ann.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        None,
        "the old ann's key"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Creating users in a batch

async fn create_users_creates_all_in_order_and_shared_workspaces_once(s: &Stores) -> Outcome {
    let existing = workspace(1, "old-team");
    s.directory
        .create_workspace(existing.clone())
        .await
        .or_fail("create_workspace(old-team)")?;

    let batch = vec![
        joining(annotator(2, "zoe"), 20, &["shared", "old-team"]),
        joining(admin(3, "adam"), 30, &[]),
        joining(annotator(4, "mo"), 40, &["shared"]),
    ];
    let first_shared = batch[0].workspaces[1].clone();
    let expected_users: Vec<User> = batch.iter().map(|n| n.user.clone()).collect();
    let created = s
        .directory
        .create_users(batch)
        .await
        .or_fail("create_users")?;
    ensure_eq!(
        created,
        expected_users,
        "create_users returns the users in order"
    );
    ensure_eq!(s.directory.users().await.or_fail("users")?, expected_users);
    ensure_eq!(
        names(&s.directory.workspaces().await.or_fail("workspaces")?),
        vec!["old-team", "zoe", "shared", "adam", "mo"],
        "each workspace created once, in order"
    );
    ensure_eq!(
        s.directory
            .workspace_by_name("shared")
            .await
            .or_fail("workspace_by_name")?,
        Some(first_shared.clone()),
        "a shared workspace comes from the first record that names it"
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(first_shared.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["zoe", "mo"]
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(existing.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["zoe"]
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(user_id(2))
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["zoe", "shared", "old-team"]
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(user_id(4))
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["mo", "shared"]
    );
    for u in &expected_users {
        ensure_eq!(
            s.directory
                .user_by_api_key(&u.api_key_digest)
                .await
                .or_fail("user_by_api_key")?,
            Some(u.clone()),
            "user_by_api_key({})",
            u.username
        );
    }
    Ok(())
}

async fn create_users_with_a_repeated_username_writes_nothing(s: &Stores) -> Outcome {
    let mut dup = annotator(4, "amy");
    dup.api_key_digest = ApiKeyDigest::of(&api_key("amy", 1));
    let batch = vec![
        joining(annotator(2, "amy"), 20, &["shared"]),
        joining(annotator(3, "ben"), 30, &["shared"]),
        joining(dup, 40, &[]),
    ];
    ensure_err!(
        s.directory.create_users(batch).await,
        StoreError::UsernameTaken("amy".into())
    );
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 0);
    ensure!(s.directory.users().await.or_fail("users")?.is_empty());
    ensure!(
        s.directory
            .workspaces()
            .await
            .or_fail("workspaces")?
            .is_empty(),
        "no workspace of the refused batch is created"
    );
    for name in ["amy", "ben"] {
        ensure_eq!(
            s.directory
                .user_by_username(name)
                .await
                .or_fail("user_by_username")?,
            None,
            "user_by_username({name})"
        );
        ensure_eq!(
            s.directory
                .user_by_api_key(&ApiKeyDigest::of(&api_key(name, 0)))
                .await
                .or_fail("user_by_api_key")?,
            None,
            "user_by_api_key({name})"
        );
    }
    Ok(())
}

async fn create_users_with_an_existing_username_writes_nothing(s: &Stores) -> Outcome {
    let cat = annotator(1, "cat");
    seed(s, [joining(cat.clone(), 10, &["team"])]).await?;
    let workspaces_before = s.directory.workspaces().await.or_fail("workspaces")?;
    let team = s
        .directory
        .workspace_by_name("team")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("team is missing")?;

    let mut cat_again = annotator(4, "cat");
    cat_again.api_key_digest = ApiKeyDigest::of(&api_key("cat", 1));
    let batch = vec![
        joining(annotator(2, "amy"), 20, &["team", "brand-new"]),
        joining(annotator(3, "ben"), 30, &[]),
        joining(cat_again, 40, &["team"]),
    ];
    ensure_err!(
        s.directory.create_users(batch).await,
        StoreError::UsernameTaken("cat".into())
    );
    ensure_eq!(
        s.directory.users().await.or_fail("users")?,
        vec![cat.clone()]
    );
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        workspaces_before,
        "no workspace of the refused batch is created"
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(team.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["cat"],
        "no membership of the refused batch is added to an existing workspace"
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(cat.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["cat", "team"]
    );
    Ok(())
}

async fn create_users_of_an_empty_batch_is_empty(s: &Stores) -> Outcome {
    let created = s
        .directory
        .create_users(vec![])
        .await
        .or_fail("create_users([])")?;
    ensure!(created.is_empty());
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 0);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Workspaces

async fn create_workspace_round_trips(s: &Stores) -> Outcome {
    let w = Workspace {
        updated_at: at(9),
        ..workspace(1, "team-1_x")
    };
    let created = s
        .directory
        .create_workspace(w.clone())
        .await
        .or_fail("create_workspace")?;
    ensure_eq!(created, w, "create_workspace returns the stored workspace");
    ensure_eq!(
        s.directory
            .workspace_by_id(w.id)
            .await
            .or_fail("workspace_by_id")?,
        Some(w.clone())
    );
    ensure_eq!(
        s.directory
            .workspace_by_name("team-1_x")
            .await
            .or_fail("workspace_by_name")?,
        Some(w.clone())
    );
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        vec![w.clone()]
    );
    ensure!(
        s.directory
            .members_of(w.id)
            .await
            .or_fail("members_of")?
            .is_empty(),
        "a new workspace has no members"
    );
    Ok(())
}

async fn workspace_names_are_unique(s: &Stores) -> Outcome {
    let first = workspace(1, "team");
    s.directory
        .create_workspace(first.clone())
        .await
        .or_fail("create_workspace(team)")?;
    let second = workspace(2, "team");
    ensure_err!(
        s.directory.create_workspace(second.clone()).await,
        StoreError::WorkspaceNameTaken("team".into())
    );
    ensure_eq!(
        s.directory
            .workspace_by_id(second.id)
            .await
            .or_fail("workspace_by_id")?,
        None
    );
    ensure_eq!(
        s.directory
            .workspace_by_name("team")
            .await
            .or_fail("workspace_by_name")?,
        Some(first.clone())
    );
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        vec![first]
    );

    // A personal workspace's name is taken too.
    seed(s, [joining(annotator(3, "ann"), 30, &[])]).await?;
    ensure_err!(
        s.directory.create_workspace(workspace(4, "ann")).await,
        StoreError::WorkspaceNameTaken("ann".into())
    );
    Ok(())
}

async fn workspaces_are_listed_in_insertion_order(s: &Stores) -> Outcome {
    let mut all = vec![
        workspace(1, "zulu"),
        workspace(2, "alpha"),
        workspace(3, "mike"),
        workspace(4, "bravo"),
        workspace(5, "yankee"),
    ];
    for w in &mut all[1..4] {
        w.inserted_at = at(2);
        w.updated_at = at(2);
    }
    for w in &all {
        s.directory
            .create_workspace(w.clone())
            .await
            .or_fail("create_workspace")?;
    }
    ensure_eq!(s.directory.workspaces().await.or_fail("workspaces")?, all);
    s.directory
        .delete_workspace(all[2].id)
        .await
        .or_fail("delete_workspace(mike)")?;
    all.remove(2);
    let late = workspace(6, "charlie");
    s.directory
        .create_workspace(late.clone())
        .await
        .or_fail("create_workspace(charlie)")?;
    all.push(late);
    ensure_eq!(s.directory.workspaces().await.or_fail("workspaces")?, all);
    Ok(())
}

async fn delete_workspace_removes_its_memberships(s: &Stores) -> Outcome {
    let ann = annotator(1, "ann");
    let bob = annotator(2, "bob");
    seed(
        s,
        [
            joining(admin(3, "root"), 30, &[]),
            joining(ann.clone(), 10, &["team", "other"]),
            joining(bob.clone(), 20, &["team"]),
        ],
    )
    .await?;
    let team = s
        .directory
        .workspace_by_name("team")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("team is missing")?;

    let deleted = s
        .directory
        .delete_workspace(team.id)
        .await
        .or_fail("delete_workspace(team)")?;
    ensure_eq!(
        deleted,
        team,
        "delete_workspace returns the deleted workspace"
    );
    ensure_eq!(
        s.directory
            .workspace_by_id(team.id)
            .await
            .or_fail("workspace_by_id")?,
        None
    );
    ensure_eq!(
        s.directory
            .workspace_by_name("team")
            .await
            .or_fail("workspace_by_name")?,
        None
    );
    ensure_eq!(
        names(&s.directory.workspaces().await.or_fail("workspaces")?),
        vec!["root", "ann", "other", "bob"]
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "other"]
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(bob.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["bob"]
    );
    ensure_eq!(
        s.directory.user_count().await.or_fail("user_count")?,
        3,
        "the members stay"
    );
    let members = s.directory.members_of(team.id).await;
    ensure!(
        matches!(&members, Ok(m) if m.is_empty())
            || members == Err(StoreError::WorkspaceNotFound(team.id)),
        "members_of(deleted team): expected none, got {members:?}"
    );

    // The name is free again, and the new workspace starts with no members (and the old id
    // does not come back to life through it).
    let again = workspace(9, "team");
    s.directory
        .create_workspace(again.clone())
        .await
        .or_fail("create_workspace(team) again")?;
    ensure!(
        s.directory
            .members_of(again.id)
            .await
            .or_fail("members_of")?
            .is_empty(),
        "a re-created workspace has no members"
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "other"]
    );
    ensure_eq!(
        s.directory
            .workspace_by_id(team.id)
            .await
            .or_fail("workspace_by_id")?,
        None
    );
    Ok(())
}

async fn delete_workspace_of_an_unknown_workspace_is_not_found(s: &Stores) -> Outcome {
    s.directory
        .create_workspace(workspace(1, "team"))
        .await
        .or_fail("create_workspace")?;
    ensure_err!(
        s.directory.delete_workspace(workspace_id(2)).await,
        StoreError::WorkspaceNotFound(workspace_id(2))
    );
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?.len(),
        1
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Memberships

async fn memberships_are_listed_by_membership_time(s: &Stores) -> Outcome {
    // Users and workspaces are inserted in one order and joined in another.
    let (u1, u2, u3) = (annotator(1, "ann"), annotator(2, "bob"), annotator(3, "cy"));
    seed(
        s,
        [
            joining(u1.clone(), 10, &[]),
            joining(u2.clone(), 20, &[]),
            joining(u3.clone(), 30, &[]),
        ],
    )
    .await?;
    let (w1, w2, w3) = (
        workspace(41, "w-one"),
        workspace(42, "w-two"),
        workspace(43, "w-three"),
    );
    for w in [&w1, &w2, &w3] {
        s.directory
            .create_workspace(w.clone())
            .await
            .or_fail("create_workspace")?;
    }
    let mut t = 50;
    for (w, u) in [
        (&w3, &u3),
        (&w3, &u1),
        (&w1, &u3),
        (&w2, &u2),
        (&w3, &u2),
        (&w2, &u3),
    ] {
        t += 1;
        s.directory
            .add_member(w.id, u.id, at(t))
            .await
            .or_fail(&format!("add_member({}, {})", w.name, u.username))?;
    }
    ensure_eq!(
        usernames(&s.directory.members_of(w3.id).await.or_fail("members_of")?),
        vec!["cy", "ann", "bob"]
    );
    ensure_eq!(
        usernames(&s.directory.members_of(w2.id).await.or_fail("members_of")?),
        vec!["bob", "cy"]
    );
    ensure_eq!(
        s.directory
            .workspaces_of(u3.id)
            .await
            .or_fail("workspaces_of")?,
        vec![
            workspace(30, "cy").tap(|w| {
                w.inserted_at = u3.inserted_at;
                w.updated_at = u3.inserted_at;
            }),
            w3.clone(),
            w1.clone(),
            w2.clone()
        ],
        "workspaces_of(cy): full records, personal first"
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(u1.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "w-three"]
    );
    let members = s.directory.members_of(w3.id).await.or_fail("members_of")?;
    ensure_eq!(
        members,
        vec![u3.clone(), u1.clone(), u2.clone()],
        "members_of(w-three): full records"
    );
    // A user created later with an existing workspace joins it after the members before.
    seed(s, [joining(annotator(4, "dee"), 60, &["w-three"])]).await?;
    ensure_eq!(
        usernames(&s.directory.members_of(w3.id).await.or_fail("members_of")?),
        vec!["cy", "ann", "bob", "dee"]
    );
    Ok(())
}

async fn membership_pairs_are_unique(s: &Stores) -> Outcome {
    let ann = annotator(1, "ann");
    seed(s, [joining(ann.clone(), 10, &[])]).await?;
    let team = workspace(2, "team");
    s.directory
        .create_workspace(team.clone())
        .await
        .or_fail("create_workspace")?;
    s.directory
        .add_member(team.id, ann.id, at(20))
        .await
        .or_fail("add_member")?;
    ensure_err!(
        s.directory.add_member(team.id, ann.id, at(21)).await,
        StoreError::AlreadyMember {
            workspace: team.id,
            user: ann.id
        }
    );
    let personal = workspace_id(10);
    ensure_err!(
        s.directory.add_member(personal, ann.id, at(22)).await,
        StoreError::AlreadyMember {
            workspace: personal,
            user: ann.id
        }
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "team"],
        "no duplicate membership"
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(team.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["ann"],
        "no duplicate member"
    );
    Ok(())
}

async fn add_member_needs_both_to_exist(s: &Stores) -> Outcome {
    let ann = annotator(1, "ann");
    seed(s, [joining(ann.clone(), 10, &[])]).await?;
    let team = workspace(2, "team");
    s.directory
        .create_workspace(team.clone())
        .await
        .or_fail("create_workspace")?;
    ensure_err!(
        s.directory
            .add_member(workspace_id(99), ann.id, at(20))
            .await,
        StoreError::WorkspaceNotFound(workspace_id(99))
    );
    ensure_err!(
        s.directory.add_member(team.id, user_id(99), at(21)).await,
        StoreError::UserNotFound(user_id(99))
    );
    ensure!(
        s.directory
            .members_of(team.id)
            .await
            .or_fail("members_of")?
            .is_empty()
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann"]
    );
    // A deleted user is no longer there to add.
    let bob = annotator(3, "bob");
    seed(
        s,
        [
            joining(admin(4, "root"), 40, &[]),
            joining(bob.clone(), 30, &[]),
        ],
    )
    .await?;
    s.directory
        .delete_user(bob.id)
        .await
        .or_fail("delete_user(bob)")?;
    ensure_err!(
        s.directory.add_member(team.id, bob.id, at(22)).await,
        StoreError::UserNotFound(bob.id)
    );
    Ok(())
}

async fn remove_member_removes_one_membership(s: &Stores) -> Outcome {
    let (ann, bob) = (annotator(1, "ann"), annotator(2, "bob"));
    seed(
        s,
        [
            joining(ann.clone(), 10, &["team", "other"]),
            joining(bob.clone(), 20, &["team"]),
        ],
    )
    .await?;
    let team = s
        .directory
        .workspace_by_name("team")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("team is missing")?;
    s.directory
        .remove_member(team.id, ann.id)
        .await
        .or_fail("remove_member(team, ann)")?;
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "other"]
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(team.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["bob"]
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(bob.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["bob", "team"],
        "other users' memberships stay"
    );
    ensure!(
        s.directory
            .workspace_by_id(team.id)
            .await
            .or_fail("workspace_by_id")?
            .is_some(),
        "the workspace stays"
    );
    // Joining again is a new membership: last by membership time.
    s.directory
        .add_member(team.id, ann.id, at(90))
        .await
        .or_fail("add_member(team, ann) again")?;
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "other", "team"]
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(team.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["bob", "ann"]
    );
    Ok(())
}

async fn remove_member_without_membership_is_not_member(s: &Stores) -> Outcome {
    let (ann, bob) = (annotator(1, "ann"), annotator(2, "bob"));
    seed(
        s,
        [joining(ann.clone(), 10, &[]), joining(bob.clone(), 20, &[])],
    )
    .await?;
    let bobs = workspace_id(20);
    ensure_err!(
        s.directory.remove_member(bobs, ann.id).await,
        StoreError::NotMember {
            workspace: bobs,
            user: ann.id
        }
    );
    s.directory
        .remove_member(bobs, bob.id)
        .await
        .or_fail("remove_member(bob, bob)")?;
    ensure_err!(
        s.directory.remove_member(bobs, bob.id).await,
        StoreError::NotMember {
            workspace: bobs,
            user: bob.id
        }
    );
    // "NotMember if there is none": also when the workspace or user does not exist.
    ensure_err!(
        s.directory.remove_member(workspace_id(99), ann.id).await,
        StoreError::NotMember {
            workspace: workspace_id(99),
            user: ann.id
        }
    );
    ensure_err!(
        s.directory.remove_member(bobs, user_id(99)).await,
        StoreError::NotMember {
            workspace: bobs,
            user: user_id(99)
        }
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann"]
    );
    Ok(())
}

/// The trait does not say what the membership lists of an id that does not exist are; an
/// empty list and the matching not-found error are both fine, anything else is not.
async fn membership_lists_of_unknown_ids(s: &Stores) -> Outcome {
    seed(s, [joining(annotator(1, "ann"), 10, &[])]).await?;
    let ws = s.directory.workspaces_of(user_id(99)).await;
    ensure!(
        matches!(&ws, Ok(w) if w.is_empty()) || ws == Err(StoreError::UserNotFound(user_id(99))),
        "workspaces_of(unknown user): expected none or UserNotFound, got {ws:?}"
    );
    let members = s.directory.members_of(workspace_id(99)).await;
    ensure!(
        matches!(&members, Ok(m) if m.is_empty())
            || members == Err(StoreError::WorkspaceNotFound(workspace_id(99))),
        "members_of(unknown workspace): expected none or WorkspaceNotFound, got {members:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Audit log

async fn audit_is_newest_first_with_limit_and_offset(s: &Stores) -> Outcome {
    let entries: Vec<AuditEntry> = (1..=7).map(|n| audit_entry(n, at(n as i64))).collect();
    for e in &entries {
        s.audit
            .append_audit(e.clone())
            .await
            .or_fail("append_audit")?;
    }
    let newest_first: Vec<AuditEntry> = entries.iter().rev().cloned().collect();
    ensure_eq!(
        s.audit.audit(100, 0).await.or_fail("audit(100, 0)")?,
        newest_first
    );
    ensure_eq!(
        s.audit.audit(7, 0).await.or_fail("audit(7, 0)")?,
        newest_first,
        "limit equal to the count"
    );
    ensure_eq!(
        s.audit.audit(2, 0).await.or_fail("audit(2, 0)")?,
        newest_first[0..2]
    );
    ensure_eq!(
        s.audit.audit(2, 2).await.or_fail("audit(2, 2)")?,
        newest_first[2..4]
    );
    ensure_eq!(
        s.audit.audit(3, 5).await.or_fail("audit(3, 5)")?,
        newest_first[5..7]
    );
    ensure_eq!(
        s.audit.audit(1, 6).await.or_fail("audit(1, 6)")?,
        newest_first[6..7]
    );
    ensure!(
        s.audit
            .audit(10, 7)
            .await
            .or_fail("audit(10, 7)")?
            .is_empty(),
        "an offset past the end"
    );
    ensure!(
        s.audit
            .audit(10, 1000)
            .await
            .or_fail("audit(10, 1000)")?
            .is_empty(),
        "an offset far past the end"
    );
    ensure!(
        s.audit.audit(0, 0).await.or_fail("audit(0, 0)")?.is_empty(),
        "limit 0"
    );
    ensure_eq!(
        s.audit
            .audit(u32::MAX, 0)
            .await
            .or_fail("audit(u32::MAX, 0)")?,
        newest_first,
        "a huge limit"
    );
    // Paging through, two at a time, yields each entry once.
    let mut paged = Vec::new();
    for page in 0..4 {
        paged.extend(s.audit.audit(2, page * 2).await.or_fail("audit paging")?);
    }
    ensure_eq!(paged, newest_first, "paging two at a time");
    Ok(())
}

async fn audit_round_trips_every_field_and_outlives_its_subjects(s: &Stores) -> Outcome {
    let root = admin(1, "root");
    let ann = annotator(2, "ann");
    seed(
        s,
        [
            joining(root.clone(), 10, &[]),
            joining(ann.clone(), 20, &[]),
        ],
    )
    .await?;
    let by_root = AuditEntry {
        id: id(0x3001),
        at: at(30),
        actor_id: Some(root.id),
        actor: "root".into(),
        action: "user.delete".into(),
        target_type: "User".into(),
        target_id: ann.id,
        target_name: "ann".into(),
        detail: Some("role=annotator; name \"Ann\" ✓ 名前".into()),
    };
    let by_system = AuditEntry {
        id: id(0x3002),
        at: at(31),
        actor_id: None,
        actor: "system".into(),
        action: "workspace.create".into(),
        target_type: "Workspace".into(),
        target_id: workspace_id(10),
        target_name: "root".into(),
        detail: None,
    };
    s.audit
        .append_audit(by_root.clone())
        .await
        .or_fail("append_audit")?;
    s.audit
        .append_audit(by_system.clone())
        .await
        .or_fail("append_audit")?;
    s.directory
        .delete_user(ann.id)
        .await
        .or_fail("delete_user(ann)")?;
    s.directory
        .delete_workspace(workspace_id(20))
        .await
        .or_fail("delete_workspace(ann)")?;
    ensure_eq!(
        s.audit.audit(10, 0).await.or_fail("audit")?,
        vec![by_system, by_root],
        "entries come back whole, after their subjects are gone"
    );
    Ok(())
}

async fn audit_entries_at_the_same_time_are_newest_appended_first(s: &Stores) -> Outcome {
    // Ids scrambled, one timestamp: only the order of appending can tell them apart.
    let entries: Vec<AuditEntry> = (1..=5).map(|n| audit_entry(n, at(3))).collect();
    for e in &entries {
        s.audit
            .append_audit(e.clone())
            .await
            .or_fail("append_audit")?;
    }
    let newest_first: Vec<AuditEntry> = entries.iter().rev().cloned().collect();
    ensure_eq!(s.audit.audit(10, 0).await.or_fail("audit")?, newest_first);
    ensure_eq!(
        s.audit.audit(2, 1).await.or_fail("audit")?,
        newest_first[1..3]
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Login throttling

async fn login_failures_default_to_none(s: &Stores) -> Outcome {
    for name in ["ann", "nobody", "", "Ünïcødé user", &"x".repeat(300)] {
        ensure_eq!(
            s.throttle
                .login_failures(name)
                .await
                .or_fail("login_failures")?,
            LoginFailures::default(),
            "login_failures({name:?})"
        );
    }
    s.throttle
        .clear_login_failures("nobody")
        .await
        .or_fail("clear_login_failures of a username with none")?;
    Ok(())
}

async fn login_failures_count_inside_the_window(s: &Stores) -> Outcome {
    const WINDOW: i64 = 15 * 60;
    let start = at(0);
    let times = [
        start,
        start.plus_secs(1),
        start.plus_secs(30),
        start.plus_secs(30), // two at the same instant both count
        Timestamp::from_micros(start.micros() + WINDOW * 1_000_000 - 1),
    ];
    let mut expected = LoginFailures::default();
    for (i, now) in times.into_iter().enumerate() {
        expected = expected.after_failure(now, WINDOW);
        let got = fail(s, "ann", now, WINDOW)
            .await
            .or_fail("record_login_failure")?;
        ensure_eq!(got, expected, "record_login_failure #{}", i + 1);
        ensure_eq!(
            s.throttle
                .login_failures("ann")
                .await
                .or_fail("login_failures")?,
            expected,
            "login_failures after failure #{}",
            i + 1
        );
    }
    // Spelled out, so that a wrong `after_failure` does not pass unnoticed either.
    ensure_eq!(
        expected,
        LoginFailures {
            count: 5,
            first_at: Some(start),
            last_at: Some(Timestamp::from_micros(
                start.micros() + WINDOW * 1_000_000 - 1
            )),
        }
    );
    Ok(())
}

async fn login_failures_start_a_new_window_when_it_has_passed(s: &Stores) -> Outcome {
    const WINDOW: i64 = 15 * 60;
    let start = at(0);
    for i in 0..3 {
        fail(s, "ann", start.plus_secs(i), WINDOW)
            .await
            .or_fail("record_login_failure")?;
    }
    // Exactly `window_secs` after the first failure, the window has passed.
    let later = start.plus_secs(WINDOW);
    let got = fail(s, "ann", later, WINDOW)
        .await
        .or_fail("record_login_failure at the window's end")?;
    let restarted = LoginFailures {
        count: 1,
        first_at: Some(later),
        last_at: Some(later),
    };
    ensure_eq!(got, restarted);
    ensure_eq!(
        LoginFailures {
            count: 3,
            first_at: Some(start),
            last_at: Some(start.plus_secs(2)),
        }
        .after_failure(later, WINDOW),
        restarted,
        "LoginFailures::after_failure agrees"
    );
    ensure_eq!(
        s.throttle
            .login_failures("ann")
            .await
            .or_fail("login_failures")?,
        restarted
    );
    // The window is the caller's, per call: a failure with a wider window counts on.
    let wider = fail(s, "ann", later.plus_secs(10), WINDOW)
        .await
        .or_fail("record_login_failure")?;
    ensure_eq!(wider.count, 2);
    let zero = fail(s, "ann", later.plus_secs(11), 0)
        .await
        .or_fail("record_login_failure with window 0")?;
    ensure_eq!(
        zero,
        LoginFailures {
            count: 1,
            first_at: Some(later.plus_secs(11)),
            last_at: Some(later.plus_secs(11)),
        },
        "a zero-second window always starts over"
    );
    Ok(())
}

async fn login_failures_are_per_username_and_cleared(s: &Stores) -> Outcome {
    const WINDOW: i64 = 900;
    let long = "x".repeat(300);
    let names = ["ann", "anna", "ANN", "no such user ü", long.as_str()];
    for (i, name) in names.iter().enumerate() {
        for k in 0..=i as i64 {
            fail(s, name, at(k), WINDOW)
                .await
                .or_fail("record_login_failure")?;
        }
    }
    for (i, name) in names.iter().enumerate() {
        ensure_eq!(
            s.throttle
                .login_failures(name)
                .await
                .or_fail("login_failures")?
                .count,
            i as u32 + 1,
            "count of {name:?}"
        );
    }
    s.throttle
        .clear_login_failures("ann")
        .await
        .or_fail("clear_login_failures(ann)")?;
    ensure_eq!(
        s.throttle
            .login_failures("ann")
            .await
            .or_fail("login_failures")?,
        LoginFailures::default(),
        "cleared"
    );
    ensure_eq!(
        s.throttle
            .login_failures("anna")
            .await
            .or_fail("login_failures")?
            .count,
        2,
        "another username is untouched"
    );
    ensure_eq!(
        s.throttle
            .login_failures("ANN")
            .await
            .or_fail("login_failures")?
            .count,
        3,
        "usernames are case-sensitive here"
    );
    let next = fail(s, "ann", at(20), WINDOW)
        .await
        .or_fail("record_login_failure after clear")?;
    ensure_eq!(
        next,
        LoginFailures {
            count: 1,
            first_at: Some(at(20)),
            last_at: Some(at(20)),
        },
        "counting starts over after a clear"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Settings

async fn token_secret_keeps_the_first_candidate(s: &Stores) -> Outcome {
    let first: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
    let got = s
        .secrets
        .token_secret(first.clone())
        .await
        .or_fail("token_secret(first)")?;
    ensure_eq!(got, first, "the first candidate is stored");
    for candidate in [vec![1u8; 32], vec![], vec![0u8; 64]] {
        ensure_eq!(
            s.secrets
                .token_secret(candidate)
                .await
                .or_fail("token_secret(other)")?,
            first,
            "a later candidate is ignored"
        );
    }
    // Other writes leave it alone.
    seed(s, [joining(admin(1, "root"), 10, &["team"])]).await?;
    s.audit
        .append_audit(audit_entry(1, at(1)))
        .await
        .or_fail("append_audit")?;
    fail(s, "root", at(2), 900)
        .await
        .or_fail("record_login_failure")?;
    ensure_eq!(
        s.secrets
            .token_secret(vec![9; 32])
            .await
            .or_fail("token_secret")?,
        first,
        "after other writes"
    );
    Ok(())
}

//! # workgate-store-suite
//!
//! The generic store suite: every guarantee core's store traits (`workgate_core::store`)
//! document, as named cases that any host's [`Stores`] can be run through — the memory store,
//! the SQLite store natively, the Worker's KV + Durable Objects inside workerd. One harness,
//! many implementations, as rustls-provider-test is for rustls's providers.
//!
//! Split by concern, as the traits are: [`users`] and [`workspaces`] (the `Directory`),
//! [`audit`], [`throttle`], [`secrets`], and [`concurrency`] — cases that start many operations
//! on one store at once and join them (50 creates of one username, parallel demotions of the last
//! two admins, parallel failed logins, concurrent edits of one user), which check atomicity on
//! any store whose operations really interleave. [`faults`] plants one bug at a time in any
//! store and checks that the cases guarding against it fail: the suite has teeth on every store.
//!
//! Each case gets fresh, empty stores from the host's `make` function, drives them through the
//! traits only, and answers `Ok(())` or `Err(message)`; nothing panics, so a failing case never
//! takes the others (or a Worker) down with it. The suite needs no runtime, thread or clock —
//! records carry fixed timestamps and deterministic ids — so it runs wherever the store does,
//! wasm32 included.
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
//!     workgate_store_suite::store_suite_tests!(#[tokio::test] make = || async { MemoryStore::stores() });
//! }
//! ```
//!
//! Where a trait leaves something open (the error for a membership query of an unknown
//! workspace, say) the suite accepts every reasonable answer and says so in the case.

use std::fmt::{self, Debug};
use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use workgate_core::{StoreResult, Stores};

// ---------------------------------------------------------------------------------------------
// Assertions that answer instead of panicking

/// `ensure!(cond)` / `ensure!(cond, "format", args)`: fail the case unless `cond` holds.
macro_rules! ensure {
    ($cond:expr $(,)?) => {
        if !$cond {
            return Err(format!(
                "check failed: {} ({}:{})",
                stringify!($cond),
                file!(),
                line!()
            ));
        }
    };
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!("{} ({}:{})", format!($($fmt)+), file!(), line!()));
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
                        "{}: expected {:?}, got {:?} ({}:{})",
                        format!($($fmt)+),
                        expected,
                        actual,
                        file!(),
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
        let expected: workgate_core::StoreError = $expected;
        match $result {
            Err(e) if e == expected => {}
            Err(e) => {
                return Err(format!(
                    "{}: expected Err({:?}), got Err({:?}) ({}:{})",
                    stringify!($result),
                    expected,
                    e,
                    file!(),
                    line!()
                ));
            }
            Ok(v) => {
                return Err(format!(
                    "{}: expected Err({:?}), got Ok({:?}) ({}:{})",
                    stringify!($result),
                    expected,
                    v,
                    file!(),
                    line!()
                ));
            }
        }
    }};
}

/// Turns a store error the case did not expect into a failure message.
pub(crate) trait OrFail<T> {
    fn or_fail(self, what: &str) -> Result<T, String>;
}

impl<T> OrFail<T> for StoreResult<T> {
    fn or_fail(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: unexpected error {e:?}"))
    }
}

pub mod audit;
pub mod concurrency;
pub mod datasets;
pub mod faults;
mod fixtures;
pub mod secrets;
pub mod throttle;
pub mod users;
pub mod workspaces;

use audit::*;
use concurrency::*;
use datasets::*;
use secrets::*;
use throttle::*;
use users::*;
use workspaces::*;

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
    /// Why it failed; empty when it passed (the reason, when skipped).
    pub message: String,
    /// Not run: the stores lack the part the case needs (a host without datasets yet).
    #[serde(default)]
    pub skipped: bool,
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
            if r.skipped {
                writeln!(f, "skipped {}: {}", r.name, r.message)?;
            } else if r.passed {
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
            skipped: false,
        },
    }
}

async fn run_on(case: &Case, store: &Stores) -> CaseResult {
    if datasets::NAMES.contains(&case.name) && store.datasets.is_none() {
        return CaseResult {
            name: case.name.to_string(),
            passed: true,
            message: "skipped: these stores have no datasets part".to_string(),
            skipped: true,
        };
    }
    let outcome = match check_fresh(store).await {
        Ok(()) => case.run(store).await,
        Err(e) => Err(format!("the store from make() is not fresh: {e}")),
    };
    CaseResult {
        name: case.name.to_string(),
        passed: outcome.is_ok(),
        message: outcome.err().unwrap_or_default(),
        skipped: false,
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
    audit_entries_are_written_with_their_change,
    a_refused_change_writes_no_audit_entry,
    login_failures_default_to_none,
    login_failures_count_inside_the_window,
    login_failures_start_a_new_window_when_it_has_passed,
    login_failures_are_per_username_and_cleared,
    forgettable_login_failures_are_not_counted_on,
    token_secret_keeps_the_first_candidate,
    datasets_are_unique_per_workspace_and_round_trip,
    records_are_listed_in_byte_order_of_the_id_and_paged,
    a_refused_write_changes_nothing,
    a_write_sees_the_stored_records_of_its_ids,
    a_copy_holds_every_record_and_a_taken_name_is_refused,
    records_are_deleted_or_discarded_as_selected,
    dataset_changes_write_their_audit_entries,
    parallel_bulks_into_one_new_dataset_create_it_once_and_keep_every_record,
    fifty_creates_of_one_username_make_one_user,
    parallel_demotions_of_the_last_two_admins_leave_one,
    parallel_deletions_of_the_last_two_admins_leave_one,
    parallel_adds_of_one_membership_make_one,
    parallel_member_adds_and_removes_all_land,
    parallel_failed_logins_are_all_counted,
    concurrent_edits_of_one_user_are_all_kept,
}

/// One test function per store suite case, named after the case, for a host's test runner:
///
/// ```ignore
/// workgate_store_suite::store_suite_tests!(#[tokio::test] make = || async { MemoryStore::stores() });
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
                $crate::run_case(stringify!($name), $make)
                    .await
                    .assert_passed();
            }
        )*
    };
}

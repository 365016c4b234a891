//! Cases for login throttling.

use crate::fixtures::*;
use crate::{OrFail, Outcome};
#[allow(unused_imports)]
use uuid::Uuid;
use workgate_core::domain::LoginFailures;
use workgate_core::{FailureWindow, Stores, Timestamp};

// ---------------------------------------------------------------------------------------------
// Login throttling

pub(crate) async fn login_failures_default_to_none(s: &Stores) -> Outcome {
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

pub(crate) async fn login_failures_count_inside_the_window(s: &Stores) -> Outcome {
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

pub(crate) async fn login_failures_start_a_new_window_when_it_has_passed(s: &Stores) -> Outcome {
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

pub(crate) async fn login_failures_are_per_username_and_cleared(s: &Stores) -> Outcome {
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
// Retention (core's `rules::failure_window`)

pub(crate) async fn forgettable_login_failures_are_not_counted_on(s: &Stores) -> Outcome {
    // A window far wider than the gap, so only retention can start the count over.
    const WIDE: i64 = 365 * 24 * 3600;
    let start = at(0);
    for i in 0..3 {
        fail(s, "ann", start.plus_secs(i), WIDE)
            .await
            .or_fail("record_login_failure")?;
    }
    let later = start.plus_secs(3600);
    let window = FailureWindow {
        now: later,
        window_secs: WIDE,
        // Everything whose last failure is older than a minute may go.
        forget_before: later.plus_secs(-60),
    };
    let got = s
        .throttle
        .record_login_failure("ann", window)
        .await
        .or_fail("record_login_failure past retention")?;
    ensure_eq!(
        got,
        LoginFailures {
            count: 1,
            first_at: Some(later),
            last_at: Some(later),
        },
        "a forgettable record is not counted on"
    );
    // Within retention it is.
    let soon = FailureWindow {
        now: later.plus_secs(1),
        window_secs: WIDE,
        forget_before: later.plus_secs(-59),
    };
    let next = s
        .throttle
        .record_login_failure("ann", soon)
        .await
        .or_fail("record_login_failure within retention")?;
    ensure_eq!(next.count, 2, "a kept record counts on");
    Ok(())
}

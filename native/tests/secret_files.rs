//! Secrets from files (`<NAME>_FILE`, as Docker and systemd secrets expect): the token secret,
//! the default user's password and API key are read from the named file with one trailing
//! newline stripped; setting both forms, or naming a file that cannot be read, is a one-line
//! error and exit code 1 that never shows the secret.

mod common;

use common::{Home, Outcome, get, login};

fn outcome(cmd: &mut std::process::Command) -> Outcome {
    Outcome::from(cmd.output().expect("run workgate"))
}

/// A failure is exactly one line on stderr, nothing on stdout, exit code 1.
#[track_caller]
fn assert_one_line_failure(out: &common::Outcome, needles: &[&str]) {
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    for needle in needles {
        assert!(out.stderr.contains(needle), "{needle} missing: {out:?}");
    }
}

fn write(home: &Home, name: &str, content: &str) -> String {
    let path = home.path().join(name);
    std::fs::write(&path, content).expect("write the secret file");
    path.display().to_string()
}

#[test]
fn the_default_users_credentials_come_from_files() {
    let home = Home::new();
    // `echo secret > file` leaves a newline, Windows editors a CRLF: one is stripped.
    let password = write(&home, "password", "from-a-file-password\n");
    let key = write(&home, "key", "from.a.file.key\r\n");
    let server = home.serve_with(&[
        ("WORKGATE_DEFAULT_USER_PASSWORD_FILE", &password),
        ("WORKGATE_DEFAULT_USER_API_KEY_FILE", &key),
    ]);
    let me = get(&server.url("/api/me"), Some("from.a.file.key"));
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["username"], "argilla");
    assert_eq!(
        login(
            &server.url("/api/security/token"),
            "argilla",
            "from-a-file-password"
        )
        .status,
        200
    );
    assert_eq!(
        get(&server.url("/api/me"), Some("argilla.apikey")).status,
        401
    );
}

#[test]
fn only_one_trailing_newline_is_stripped() {
    // The second newline stays part of the key, which core refuses (surrounding white space).
    let home = Home::new();
    let key = write(&home, "key", "two.newlines\n\n");
    let out = outcome(
        home.command(&["users", "create-default"])
            .env("WORKGATE_DEFAULT_USER_API_KEY_FILE", &key),
    );
    assert_one_line_failure(&out, &["invalid API key"]);
    assert!(!out.stderr.contains("two.newlines"), "{out:?}");

    // A file without a trailing newline is taken as it is.
    let home = Home::new();
    let password = write(&home, "pw", "no-newline-at-all");
    let server = home.serve_with(&[("WORKGATE_DEFAULT_USER_PASSWORD_FILE", &password)]);
    assert_eq!(
        login(
            &server.url("/api/security/token"),
            "argilla",
            "no-newline-at-all"
        )
        .status,
        200
    );
}

#[test]
fn the_token_secret_comes_from_a_file_under_either_name() {
    // Tokens signed with the file's secret verify on a second server given the same secret by
    // environment, so the file's content is exactly the secret.
    let secret = "0123456789abcdef0123456789abcdef-from-file";
    for name in ["ARGILLA_LOCAL_AUTH_SECRET_KEY", "WORKGATE_TOKEN_SECRET"] {
        let home = Home::new();
        let file = write(&home, "secret", &format!("{secret}\n"));
        let file_var = format!("{name}_FILE");
        let token = {
            let server = home.serve_with(&[(file_var.as_str(), file.as_str())]);
            let answer = login(&server.url("/api/security/token"), "argilla", "1234");
            assert_eq!(answer.status, 200, "{}", answer.body);
            answer.json()["access_token"].as_str().unwrap().to_string()
        };
        let server = home.serve_with(&[(name, secret)]);
        let me = common::answer(
            common::agent()
                .get(&server.url("/api/me"))
                .header("Authorization", &format!("Bearer {token}"))
                .call(),
        );
        assert_eq!(me.status, 200, "{name}: {}", me.body);
    }
}

#[test]
fn both_a_value_and_a_file_is_an_error() {
    let home = Home::new();
    let file = write(&home, "key", "from.a.file.key\n");
    let out = outcome(
        home.command(&["users", "create-default"])
            .env("WORKGATE_DEFAULT_USER_API_KEY", "from.the.environment")
            .env("WORKGATE_DEFAULT_USER_API_KEY_FILE", &file),
    );
    assert_one_line_failure(
        &out,
        &[
            "WORKGATE_DEFAULT_USER_API_KEY ",
            "WORKGATE_DEFAULT_USER_API_KEY_FILE",
        ],
    );
    assert!(!out.stderr.contains("from.a.file.key"), "{out:?}");
    assert!(!out.stderr.contains("from.the.environment"), "{out:?}");
}

#[test]
fn an_unreadable_or_empty_file_is_an_error_naming_it() {
    let home = Home::new();
    let missing = home.path().join("no-such-file").display().to_string();
    let out = outcome(
        home.command(&["serve", "--port", "0"])
            .env("WORKGATE_TOKEN_SECRET_FILE", &missing),
    );
    assert_one_line_failure(&out, &["WORKGATE_TOKEN_SECRET_FILE", &missing]);

    let directory = home.path().display().to_string();
    let out = outcome(
        home.command(&["serve", "--port", "0"])
            .env("WORKGATE_DEFAULT_USER_PASSWORD_FILE", &directory),
    );
    assert_one_line_failure(&out, &["WORKGATE_DEFAULT_USER_PASSWORD_FILE"]);

    let empty = write(&home, "empty", "\n");
    let out = outcome(
        home.command(&["serve", "--port", "0"])
            .env("WORKGATE_DEFAULT_USER_API_KEY_FILE", &empty),
    );
    assert_one_line_failure(&out, &["WORKGATE_DEFAULT_USER_API_KEY_FILE", "empty"]);
}

#[test]
fn a_secret_from_a_file_is_checked_like_one_from_the_environment() {
    let home = Home::new();
    let short = write(&home, "secret", "too-short-secret\n");
    let out = outcome(
        home.command(&["serve", "--port", "0"])
            .env("ARGILLA_LOCAL_AUTH_SECRET_KEY_FILE", &short),
    );
    assert_one_line_failure(
        &out,
        &["ARGILLA_LOCAL_AUTH_SECRET_KEY must be at least 32 bytes"],
    );
    assert!(!out.stderr.contains("too-short-secret"), "{out:?}");
}

#[test]
fn help_names_the_file_variants() {
    let home = Home::new();
    let help = home.run(&["--help"]).stdout;
    for name in workgate_core::engine::settings::SECRETS {
        assert!(
            help.contains(&format!("{name}_FILE")),
            "--help lacks {name}_FILE"
        );
    }
    for name in workgate_core::engine::settings::NAMES {
        assert!(help.contains(name), "--help lacks {name}");
    }
}

//! The command line: every task's success and failure output and exit code (Argilla 1.6's
//! lines, API.md section 8), `--help`, and settings errors.

mod common;

use common::{Home, get, login};
use serde_json::Value;

fn user_count(home: &Home) -> i64 {
    let conn = rusqlite::Connection::open(home.db()).unwrap();
    conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap()
}

fn workspace_names(home: &Home) -> Vec<String> {
    let conn = rusqlite::Connection::open(home.db()).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM workspaces ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A failure is exactly one line on stderr, nothing on stdout, exit code 1.
fn assert_one_line_failure(out: &common::Outcome, needle: &str) {
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains(needle), "{out:?}");
}

// ----- help -----

#[test]
fn help_documents_every_flag_and_environment_variable() {
    let home = Home::new();
    let top = home.run(&["--help"]);
    assert_eq!(top.code, 0);
    for needle in [
        "--home",
        "--database-url",
        "serve",
        "database",
        "users",
        "ARGILLA_HOME_PATH",
        "ARGILLA_DATABASE_URL",
        "ARGILLA_LOCAL_AUTH_USERS_DB_FILE",
        "ARGILLA_LOCAL_AUTH_SECRET_KEY",
        "ARGILLA_LOCAL_AUTH_TOKEN_EXPIRATION_IN_MINUTES",
        "WORKGATE_DEFAULT_USER_ENABLED",
        "WORKGATE_DEFAULT_USER_PASSWORD",
        "WORKGATE_DEFAULT_USER_API_KEY",
        "WORKGATE_PASSWORD_COST",
    ] {
        assert!(top.stdout.contains(needle), "--help lacks {needle}");
    }
    let serve = home.run(&["serve", "--help"]);
    for needle in ["--host", "--port", "--home", "6900", "127.0.0.1"] {
        assert!(serve.stdout.contains(needle), "serve --help lacks {needle}");
    }
    let create = home.run(&["users", "create", "--help"]);
    for needle in [
        "--first-name",
        "--last-name",
        "--username",
        "--role",
        "--password",
        "--api-key",
        "--workspace",
    ] {
        assert!(
            create.stdout.contains(needle),
            "users create --help lacks {needle}"
        );
    }
    let default = home.run(&["users", "create-default", "--help"]);
    for needle in ["--password", "--api-key", "--quiet"] {
        assert!(default.stdout.contains(needle));
    }
    let migrate = home.run(&["users", "migrate", "--help"]);
    assert!(migrate.stdout.contains("--file"));
    assert!(migrate.stdout.contains("ARGILLA_LOCAL_AUTH_USERS_DB_FILE"));
}

#[test]
fn help_names_the_defaults_core_applies() {
    use workgate_core::validation::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
    let home = Home::new();
    let defaults = workgate_core::DefaultUserConfig::default();
    let flat = |args: &[&str]| {
        home.run(args)
            .stdout
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let default = flat(&["users", "create-default", "--help"]);
    for needle in [
        format!("Create the default admin `{}`", defaults.username),
        format!("else {}]", defaults.password),
        format!("else {}]", defaults.api_key),
    ] {
        assert!(
            default.contains(&needle),
            "create-default --help lacks {needle:?}: {default}"
        );
    }
    let create = flat(&["users", "create", "--help"]);
    let role = format!("[default: {}]", workgate_core::Role::default());
    let length = format!("{PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters");
    assert!(create.contains(&role), "{create}");
    assert!(create.contains(&length), "{create}");
    let migrate = flat(&["users", "migrate", "--help"]);
    let file = format!("else {}]", workgate_core::engine::tasks::DEFAULT_USERS_FILE);
    assert!(migrate.contains(&file), "{migrate}");
}

// ----- database migrate -----

#[test]
fn database_migrate_applies_the_schema_once() {
    let home = Home::new();
    let first = home.run(&["database", "migrate"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first.stdout.starts_with("Running upgrade 0 -> 1, "),
        "{first:?}"
    );
    assert!(home.db().exists());
    let again = home.run(&["database", "migrate"]);
    assert_eq!(again.code, 0);
    assert_eq!(
        again.stdout,
        format!(
            "Database schema is up to date (version {}).\n",
            workgate::schema::latest_version()
        )
    );
}

#[test]
fn a_database_newer_than_the_binary_is_refused() {
    let home = Home::new();
    assert_eq!(home.run(&["database", "migrate"]).code, 0);
    rusqlite::Connection::open(home.db())
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let out = home.run(&["database", "migrate"]);
    assert_one_line_failure(
        &out,
        "schema is version 99, newer than this workgate understands",
    );
    let out = home.run(&["users", "create-default"]);
    assert_one_line_failure(&out, "newer");
}

// ----- users create-default -----

#[test]
fn create_default_twice() {
    let home = Home::new();
    let first = home.run(&["users", "create-default"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(
        first.stdout,
        "User with default credentials succesfully created:\n\
         • username: 'argilla'\n\
         • password: '1234'\n\
         • api_key:  'argilla.apikey'\n"
    );
    let second = home.run(&["users", "create-default"]);
    assert_eq!(second.code, 0);
    assert_eq!(
        second.stdout,
        "User with default username already found on database, will not do anything.\n"
    );
    assert_eq!(user_count(&home), 1);
    assert_eq!(workspace_names(&home), ["argilla"]);
}

#[test]
fn create_default_with_flags_and_quiet() {
    let home = Home::new();
    let out = home.run(&[
        "users",
        "create-default",
        "--password",
        "s3cret-pass",
        "--api-key",
        "my.own.key",
        "--quiet",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "");
    let again = home.run(&["users", "create-default", "-q"]);
    assert_eq!((again.code, again.stdout.as_str()), (0, ""));

    let server = home.serve();
    let me = get(&server.url("/api/me"), Some("my.own.key"));
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["username"], "argilla");
    assert_eq!(
        login(&server.url("/api/security/token"), "argilla", "s3cret-pass").status,
        200
    );
    assert_eq!(
        login(&server.url("/api/security/token"), "argilla", "1234").status,
        401
    );
}

#[test]
fn create_default_uses_the_configured_default_credentials() {
    let home = Home::new();
    let out = home
        .command(&["users", "create-default"])
        .env("WORKGATE_DEFAULT_USER_PASSWORD", "configured-pw")
        .env("WORKGATE_DEFAULT_USER_API_KEY", "configured.key")
        .output()
        .unwrap();
    let out = common::Outcome::from(out);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("• password: 'configured-pw'"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("• api_key:  'configured.key'"),
        "{out:?}"
    );
}

// ----- users create -----

#[test]
fn users_create_prints_the_new_user() {
    let home = Home::new();
    let out = home.run(&[
        "users",
        "create",
        "--first-name",
        "Ann",
        "--last-name",
        "Lee",
        "--username",
        "ann",
        "--role",
        "Admin",
        "--password",
        "ann-password",
        "--api-key",
        "ann.key.123",
        "--workspace",
        "team-a",
        "--workspace",
        "team-b",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "User successfully created:\n\
         • first_name: 'Ann'\n\
         • last_name: 'Lee'\n\
         • username: 'ann'\n\
         • role: 'admin'\n\
         • api_key: 'ann.key.123'\n\
         • workspaces: ['ann', 'team-a', 'team-b']\n"
    );
    assert_eq!(workspace_names(&home), ["ann", "team-a", "team-b"]);
}

#[test]
fn users_create_generates_a_key_and_defaults_to_annotator() {
    let home = Home::new();
    let out = home.run(&[
        "users",
        "create",
        "--first-name",
        "Bob",
        "--username",
        "bob",
        "--password",
        "bob-password",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("last_name"));
    assert!(out.stdout.contains("• role: 'annotator'\n"));
    assert!(out.stdout.contains("• workspaces: ['bob']\n"));
    let key = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("• api_key: '"))
        .and_then(|l| l.strip_suffix('\''))
        .expect("api_key line")
        .to_string();
    assert!(key.len() >= 32, "{key}");
    let server = home.serve();
    let me = get(&server.url("/api/me"), Some(&key)).json();
    assert_eq!(me["username"], "bob");
    assert_eq!(me["role"], "annotator");
}

#[test]
fn users_create_skips_a_taken_username_or_key() {
    let home = Home::new();
    let args = [
        "users",
        "create",
        "--first-name",
        "Ann",
        "--username",
        "ann",
        "--password",
        "ann-password",
        "--api-key",
        "ann.key.123",
    ];
    assert_eq!(home.run(&args).code, 0);
    let again = home.run(&args);
    assert_eq!(again.code, 0);
    assert_eq!(
        again.stdout,
        "User with username 'ann' already exists in database. Skipping...\n"
    );
    let same_key = home.run(&[
        "users",
        "create",
        "--first-name",
        "Other",
        "--username",
        "other",
        "--password",
        "other-password",
        "--api-key",
        "ann.key.123",
    ]);
    assert_eq!(same_key.code, 0);
    assert_eq!(
        same_key.stdout,
        "User with api_key 'ann.key.123' already exists in database. Skipping...\n"
    );
    assert_eq!(user_count(&home), 1);
}

#[test]
fn users_create_rejects_bad_input_and_writes_nothing() {
    let home = Home::new();
    assert_eq!(home.run(&["database", "migrate"]).code, 0);
    let base = |username: &'static str, password: &'static str| {
        vec![
            "users",
            "create",
            "--first-name",
            "Ann",
            "--username",
            username,
            "--password",
            password,
        ]
    };
    assert_one_line_failure(&home.run(&base("Ann", "ann-password")), "username");
    assert_one_line_failure(&home.run(&base("_ann", "ann-password")), "username");
    assert_one_line_failure(&home.run(&base("ann", "short")), "password");
    let mut bad_role = base("ann", "ann-password");
    bad_role.extend(["--role", "owner"]);
    assert_one_line_failure(&home.run(&bad_role), "invalid role 'owner'");
    let mut bad_ws = base("ann", "ann-password");
    bad_ws.extend(["--workspace", "Bad Name"]);
    assert_one_line_failure(&home.run(&bad_ws), "workspace");
    let blank_first = home.run(&[
        "users",
        "create",
        "--first-name",
        "  ",
        "--username",
        "ann",
        "--password",
        "ann-password",
    ]);
    assert_one_line_failure(&blank_first, "first name");
    assert_eq!(user_count(&home), 0);
    assert!(workspace_names(&home).is_empty());
}

#[test]
fn users_create_without_a_terminal_names_the_missing_flags() {
    let home = Home::new();
    let out = home.run(&["users", "create", "--first-name", "Ann"]);
    assert_one_line_failure(
        &out,
        "missing --username, --password (no terminal attached to prompt for them)",
    );
    assert_eq!(out.stdout, "");
}

// ----- users migrate -----

fn bcrypt_2y(password: &str) -> String {
    bcrypt::hash_with_result(password, 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoY)
}

fn users_yaml() -> String {
    format!(
        r#"- username: admin
  hashed_password: '{}'
  api_key: admin.key.0001
  full_name: Ada Admin
  email: ada@example.com
- username: annie
  hashed_password: '{}'
  api_key: annie.key.0002
  full_name: Annie
  workspaces:
    - team
    - shared
- username: ben
  hashed_password: '{}'
  api_key: ben.key.0003
  workspaces: [shared]
"#,
        bcrypt_2y("admin-password"),
        bcrypt_2y("annie-password"),
        bcrypt_2y("ben-password"),
    )
}

#[test]
fn users_migrate_imports_argilla_users_who_then_log_in() {
    let home = Home::new();
    let yaml = users_yaml();
    assert!(yaml.contains("$2y$04$"));
    std::fs::write(home.path().join("users.yml"), yaml).unwrap();
    let out = home.run(&["users", "migrate", "--file", "users.yml"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "Starting users migration process using file 'users.yml'\n\
         Migrating User with username 'admin'\n\
         Migrating User with username 'annie'\n\
         Migrating User with username 'ben'\n\
         Users migration process successfully finished\n"
    );

    let server = home.serve();
    let token_url = server.url("/api/security/token");
    for (user, password) in [
        ("admin", "admin-password"),
        ("annie", "annie-password"),
        ("ben", "ben-password"),
    ] {
        let answer = login(&token_url, user, password);
        assert_eq!(answer.status, 200, "{user}: {answer:?}");
        // After the first login the bcrypt hash is upgraded; logging in again still works.
        assert_eq!(
            login(&token_url, user, password).status,
            200,
            "{user} again"
        );
        assert_eq!(login(&token_url, user, "wrong-password").status, 401);
    }
    let annie = get(&server.url("/api/me"), Some("annie.key.0002")).json();
    assert_eq!(annie["role"], "annotator");
    assert_eq!(
        annie["workspaces"],
        Value::from(vec!["annie", "team", "shared"])
    );
    let admin = get(&server.url("/api/me"), Some("admin.key.0001")).json();
    assert_eq!(admin["role"], "admin");
    // The store was not empty at start: no default user.
    assert_eq!(
        get(&server.url("/api/me"), Some("argilla.apikey")).status,
        401
    );
}

#[test]
fn users_migrate_is_all_or_nothing() {
    let home = Home::new();
    let mut yaml = users_yaml();
    yaml.push_str(&format!(
        "- username: Not Valid\n  hashed_password: '{}'\n  api_key: bad.key.0004\n",
        bcrypt_2y("whatever-pw")
    ));
    std::fs::write(home.path().join(".users.yml"), yaml).unwrap();
    let out = home.run(&["users", "migrate"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains("Not Valid"), "{out:?}");
    assert!(!out.stdout.contains("successfully finished"));
    assert_eq!(user_count(&home), 0);
    assert!(workspace_names(&home).is_empty());
}

#[test]
fn users_migrate_refuses_an_existing_username_and_names_it() {
    let home = Home::new();
    assert_eq!(
        home.run(&[
            "users",
            "create",
            "--first-name",
            "Ben",
            "--username",
            "ben",
            "--password",
            "ben-password",
        ])
        .code,
        0
    );
    std::fs::write(home.path().join("u.yml"), users_yaml()).unwrap();
    let out = home
        .command(&["users", "migrate"])
        .env("ARGILLA_LOCAL_AUTH_USERS_DB_FILE", "u.yml")
        .output()
        .unwrap();
    let out = common::Outcome::from(out);
    assert_one_line_failure(&out, "ben");
    assert_eq!(user_count(&home), 1);
}

#[test]
fn users_migrate_with_a_missing_or_malformed_file() {
    let home = Home::new();
    let missing = home.run(&["users", "migrate", "--file", "nope.yml"]);
    assert_one_line_failure(&missing, "cannot read users file 'nope.yml'");
    std::fs::write(home.path().join("bad.yml"), "users: [this is: not a list").unwrap();
    let malformed = home.run(&["users", "migrate", "--file", "bad.yml"]);
    assert_one_line_failure(&malformed, "users file");
    let bad_hash = format!(
        "- username: x\n  hashed_password: plaintext\n  api_key: x.key.0001\n{}",
        ""
    );
    std::fs::write(home.path().join("hash.yml"), bad_hash).unwrap();
    assert_one_line_failure(
        &home.run(&["users", "migrate", "--file", "hash.yml"]),
        "hashed_password",
    );
}

// ----- settings -----

#[test]
fn database_url_chooses_the_file_and_other_schemes_are_refused() {
    let home = Home::new();
    let elsewhere = home.path().join("data/elsewhere.db");
    let url = format!("sqlite:///{}", elsewhere.display());
    let out = home
        .command(&["users", "create-default", "-q"])
        .env("ARGILLA_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(elsewhere.exists());
    assert!(!home.db().exists());

    let out = home
        .command(&["database", "migrate"])
        .env("ARGILLA_DATABASE_URL", "mysql://argilla:hunter2@db/argilla")
        .output()
        .unwrap();
    let out = common::Outcome::from(out);
    assert_one_line_failure(&out, "unsupported database URL scheme \"mysql\"");
    assert!(!out.stderr.contains("hunter2"));
}

#[test]
fn invalid_settings_fail_with_one_line() {
    let home = Home::new();
    for (name, value, needle) in [
        ("WORKGATE_PASSWORD_COST", "m=64", "WORKGATE_PASSWORD_COST"),
        (
            "ARGILLA_LOCAL_AUTH_TOKEN_EXPIRATION_IN_MINUTES",
            "forever",
            "TOKEN_EXPIRATION",
        ),
        ("WORKGATE_DEFAULT_USER_ENABLED", "perhaps", "true or false"),
    ] {
        let out = home
            .command(&["database", "migrate"])
            .env(name, value)
            .output()
            .unwrap();
        assert_one_line_failure(&common::Outcome::from(out), needle);
    }
}

// ----- completions -----

/// The script for `shell`: exit 0, nothing on stderr, no home directory touched, and every
/// command and global flag named in it.
fn completion_script(shell: &str) -> String {
    let home = Home::new();
    let out = home.run(&["completions", shell]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    assert!(!home.db().exists(), "completions opened the database");
    for needle in [
        "serve",
        "database",
        "users",
        "create-default",
        "database-url",
    ] {
        assert!(out.stdout.contains(needle), "{shell} script lacks {needle}");
    }
    out.stdout
}

/// Whether `program` can be run here (zsh and fish are optional on a test machine).
fn runs(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `prelude`, loads `script` into `shell`, then runs `check`; true when that exits 0.
fn loads_in(shell: &str, prelude: &str, script: &str, check: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("workgate-completion");
    std::fs::write(&file, script).unwrap();
    let source = format!("{prelude} source {} && {check}", file.display());
    std::process::Command::new(shell)
        .args(["-c", &source])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn completions_for_bash_register_a_completion_for_workgate() {
    let script = completion_script("bash");
    assert!(script.contains("complete -F _workgate"), "{script}");
    assert!(loads_in("bash", "", &script, "complete -p workgate"));
}

#[test]
fn completions_for_zsh_are_a_compdef_script() {
    let script = completion_script("zsh");
    assert!(script.starts_with("#compdef workgate"), "{script}");
    if runs("zsh") {
        assert!(loads_in(
            "zsh",
            "autoload -U compinit && compinit -u &&",
            &script,
            "(( $+_comps[workgate] ))"
        ));
    }
}

#[test]
fn completions_for_fish_complete_the_workgate_command() {
    let script = completion_script("fish");
    assert!(script.contains("complete -c workgate"), "{script}");
    if runs("fish") {
        assert!(loads_in(
            "fish",
            "",
            &script,
            "complete -C 'workgate ser' | string match -q 'serve*'"
        ));
    }
}

#[test]
fn completions_for_an_unknown_shell_are_one_line_and_exit_1() {
    let out = Home::new().run(&["completions", "tcsh"]);
    assert_one_line_failure(&out, "bash, zsh or fish");
    assert!(out.stdout.is_empty(), "{out:?}");
}

//! The admin tasks' command-line side: gather input (flags, prompts), call core's task, print
//! the outcome with the lines Argilla 1.6's tasks print (`argilla/tasks/users/*.py`), and
//! turn failures into one line on stderr and exit code 1.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use workgate_core::Role;
use workgate_core::engine::tasks::{CreateSkipped, DefaultUserOutcome, UserSpec, parse_task_role};

use crate::cli::{CreateArgs, CreateDefaultArgs, Failure, MigrateArgs};
use crate::schema::Applied;
use crate::server::NativeEngine;

/// Files with more users than this get a progress spinner on a terminal.
const LARGE_IMPORT: usize = 100;

/// `database migrate`: one line per applied step (as alembic logs them), or that nothing was
/// to do.
pub fn print_migrations(applied: &[Applied], version: u32) {
    if applied.is_empty() {
        println!("Database schema is up to date (version {version}).");
    }
    for step in applied {
        println!(
            "Running upgrade {} -> {}, {}",
            step.from, step.to, step.description
        );
    }
}

/// `users create`.
pub async fn create(engine: &NativeEngine, args: CreateArgs) -> Result<(), Failure> {
    let input = complete(args)?;
    // Argilla checks the username, then the key, before validating anything, and skips
    // (exit 0) when either is taken.
    match engine
        .create_user_skipped(&input.username, input.api_key.as_deref())
        .await?
    {
        Some(CreateSkipped::UsernameTaken) => {
            println!(
                "User with username {} already exists in database. Skipping...",
                py_repr(&input.username)
            );
            return Ok(());
        }
        Some(CreateSkipped::ApiKeyTaken) => {
            println!(
                "User with api_key {} already exists in database. Skipping...",
                py_repr(input.api_key.as_deref().unwrap_or_default())
            );
            return Ok(());
        }
        None => {}
    }
    let created = engine.create_user_task(input).await?;
    let user = &created.user;
    println!("User successfully created:");
    println!("• first_name: {}", py_repr(&user.first_name));
    if let Some(last) = &user.last_name {
        println!("• last_name: {}", py_repr(last));
    }
    println!("• username: {}", py_repr(&user.username));
    println!("• role: {}", py_repr(user.role.as_str()));
    println!("• api_key: {}", py_repr(&created.api_key));
    println!("• workspaces: {}", py_list(&created.workspaces));
    Ok(())
}

/// `users create-default`.
pub async fn create_default(engine: &NativeEngine, args: CreateDefaultArgs) -> Result<(), Failure> {
    let defaults = &engine.config().default_user;
    let password = args
        .password
        .clone()
        .unwrap_or_else(|| defaults.password.clone());
    let api_key = args
        .api_key
        .clone()
        .unwrap_or_else(|| defaults.api_key.clone());
    match engine
        .create_default_user(Some(password.clone()), Some(api_key.clone()))
        .await?
    {
        DefaultUserOutcome::AlreadyExists => {
            if !args.quiet {
                println!(
                    "User with default username already found on database, will not do anything."
                );
            }
        }
        DefaultUserOutcome::Created(created) => {
            if !args.quiet {
                // Argilla's wording, typo included: scripts match on it.
                println!("User with default credentials succesfully created:");
                println!("• username: {}", py_repr(&created.user.username));
                println!("• password: {}", py_repr(&password));
                println!("• api_key:  {}", py_repr(&created.api_key));
            }
        }
    }
    Ok(())
}

/// `users migrate`.
pub async fn migrate(engine: &NativeEngine, args: MigrateArgs) -> Result<(), Failure> {
    let file = args
        .file
        .unwrap_or_else(|| PathBuf::from(workgate_core::engine::tasks::DEFAULT_USERS_FILE));
    let shown = py_repr(&file.display().to_string());
    let yaml = std::fs::read_to_string(&file)
        .map_err(|e| Failure(format!("cannot read users file {shown}: {e}")))?;
    println!("Starting users migration process using file {shown}");

    // The import is one transaction in core; on a terminal, large files get a spinner so that
    // the wait does not look like a hang.
    let entries = yaml
        .lines()
        .filter(|l| l.trim_start().starts_with("- "))
        .count();
    let spinner = (entries > LARGE_IMPORT && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!("importing users from {shown}"));
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    });
    let imported = engine.import_users_yaml(&yaml).await;
    if let Some(bar) = &spinner {
        bar.finish_and_clear();
    }
    let users = imported?;

    for user in &users {
        println!("Migrating User with username {}", py_repr(&user.username));
    }
    println!("Users migration process successfully finished");
    Ok(())
}

/// Fills in what the flags left out: prompts on a terminal, fails without one.
fn complete(args: CreateArgs) -> Result<UserSpec, Failure> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let role = match args.role {
        Some(role) => Some(parse_role(&role)?),
        None => None,
    };
    if !interactive {
        let missing: Vec<&str> = [
            ("--first-name", args.first_name.is_none()),
            ("--username", args.username.is_none()),
            ("--password", args.password.is_none()),
        ]
        .into_iter()
        .filter_map(|(flag, absent)| absent.then_some(flag))
        .collect();
        if !missing.is_empty() {
            return Err(Failure(format!(
                "missing {} (no terminal attached to prompt for {})",
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" }
            )));
        }
    }
    let prompt_err =
        |e: dialoguer::Error| Failure(format!("could not read from the terminal: {e}"));
    let first_name = match args.first_name {
        Some(v) => v,
        None => dialoguer::Input::<String>::new()
            .with_prompt("First name")
            .interact_text()
            .map_err(prompt_err)?,
    };
    let username = match args.username {
        Some(v) => v,
        None => dialoguer::Input::<String>::new()
            .with_prompt("Username")
            .interact_text()
            .map_err(prompt_err)?,
    };
    let role = match role {
        Some(role) => role,
        None if interactive => {
            let answer = dialoguer::Input::<String>::new()
                .with_prompt("Role (admin, annotator)")
                .default("annotator".into())
                .validate_with(|v: &String| parse_role(v).map(|_| ()).map_err(|f| f.0))
                .interact_text()
                .map_err(prompt_err)?;
            parse_role(&answer)?
        }
        None => Role::Annotator,
    };
    let password = match args.password {
        Some(v) => v,
        None => dialoguer::Password::new()
            .with_prompt("Password (min. 8 characters)")
            .with_confirmation(
                "Repeat for confirmation",
                "Error: The two entered values do not match.",
            )
            .interact()
            .map_err(prompt_err)?,
    };
    Ok(UserSpec {
        username,
        first_name,
        last_name: args.last_name,
        role,
        password,
        api_key: args.api_key,
        workspaces: args.workspaces,
    })
}

/// Roles as Argilla's task takes them (core decides: case-insensitive).
fn parse_role(s: &str) -> Result<Role, Failure> {
    parse_task_role(s).map_err(|e| Failure(e.to_string()))
}

/// A string as Python's `repr` shows it (Argilla prints values with `!r`).
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A list of strings as Python's `repr` shows it: `['a', 'b']`.
pub fn py_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| py_repr(s)).collect();
    format!("[{}]", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_repr() {
        assert_eq!(py_repr("argilla"), "'argilla'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a'\"b"), "'a\\'\"b'");
        assert_eq!(py_repr("x\ny"), "'x\\ny'");
        assert_eq!(py_list(&["a".into(), "b".into()]), "['a', 'b']");
        assert_eq!(py_list(&[]), "[]");
    }

    #[test]
    fn roles_are_case_insensitive() {
        assert_eq!(parse_role("Admin").unwrap(), Role::Admin);
        assert!(parse_role("owner").is_err());
    }
}

//! The command line: `workgate serve`, `database migrate` and the `users` tasks.
//!
//! Parsing and dispatch only. What each task does lives in core
//! (`workgate_core::engine::tasks`); [`crate::tasks`] prints its outcome in Argilla's words.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use workgate_core::Engine;

use crate::batched_stderr::{BatchedStderr, FlushGuard};
use crate::platform::NativePlatform;
use crate::server::{self, NativeEngine};
use crate::settings::{self, ProcessEnvironment, Settings};
use crate::sqlite_store::SqliteStore;
use crate::tasks;

#[derive(Parser, Debug)]
#[command(
    name = "workgate",
    version,
    about = "Argilla's user, workspace and auth API and its web app, on SQLite",
    after_help = settings::ENVIRONMENT_HELP
)]
pub struct Cli {
    /// Data directory; holds workgate.db [default: ~/.workgate]
    #[arg(long, global = true, value_name = "DIR", env = settings::ENV_HOME)]
    pub home: Option<PathBuf>,

    /// Database URL, sqlite:///PATH [default: sqlite:///<home>/workgate.db]
    #[arg(long, global = true, value_name = "URL", env = settings::ENV_DATABASE_URL)]
    pub database_url: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run pending migrations, create the default user on an empty database, then serve the
    /// API under /api and the web app until SIGINT/SIGTERM
    Serve(ServeArgs),
    /// Database tasks
    #[command(subcommand)]
    Database(DatabaseCommand),
    /// User tasks
    #[command(subcommand)]
    Users(UsersCommand),
    /// Print the shell completion script for bash, zsh or fish on stdout
    Completions(CompletionsArgs),
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// bash, zsh or fish
    pub shell: String,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 = any free port; the chosen one is printed)
    #[arg(long, default_value_t = 6900)]
    pub port: u16,
}

#[derive(Subcommand, Debug)]
pub enum DatabaseCommand {
    /// Apply pending schema migrations (idempotent; `serve` does it too)
    Migrate,
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Create a user; prompts for missing values when a terminal is attached
    Create(CreateArgs),
    /// Create the default admin unless it exists (help text: see `command`)
    CreateDefault(CreateDefaultArgs),
    /// Import users from an Argilla .users.yml file, all or nothing
    Migrate(MigrateArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    #[arg(long)]
    pub first_name: Option<String>,
    #[arg(long)]
    pub last_name: Option<String>,
    /// Lowercase letters, digits, - and _, not starting with - or _
    #[arg(long)]
    pub username: Option<String>,
    /// admin or annotator (default: see `command`)
    #[arg(long)]
    pub role: Option<String>,
    /// The password (length: see `command`)
    #[arg(long)]
    pub password: Option<String>,
    /// The user's API key [default: a new random key]
    #[arg(long)]
    pub api_key: Option<String>,
    /// A team workspace the user joins, created if missing (repeatable)
    #[arg(long = "workspace", value_name = "NAME")]
    pub workspaces: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CreateDefaultArgs {
    /// Password of the default user (default: see `command`)
    #[arg(long)]
    pub password: Option<String>,
    /// API key of the default user (default: see `command`)
    #[arg(long)]
    pub api_key: Option<String>,
    /// Print nothing
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The YAML file (default: see `command`)
    #[arg(long, value_name = "FILE", env = settings::ENV_USERS_DB_FILE)]
    pub file: Option<PathBuf>,
}

/// A failure a command reports as one line on stderr before exiting 1.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// Parses the command line and runs the command.
/// The command line, with the help texts that name a default taking it from core, so they say
/// what the binary does (`DefaultUserConfig`, `Role::default`, `validation`, `tasks`).
pub fn command() -> clap::Command {
    use workgate_core::engine::tasks::DEFAULT_USERS_FILE;
    use workgate_core::validation::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
    let defaults = workgate_core::DefaultUserConfig::default();
    let create_default = format!(
        "Create the default admin `{}` unless it exists",
        defaults.username
    );
    let role = format!(
        "admin or annotator [default: {}]",
        workgate_core::Role::default()
    );
    let password = format!(
        "{PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters (prompted for, hidden, when \
         omitted on a terminal)"
    );
    let default_password = format!(
        "Password of the default user [default: {}, else {}]",
        settings::ENV_DEFAULT_USER_PASSWORD,
        defaults.password
    );
    let default_key = format!(
        "API key of the default user [default: {}, else {}]",
        settings::ENV_DEFAULT_USER_API_KEY,
        defaults.api_key
    );
    let users_file = format!(
        "The YAML file [default: {}, else {DEFAULT_USERS_FILE}]",
        settings::ENV_USERS_DB_FILE
    );
    Cli::command().mut_subcommand("users", |users| {
        users
            .mut_subcommand("create", |c| {
                c.mut_arg("role", |a| a.help(role))
                    .mut_arg("password", |a| a.help(password))
            })
            .mut_subcommand("create-default", |c| {
                c.about(create_default)
                    .mut_arg("password", |a| a.help(default_password))
                    .mut_arg("api_key", |a| a.help(default_key))
            })
            .mut_subcommand("migrate", |c| c.mut_arg("file", |a| a.help(users_file)))
    })
}

pub fn main() -> ExitCode {
    let cli = match command().try_get_matches() {
        Ok(matches) => Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit()),
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("Error: {}", one_line(&message));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    // Reads no settings: it works before any home directory exists, whatever the environment.
    let command = match cli.command {
        Command::Completions(args) => return completions(&args.shell),
        command => command,
    };
    let settings = Settings::load(cli.home, cli.database_url, &ProcessEnvironment)?;
    match command {
        Command::Serve(args) => serve(settings, args),
        Command::Database(DatabaseCommand::Migrate) => {
            let _log = init_logging("warn");
            settings.create_dirs()?;
            let (store, applied) = SqliteStore::open(&settings.database)?;
            tasks::print_migrations(&applied, store.schema_version()?);
            Ok(())
        }
        Command::Completions(args) => completions(&args.shell),
        Command::Users(command) => {
            let _log = init_logging("warn");
            let engine = open_engine(&settings)?.0;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                match command {
                    UsersCommand::Create(args) => tasks::create(&engine, args).await,
                    UsersCommand::CreateDefault(args) => tasks::create_default(&engine, args).await,
                    UsersCommand::Migrate(args) => tasks::migrate(&engine, args).await,
                }
            })
        }
    }
}

/// `workgate completions SHELL`: the script, generated from the same command line as the help.
fn completions(shell: &str) -> Result<(), Failure> {
    use clap_complete::Shell;
    let shell = match shell {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        other => {
            return Err(Failure(format!(
                "unknown shell {other:?}: completions are for bash, zsh or fish"
            )));
        }
    };
    clap_complete::generate(shell, &mut command(), "workgate", &mut std::io::stdout());
    Ok(())
}

/// Opens the database (applying pending migrations) and builds the engine.
fn open_engine(
    settings: &Settings,
) -> Result<(NativeEngine, Vec<crate::schema::Applied>), Failure> {
    settings.create_dirs()?;
    let (store, applied) = SqliteStore::open(&settings.database)?;
    let store = std::sync::Arc::new(store);
    let stores = workgate_core::Stores::all_in(store.clone()).with_datasets(store);
    let engine = Engine::new(stores, NativePlatform::new(), settings.config.clone());
    Ok((engine, applied))
}

fn serve(settings: Settings, args: ServeArgs) -> Result<(), Failure> {
    let _log_guard = init_logging("info");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (engine, applied) = open_engine(&settings)?;
        for step in &applied {
            tracing::info!(
                "database migrated from version {} to {}: {}",
                step.from,
                step.to,
                step.description
            );
        }
        tracing::info!("database: {}", settings.database.display());
        if let Some(user) = engine.bootstrap_default_user().await? {
            tracing::info!("created the default admin {:?}", user.username);
        }
        engine.prepare().await;
        if engine.default_credentials_in_use().await? {
            let name = &settings.config.default_user.username;
            tracing::warn!(
                "User {name:?} with default credentials has been found in the database. If you \
                 are using workgate in a production environment this can be a serious security \
                 problem. We recommend that you create a new admin user and then delete the \
                 default {name:?} one."
            );
        }
        let addr = SocketAddr::new(args.host, args.port);
        server::run(Arc::new(engine), addr)
            .await
            .map_err(|e| Failure(format!("cannot serve on {addr}: {e}")))
    })
}

/// Logs to stderr through [`BatchedStderr`], so that logging one line per request stays
/// cheap. `RUST_LOG` overrides `default`. Returns the guard that flushes on drop.
fn init_logging(default: &str) -> Option<FlushGuard> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let (writer, guard) = BatchedStderr::new();
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init()
        .is_ok();
    installed.then_some(guard)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

//! The command line: `workgate serve`, `database migrate` and the `users` tasks.
//!
//! Parsing and dispatch only. What each task does lives in core
//! (`workgate_core::engine::tasks`); [`crate::tasks`] prints its outcome in Argilla's words.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use workgate_core::Engine;

use crate::batched_stderr::{BatchedStderr, FlushGuard};
use crate::connections::{self, ConnectionLimits};
use crate::platform::NativePlatform;
use crate::postgres::PostgresStore;
use crate::server::{self, LogFormat, NativeEngine, ServeOptions};
use crate::settings::{self, Database, ProcessEnvironment, Settings};
use crate::sqlite_store::SqliteStore;
use crate::tasks;

#[derive(Parser, Debug)]
#[command(
    name = "workgate",
    version,
    about = "Argilla's user, workspace and auth API and its web app, on SQLite or PostgreSQL",
    after_help = settings::ENVIRONMENT_HELP
)]
pub struct Cli {
    /// Data directory; holds workgate.db [default: ~/.workgate]
    #[arg(long, global = true, value_name = "DIR", env = settings::ENV_HOME)]
    pub home: Option<PathBuf>,

    /// Database URL, sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB
    /// [default: sqlite:///<home>/workgate.db]
    #[arg(long, global = true, value_name = "URL", env = settings::ENV_DATABASE_URL)]
    pub database_url: Option<String>,

    /// PostgreSQL connections per instance [default: WORKGATE_DATABASE_POOL_SIZE, else 16]
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub database_pool_size: Option<u16>,

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
    /// Write the whole database as a dump (JSON lines: users with their password hashes and
    /// key digests, workspaces, memberships, audit log, datasets and records) to stdout or FILE
    Export(ExportArgs),
    /// Import a dump from stdin or FILE, all or nothing, into an empty database (or --merge)
    Import(ImportArgs),
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write the dump to this file instead of stdout
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Read the dump from this file instead of stdin
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Add to a database that holds data: skip what it holds identically, refuse conflicts
    #[arg(long)]
    pub merge: bool,
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
    /// Connections open at once [default: the open-file limit less 64 and a sixteenth]
    #[arg(long, value_name = "N", env = settings::ENV_MAX_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..=16_777_216))]
    pub max_connections: Option<u32>,
    /// Connections open at once from one client address [default: a quarter of
    /// --max-connections]
    #[arg(long, value_name = "N", env = settings::ENV_MAX_CONNECTIONS_PER_CLIENT, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_client: Option<u32>,
    /// Seconds a client has to send a complete request header
    #[arg(long, value_name = "SECONDS", env = settings::ENV_HEADER_TIMEOUT, default_value = "10", value_parser = parse_seconds)]
    pub header_timeout: Duration,
    /// Seconds an idle keep-alive connection is kept
    #[arg(long, value_name = "SECONDS", env = settings::ENV_IDLE_TIMEOUT, default_value = "60", value_parser = parse_seconds)]
    pub idle_timeout: Duration,
    /// Serve Prometheus metrics at http://ADDR/metrics (off when unset)
    #[arg(long, value_name = "HOST:PORT", env = settings::ENV_METRICS_ADDR)]
    pub metrics_addr: Option<SocketAddr>,
    /// The log's format on stderr
    #[arg(long, value_enum, env = settings::ENV_LOG_FORMAT, default_value = "text")]
    pub log_format: LogFormat,
}

/// A positive number of seconds, fractions allowed (`1.5`), at most a day.
fn parse_seconds(value: &str) -> Result<Duration, String> {
    let seconds: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!("{value:?} is not between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

impl ServeArgs {
    /// The accept loop's limits: the flags, else the defaults for the open-file limit now in
    /// force (raised to the hard limit first).
    fn connection_limits(&self) -> ConnectionLimits {
        let open_files = connections::raise_open_file_limit().unwrap_or(1024);
        let mut limits = ConnectionLimits::for_open_files(open_files);
        if let Some(max) = self.max_connections {
            limits.max_connections = max as usize;
            limits.max_per_client = (limits.max_connections / 4).max(1);
        }
        if let Some(max) = self.max_connections_per_client {
            limits.max_per_client = max as usize;
        }
        limits.header_timeout = self.header_timeout;
        limits.idle_timeout = self.idle_timeout;
        limits
    }
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
    let mut settings = Settings::load(cli.home, cli.database_url, &ProcessEnvironment)?;
    if let Some(n) = cli.database_pool_size {
        settings.pool_size = usize::from(n);
    }
    match command {
        Command::Serve(args) => serve(settings, args),
        Command::Database(DatabaseCommand::Migrate) => {
            let _log = init_logging("warn", LogFormat::Text);
            settings.create_dirs()?;
            match &settings.database {
                Database::Sqlite(path) => {
                    let (store, applied) = SqliteStore::open(path)?;
                    tasks::print_migrations(&applied, store.schema_version()?);
                }
                Database::Postgres(url) => current_thread()?.block_on(async {
                    let (store, applied) = PostgresStore::open(url, 1).await?;
                    let applied: Vec<_> = applied.into_iter().map(printable).collect();
                    let version = u32::try_from(store.schema_version().await?).unwrap_or(0);
                    tasks::print_migrations(&applied, version);
                    Ok::<_, Failure>(())
                })?,
            }
            Ok(())
        }
        Command::Completions(args) => completions(&args.shell),
        Command::Export(args) => {
            let _log = init_logging("warn", LogFormat::Text);
            if let Database::Sqlite(path) = &settings.database
                && !path.exists()
            {
                return Err(Failure(format!("no database at {}", path.display())));
            }
            current_thread()?.block_on(async {
                let engine = open_engine(&settings).await?.0;
                crate::moving::export(&engine, args.file.as_deref()).await
            })
        }
        Command::Import(args) => {
            let _log = init_logging("warn", LogFormat::Text);
            current_thread()?.block_on(async {
                let engine = open_engine(&settings).await?.0;
                crate::moving::import(&engine, args.file.as_deref(), args.merge).await
            })
        }
        Command::Users(command) => {
            let _log = init_logging("warn", LogFormat::Text);
            current_thread()?.block_on(async {
                let engine = open_engine(&settings).await?.0;
                match command {
                    UsersCommand::Create(args) => tasks::create(&engine, args).await,
                    UsersCommand::CreateDefault(args) => tasks::create_default(&engine, args).await,
                    UsersCommand::Migrate(args) => tasks::migrate(&engine, args).await,
                }
            })
        }
    }
}

fn current_thread() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// A PostgreSQL migration step in the words `database migrate` prints for SQLite's.
fn printable(step: crate::postgres::Applied) -> crate::schema::Applied {
    crate::schema::Applied {
        from: u32::try_from(step.from).unwrap_or(0),
        to: u32::try_from(step.to).unwrap_or(0),
        description: step.description,
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
async fn open_engine(
    settings: &Settings,
) -> Result<(NativeEngine, Vec<crate::schema::Applied>), Failure> {
    open_engine_and_pool(settings)
        .await
        .map(|(engine, applied, _)| (engine, applied))
}

/// [`open_engine`], with where to read the PostgreSQL pool's figures.
async fn open_engine_and_pool(
    settings: &Settings,
) -> Result<
    (
        NativeEngine,
        Vec<crate::schema::Applied>,
        Option<crate::metrics::PoolSource>,
    ),
    Failure,
> {
    settings.create_dirs()?;
    let mut pool = None;
    let (stores, applied) = match &settings.database {
        Database::Sqlite(path) => {
            let (store, applied) = SqliteStore::open(path)?;
            let store = Arc::new(store);
            (
                workgate_core::Stores::all_in(store.clone())
                    .with_datasets(store.clone())
                    .with_restore(store),
                applied,
            )
        }
        Database::Postgres(url) => {
            let (store, applied) = PostgresStore::open(url, settings.pool_size).await?;
            let store = Arc::new(store);
            let figures = store.clone();
            pool = Some(crate::metrics::PoolSource(Arc::new(move || {
                figures.pool_figures()
            })));
            (
                workgate_core::Stores::all_in(store.clone())
                    .with_datasets(store.clone())
                    .with_restore(store),
                applied.into_iter().map(printable).collect(),
            )
        }
    };
    let engine = Engine::new(stores, NativePlatform::new(), settings.config.clone());
    Ok((engine, applied, pool))
}

fn serve(settings: Settings, args: ServeArgs) -> Result<(), Failure> {
    let _log_guard = init_logging("info", args.log_format);
    let limits = args.connection_limits();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (engine, applied, pool) = open_engine_and_pool(&settings).await?;
        for step in &applied {
            tracing::info!(
                "database migrated from version {} to {}: {}",
                step.from,
                step.to,
                step.description
            );
        }
        tracing::info!("database: {}", settings.database.describe());
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
        let options = ServeOptions {
            limits,
            metrics_addr: args.metrics_addr,
            log_format: args.log_format,
            pool,
        };
        server::run(Arc::new(engine), addr, options)
            .await
            .map_err(|e| Failure(format!("cannot serve on {addr}: {e}")))
    })
}

/// Logs to stderr through [`BatchedStderr`], so that logging one line per request stays
/// cheap; as text, or as one JSON object a line. `RUST_LOG` overrides `default`. Returns the
/// guard that flushes on drop.
fn init_logging(default: &str, format: LogFormat) -> Option<FlushGuard> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let (writer, guard) = BatchedStderr::new();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer.clone());
    let installed = match format {
        LogFormat::Text => {
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let installed = builder
                .with_target(false)
                .with_ansi(ansi)
                .try_init()
                .is_ok();
            if installed {
                crate::access_log::install(writer, ansi);
            }
            installed.then_some(()).ok_or(())
        }
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init()
            .map_err(|_| ()),
    }
    .is_ok();
    installed.then_some(guard)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

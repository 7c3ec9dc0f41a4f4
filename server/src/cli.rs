//! The `ratel-server` command line: `serve` (the default), `migrate`, and the admin commands.
//! These command lines are an interface scripts rely on; change them only compatibly.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::domain::DomainError;
use crate::domain::input::WebhookPatch;
use crate::domain::webhooks;

use crate::config::{LogFormat, Overrides, Settings};
use crate::domain::{auth, keys};
use crate::storage::Store;
use crate::{serve, telemetry};

#[derive(Parser, Debug)]
#[command(
    name = "ratel-server",
    version,
    about = "Ratel: self-hosted task monitoring"
)]
struct Cli {
    /// TOML configuration file (also RATEL_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL (also DATABASE_URL); SQLite file in the working directory by default.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Log filter, e.g. info or debug (also RATEL_LOG_LEVEL).
    #[arg(long, global = true)]
    log_level: Option<String>,
    /// Log format (also RATEL_LOG_FORMAT).
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTP server (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage organizations, projects and keys.
    #[command(subcommand)]
    Admin(Admin),
}

#[derive(Args, Debug, Default)]
struct ServeArgs {
    /// Address to listen on (also RATEL_BIND); port 0 picks a free port.
    #[arg(long)]
    bind: Option<String>,
    /// Base URL clients reach this server at (also RATEL_PUBLIC_URL).
    #[arg(long)]
    public_url: Option<String>,
    /// Largest request body in bytes (also RATEL_BODY_LIMIT).
    #[arg(long)]
    body_limit: Option<usize>,
    /// Requests per second per key (also RATEL_RATE_LIMIT); no limit by default.
    #[arg(long)]
    rate_limit: Option<u32>,
}

#[derive(Subcommand, Debug)]
enum Admin {
    /// Create a key for a project (creating the organization and project when missing).
    /// The key is printed once, as the last line of output.
    CreateKey {
        #[arg(long)]
        org: String,
        #[arg(long)]
        project: String,
    },
    /// List keys (never their secrets).
    ListKeys,
    /// Revoke a key by its id.
    RevokeKey {
        #[arg(value_name = "KEY_ID")]
        key_id: i64,
    },
    /// Register a web hook endpoint for `webhook:<slug>` actions (creating the organization
    /// and project when missing). Its signing secret is printed once, as the last line.
    CreateWebhook {
        #[arg(long)]
        org: String,
        #[arg(long)]
        project: String,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "")]
        description: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let serve_args = match &cli.command {
        Some(Command::Serve(args)) => Some(args),
        None => None,
        _ => None,
    };
    let overrides = Overrides {
        database_url: cli.database_url.clone(),
        log_level: cli.log_level.clone(),
        log_format: cli.log_format,
        bind: serve_args.and_then(|a| a.bind.clone()),
        public_url: serve_args.and_then(|a| a.public_url.clone()),
        body_limit: serve_args.and_then(|a| a.body_limit),
        rate_limit: serve_args.and_then(|a| a.rate_limit),
    };
    let settings = match Settings::load(cli.config.clone(), overrides) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("ratel-server: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log_level, settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("ratel-server: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command, settings));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ratel-server: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Option<Command>, settings: Settings) -> anyhow::Result<()> {
    match command {
        None | Some(Command::Serve(_)) => serve::run(settings).await,
        Some(Command::Migrate) => {
            let store = open(&settings).await?;
            println!("migrations applied");
            store.close().await;
            Ok(())
        }
        Some(Command::Admin(admin)) => {
            let store = open(&settings).await?;
            let result = run_admin(&store, admin).await;
            store.close().await;
            result
        }
    }
}

/// Connects and migrates.
pub async fn open(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(&settings.db()).await?;
    store.migrate().await?;
    let missing = store.missing_sqlite_options().await?;
    if !missing.is_empty() {
        tracing::warn!(
            ?missing,
            "this SQLite lacks compile options Ratel is tuned for (build from the workspace, \
             which sets LIBSQLITE3_FLAGS): statements will be re-prepared and slower"
        );
    }
    Ok(store)
}

/// Creates a key; returns `(key id, whole key)`.
pub async fn create_key(store: &Store, org: &str, project: &str) -> anyhow::Result<(i64, String)> {
    for (what, slug) in [("organization", org), ("project", project)] {
        anyhow::ensure!(
            auth::valid_slug(slug),
            "invalid {what} slug {slug:?}: use 1-50 lowercase letters, digits and hyphens"
        );
    }
    let project_id = store.ensure_project(org, project).await?;
    let key = keys::generate(org, project);
    let row = store
        .insert_key(project_id, key.secret_hash, key.prefix)
        .await?;
    Ok((row.id, key.full))
}

async fn run_admin(store: &Store, admin: Admin) -> anyhow::Result<()> {
    match admin {
        Admin::CreateKey { org, project } => {
            let (id, key) = create_key(store, &org, &project).await?;
            println!("created key {id} for {org}/{project}; it is shown only once:");
            println!("{key}");
        }
        Admin::ListKeys => {
            println!(
                "{:<6} {:<20} {:<20} {:<10} {:<25} REVOKED",
                "ID", "ORG", "PROJECT", "PREFIX", "CREATED"
            );
            for key in store.list_keys().await? {
                println!(
                    "{:<6} {:<20} {:<20} {:<10} {:<25} {}",
                    key.id,
                    key.organization,
                    key.project,
                    format!("{}...", key.prefix),
                    key.created.format("%Y-%m-%dT%H:%M:%SZ"),
                    key.revoked.map_or("-".to_owned(), |r| r
                        .format("%Y-%m-%dT%H:%M:%SZ")
                        .to_string())
                );
            }
        }
        Admin::RevokeKey { key_id } => {
            anyhow::ensure!(
                store.revoke_key(key_id).await?,
                "no active key with id {key_id}"
            );
            println!("revoked key {key_id}");
        }
        Admin::CreateWebhook {
            org,
            project,
            slug,
            url,
            description,
        } => {
            let input = WebhookPatch {
                slug: Some(slug),
                url: Some(url),
                description: Some(description),
                enabled: Some(true),
            };
            let hook = webhooks::create_for_admin(store, &org, &project, input)
                .await
                .map_err(describe)?;
            println!(
                "created web hook {} for {org}/{project} ({}); its secret is shown only once:",
                hook.slug, hook.url
            );
            println!("{}", hook.secret);
        }
    }
    Ok(())
}

/// A domain error as one line for the terminal.
fn describe(err: DomainError) -> anyhow::Error {
    match err {
        DomainError::Validation(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.attr, e.detail))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

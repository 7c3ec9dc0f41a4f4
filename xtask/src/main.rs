//! `cargo xtask` — see `cargo xtask --help`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::{bench, check, codegen};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Keep spec, server and client in sync; benchmark"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate client/src/generated.rs from openapi.yaml.
    Codegen,
    /// Fail, saying what differs, when openapi.yaml, the server or the client drift apart.
    Check,
    /// Benchmark the release server over loopback (SQLite and PostgreSQL).
    Bench(bench::Options),
    /// The benchmark's bare server (one statement per request) on `DATABASE_URL`.
    #[command(hide = true)]
    BareServer,
}

fn bare_server() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")?;
    tokio::runtime::Runtime::new()?.block_on(xtask::bare::serve(&url))
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Codegen => codegen::run().map(|()| true),
        Command::Check => check::run(),
        Command::Bench(opts) => bench::run(opts).map(|()| true),
        Command::BareServer => bare_server().map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

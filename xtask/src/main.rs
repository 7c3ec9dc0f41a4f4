//! `cargo xtask`: project automation.
//!
//! `bench` starts the release server and drives it over loopback with N concurrent keep-alive
//! connections, for SQLite and PostgreSQL, and prints throughput, latency percentiles, the
//! server's peak RSS and the count of non-2xx responses. It measures; it asserts nothing.

mod bench;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Benchmark the release server (see `cargo xtask bench --help`).
    Bench(bench::Options),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Bench(opts) => bench::run(opts),
    }
}

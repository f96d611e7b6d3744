//! The `keyrotor` binary: `keyrotor serve` runs the service; every other
//! subcommand is a client of a running service, in the style of the az CLI.

mod admin;
mod cli;
mod fsutil;
mod ledger;
mod polled_timer;
mod server;
mod tls;

use clap::Parser;

/// mimalloc: glibc malloc's arena locks showed up as a top cost under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "keyrotor",
    version,
    about = "Dual account keys with safe rotation, Azure-compatible"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Run the service.
    Serve(server::ServeArgs),
    /// Local operations on a data directory (need the root key, not the network).
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    #[command(flatten)]
    Client(Box<cli::ClientCommand>),
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEYROTOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,keyrotor=info")),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: logs sent to a file or journald stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("keyrotor: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match args.command {
            Command::Serve(a) => server::run(a).await,
            Command::Admin { command } => admin::run(command).await,
            Command::Client(c) => cli::run(*c).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyrotor: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

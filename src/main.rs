//! `intentgate`: the gateway server and its operator subcommands.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use intentgate::adapters::{http, telemetry};
use intentgate::bootstrap;
use intentgate::config::Config;

/// jemalloc, not glibc's malloc. Memory moves between threads on every call (a request's
/// buffers and audit events are freed by whichever worker finishes with them); glibc then
/// takes the owning arena's lock, and under load a third of the gateway's context switches
/// were threads sleeping on those locks (BENCHMARKS.md: 30-38 % more calls per second on
/// the memory store with jemalloc, a quarter less CPU per call). Its settings are
/// compiled in from `.cargo/config.toml` when the binary is built from the repository.
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "intentgate",
    version,
    about = "Authorization gateway for AI agents' MCP tool calls"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Validate the configuration from the environment and open the store, then exit.
    CheckConfig,
    /// Apply the Postgres migrations to INTENTGATE_POSTGRES_URL, then exit.
    Migrate,
    /// Print the OpenAPI document (as committed in openapi/openapi.json), then exit.
    Openapi,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Some(Command::Openapi)) {
        // A closed pipe (`| head`) ends the output quietly instead of panicking.
        let mut out = std::io::stdout().lock();
        let written = writeln!(out, "{}", http::openapi::document(http::VERSION));
        return if written.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let telemetry = telemetry::init();
    let code = run(cli).await;
    // The exporter blocks while it flushes: off the async workers.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    code
}

async fn run(cli: Cli) -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    for notice in &config.notices {
        tracing::warn!("{notice}");
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&config).await,
        Command::CheckConfig => check(&config).await,
        Command::Migrate => migrate(&config).await,
        Command::Openapi => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    let started = bootstrap::build(config).await?;
    tracing::info!("enforcing: {}", config.posture());
    if let Some(warning) = config.development_warning() {
        tracing::warn!("{warning}");
    }
    let acceptor = bootstrap::bind(&config.addr).await?;
    let gateway = std::sync::Arc::clone(&started.gateway);
    http::serve(acceptor, started.gateway, shutdown_signal()).await?;
    // Commit whatever async durability still queues.
    gateway.audit.shutdown().await;
    Ok(())
}

async fn check(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    let started = bootstrap::build(config).await?;
    println!(
        "configuration ok; {} store opened\n{config:#?}",
        started.gateway.stores.backend
    );
    Ok(())
}

async fn migrate(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    let intentgate::config::StoreConfig::Postgres { url } = &config.store else {
        return Err("migrate needs the Postgres store: set INTENTGATE_POSTGRES_URL".into());
    };
    #[cfg(feature = "postgres")]
    {
        let applied = intentgate::adapters::postgres::migrate(url).await?;
        println!("database is at migration {applied} of {applied}");
        Ok(())
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = url;
        Err("this build has no postgres store (built without the `postgres` feature)".into())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}

//! `intentgate`: the gateway server and its operator subcommands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use intentgate::adapters::open_stores;
use intentgate::config::Config;

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
    /// Validate the configuration from the environment and open the store, then exit.
    CheckConfig,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    for notice in &config.notices {
        eprintln!("notice: {notice}");
    }
    match cli.command {
        Some(Command::CheckConfig) | None => match open_stores(&config.store).await {
            Ok(stores) => {
                println!(
                    "configuration ok; {} store opened\n{config:#?}",
                    stores.backend
                );
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::FAILURE
            }
        },
    }
}

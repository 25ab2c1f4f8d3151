//! `igctl`: operator tool, compatible with the reference's and extended.
//!
//! Offline: `gen-key` prints a new master key; `mint` signs a root token; `decode`
//! shows a token's JSON without verifying it; `audit verify-file` re-verifies an NDJSON
//! export's hash chains (and, with `--key`, its proof bundles); `audit log-key` prints
//! the checkpoints' verifier key. Through the gateway's admin API: `revoke`,
//! `revocations`, `audit query`, `audit export`, `agents`, `approvals list` and
//! `approvals decide`; `audit verify-consistency` asks it for the proof unless given
//! one.
//!
//! Usage errors exit 2, other errors print `error: <message>` and exit 1; a verified
//! file with a broken chain, or checkpoints that are not consistent, also exit 1,
//! after printing their verdicts.

mod admin;
mod checkpoints;
mod export;
mod progress;
mod token;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "igctl", version, about = "IntentGate operator tool")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a new random 32-byte master key (base64url, no padding).
    GenKey,
    /// Mint a root capability token and print it.
    Mint(token::MintArgs),
    /// Print a token's JSON, indented. Does not verify the signature.
    Decode {
        /// The encoded token.
        token: String,
    },
    /// Revoke a token id through the gateway (`POST /v1/admin/revoke`).
    Revoke(admin::RevokeArgs),
    /// List revoked token ids, newest first (`GET /v1/admin/revocations`).
    Revocations(admin::RevocationsArgs),
    /// Query or export the audit log, or verify an export offline.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Agents seen in the audit log, most recently seen first (`GET /v1/admin/agents`).
    Agents(admin::AgentsArgs),
    /// List and decide escalated calls waiting for a human.
    Approvals {
        #[command(subcommand)]
        command: ApprovalsCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Audit events, newest first (`GET /v1/admin/audit`).
    Query(admin::QueryArgs),
    /// Download an export to a file (`GET /v1/admin/audit/export`).
    Export(export::ExportArgs),
    /// Re-verify the hash chains of an NDJSON export (`--format json`), offline;
    /// with `--key`, also its proof bundles (`--proofs`).
    VerifyFile(verify::VerifyFileArgs),
    /// Print the verifier key of the gateway's log key (opens its checkpoints).
    LogKey(checkpoints::LogKeyArgs),
    /// Check that checkpoint NEW extends checkpoint OLD (same log, nothing rewritten).
    VerifyConsistency(checkpoints::ConsistencyArgs),
}

#[derive(Subcommand)]
enum ApprovalsCommand {
    /// Approval requests, newest first (`GET /v1/admin/approvals`).
    List(admin::ApprovalListArgs),
    /// Approve or reject a pending call (`POST /v1/admin/approvals/{id}/decide`).
    Decide(admin::DecideArgs),
}

/// What a command prints on stdout (nothing when empty) and how the process exits.
pub struct Done {
    pub stdout: String,
    pub code: ExitCode,
}

impl Done {
    fn success(stdout: String) -> Self {
        Self {
            stdout,
            code: ExitCode::SUCCESS,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(done) => {
            if !done.stdout.is_empty() {
                print_out(&done.stdout);
            }
            done.code
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the result and a newline. A reader that stopped early (`igctl … | head -1`)
/// is not an error, as for other Unix tools: the rest is dropped without a word.
fn print_out(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let written = writeln!(out, "{text}").and_then(|()| out.flush());
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: writing the output: {e}");
    }
}

async fn run(command: Command) -> Result<Done, String> {
    let stdout = match command {
        Command::GenKey => token::gen_key(),
        Command::Mint(args) => token::mint_token(args),
        Command::Decode { token: encoded } => token::decode_token(&encoded),
        Command::Revoke(args) => admin::revoke(args).await,
        Command::Revocations(args) => admin::revocations(args).await,
        Command::Audit { command } => match command {
            AuditCommand::Query(args) => admin::query(args).await,
            AuditCommand::Export(args) => export::export(args).await,
            AuditCommand::VerifyFile(args) => return verify::verify_file(&args),
            AuditCommand::LogKey(args) => checkpoints::log_key(&args),
            AuditCommand::VerifyConsistency(args) => {
                return checkpoints::verify_consistency(args).await;
            }
        },
        Command::Agents(args) => admin::agents(args).await,
        Command::Approvals { command } => match command {
            ApprovalsCommand::List(args) => admin::approvals(args).await,
            ApprovalsCommand::Decide(args) => admin::decide(args).await,
        },
    };
    stdout.map(Done::success)
}

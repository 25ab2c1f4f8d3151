//! `igctl audit verify-file`: re-verifies an NDJSON export offline and prints one
//! verdict per chain, in the shape of `GET /v1/admin/audit/verify`.
//!
//! An export is newest first and interleaves chains, so records are grouped by their
//! `chain` and sorted by `seq` before the walk. The first record of each chain is
//! trusted to carry the right `prev_hash` (its predecessor may predate the export),
//! exactly as in a windowed verify; every later link and every body is checked.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::ExitCode;

use indicatif::ProgressBar;
use intentgate::adapters::http::admin::VerifyResponse;
use intentgate::domain::audit::export::parse_ndjson_line;
use intentgate::domain::audit::{ChainVerifier, ChainedEvent, VerifyReport};

use crate::Done;
use crate::progress::bytes_bar;

/// Records of one file, by chain name (ascending).
type Chains = BTreeMap<String, Vec<ChainedEvent>>;

/// Verdicts on stdout, one JSON object per line; exits 1 when any chain is broken.
pub fn verify_file(path: &Path) -> Result<Done, String> {
    let chains = read_chains(path)?;
    let mut all_ok = true;
    let mut verdicts = Vec::with_capacity(chains.len());
    for (chain, mut records) in chains {
        let report = verify_chain(&mut records);
        all_ok &= report.ok;
        verdicts.push(verdict_json(&chain, report)?);
    }
    Ok(Done {
        stdout: verdicts.join("\n"),
        code: if all_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    })
}

fn read_chains(path: &Path) -> Result<Chains, String> {
    let fail = |e: String| format!("{}: {e}", path.display());
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let size = file.metadata().map_err(|e| fail(e.to_string()))?.len();
    let bar = bytes_bar(Some(size));
    let chains = read_records(BufReader::new(file), &bar);
    bar.finish_and_clear();
    chains.map_err(fail)
}

/// Reads line by line; blank lines are skipped, any other unreadable line is an
/// error naming its (1-based) number.
fn read_records(mut reader: impl BufRead, bar: &ProgressBar) -> Result<Chains, String> {
    let mut chains = Chains::new();
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        number += 1;
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|e| format!("line {number}: {e}"))?;
        if read == 0 {
            return Ok(chains);
        }
        bar.inc(read as u64);
        if line.trim().is_empty() {
            continue;
        }
        let record = parse_ndjson_line(line.trim_end_matches(['\n', '\r']))
            .map_err(|e| format!("line {number}: {e}"))?;
        chains.entry(record.chain.clone()).or_default().push(record);
    }
}

/// Walks one chain in `seq` order. The head is its last record: a full export ends
/// at the chain's head, as the endpoint reports it.
fn verify_chain(records: &mut [ChainedEvent]) -> VerifyReport {
    records.sort_by_key(|r| r.seq);
    let mut verifier = ChainVerifier::new(None, None);
    for record in &*records {
        if !verifier.feed(record) {
            break;
        }
    }
    verifier.finish(records.last().map(ChainedEvent::head))
}

/// The endpoint's verdict, field for field: the very type it answers with.
fn verdict_json(chain: &str, r: VerifyReport) -> Result<String, String> {
    serde_json::to_string(&VerifyResponse::from_report(chain.to_owned(), r))
        .map_err(|e| e.to_string())
}

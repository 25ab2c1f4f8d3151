//! `igctl audit verify-file`: re-verifies an NDJSON export offline and prints one
//! verdict per chain, in the shape of `GET /v1/admin/audit/verify`.
//!
//! An export is newest first and interleaves chains, so records are grouped by their
//! `chain` and sorted by `seq` before the walk. The first record of each chain is
//! trusted to carry the right `prev_hash` (its predecessor may predate the export),
//! exactly as in a windowed verify; every later link and every body is checked.
//!
//! With `--key`, each chain must also come with its proof bundle (an export made with
//! `proofs=true`): the checkpoint must open with the key as that chain's, and the
//! inclusion proof must place the chain's newest record in its tree. Since the walk
//! links every exported record to the newest, that pins them all to the signed head.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use indicatif::ProgressBar;
use intentgate::adapters::http::admin::{VerifiedCheckpoint, VerifyResponse};
use intentgate::domain::audit::bundle::{BUNDLE_PREFIX, ProofBundle};
use intentgate::domain::audit::export::parse_ndjson_line;
use intentgate::domain::audit::{ChainVerifier, ChainedEvent, VerifyReport};

use crate::Done;
use crate::progress::bytes_bar;

#[derive(Args)]
pub struct VerifyFileArgs {
    /// The `.ndjson` file.
    file: PathBuf,
    /// The log's verifier key (`igctl audit log-key`, or `verifier_key` from
    /// `GET /v1/admin/audit/checkpoint`): also check every chain's proof bundle.
    #[arg(long)]
    key: Option<String>,
}

/// Records of one file, by chain name (ascending), and its proof bundles.
#[derive(Default)]
struct Contents {
    chains: BTreeMap<String, Vec<ChainedEvent>>,
    bundles: BTreeMap<String, ProofBundle>,
}

/// Verdicts on stdout, one JSON object per line; why a bundle failed on stderr; exits
/// 1 when any chain is broken or (with `--key`) not vouched for.
pub fn verify_file(args: &VerifyFileArgs) -> Result<Done, String> {
    let Contents { chains, bundles } = read_file(&args.file)?;
    if args.key.is_none() && !bundles.is_empty() {
        eprintln!("note: the file's proof bundles were not checked (no --key)");
    }
    let mut all_ok = true;
    let mut verdicts = Vec::with_capacity(chains.len());
    for (chain, mut records) in chains {
        let report = verify_chain(&mut records);
        let mut verdict = VerifyResponse::from_report(chain.clone(), report);
        if let Some(key) = &args.key {
            check_bundle(&mut verdict, bundles.get(&chain), key, records.last());
        }
        all_ok &= verdict.ok;
        verdicts.push(serde_json::to_string(&verdict).map_err(|e| e.to_string())?);
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

fn read_file(path: &Path) -> Result<Contents, String> {
    let fail = |e: String| format!("{}: {e}", path.display());
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let size = file.metadata().map_err(|e| fail(e.to_string()))?.len();
    let bar = bytes_bar(Some(size));
    let contents = read_lines(BufReader::new(file), &bar);
    bar.finish_and_clear();
    contents.map_err(fail)
}

/// Reads line by line; blank lines are skipped, any other unreadable line is an
/// error naming its (1-based) number.
fn read_lines(mut reader: impl BufRead, bar: &ProgressBar) -> Result<Contents, String> {
    let mut contents = Contents::default();
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        number += 1;
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|e| format!("line {number}: {e}"))?;
        if read == 0 {
            return Ok(contents);
        }
        bar.inc(read as u64);
        let text = line.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let at = |e: String| format!("line {number}: {e}");
        if text.starts_with(BUNDLE_PREFIX) {
            let bundle = ProofBundle::parse(text).map_err(|e| at(e.to_string()))?;
            contents.bundles.insert(bundle.chain.clone(), bundle);
            continue;
        }
        let record = parse_ndjson_line(text).map_err(at)?;
        let chain = contents.chains.entry(record.chain.clone()).or_default();
        chain.push(record);
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

/// Adds the bundle's checkpoint to the verdict; a missing or failing bundle makes the
/// chain fail, with the reason on stderr.
fn check_bundle(
    verdict: &mut VerifyResponse,
    bundle: Option<&ProofBundle>,
    key: &str,
    newest: Option<&ChainedEvent>,
) {
    let (Some(bundle), Some(newest)) = (bundle, newest) else {
        eprintln!(
            "chain {:?}: the file has no proof bundle for it",
            verdict.tenant
        );
        verdict.ok = false;
        return;
    };
    let checked = bundle.check(key, newest);
    if let Err(e) = &checked {
        eprintln!("chain {:?}: {e}", verdict.tenant);
        verdict.ok = false;
    }
    // A failed check still shows what the note claims, to compare with a kept copy.
    let claimed_root = bundle.checkpoint.lines().nth(2).unwrap_or_default();
    verdict.checkpoint = Some(VerifiedCheckpoint {
        tree_size: checked
            .as_ref()
            .map_or(bundle.tree_size, |opened| opened.size),
        root_hash: checked.as_ref().map_or_else(
            |_| claimed_root.to_owned(),
            |opened| STANDARD.encode(opened.root.0),
        ),
        matched: Some(checked.is_ok()),
        checkpoint: bundle.checkpoint.clone(),
        issued_at: None,
    });
}

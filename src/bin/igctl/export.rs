//! `igctl audit export`: streams `GET /v1/admin/audit/export` into a file chunk by
//! chunk, so an export of any size never sits in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::ProgressBar;
use reqwest::{Method, Response};

use crate::admin::{Admin, AuditFilters, GatewayArgs, QueryString};
use crate::progress::bytes_bar;

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    gateway: GatewayArgs,
    #[command(flatten)]
    filters: AuditFilters,
    /// `csv` (the gateway's default) or `json` (NDJSON, checkable with `verify-file`).
    #[arg(long, value_parser = ["csv", "json"])]
    format: Option<String>,
    /// End each chain with a proof bundle (needs `--format json`), so
    /// `verify-file --key` can check the records against a signed checkpoint.
    #[arg(long)]
    proofs: bool,
    /// The file to write (created or truncated).
    #[arg(long)]
    out: PathBuf,
}

/// Writes the export to `--out`; reports the size on stderr and prints nothing.
pub async fn export(args: ExportArgs) -> Result<String, String> {
    let mut q = QueryString::default();
    q.add("format", args.format.as_deref());
    q.add("proofs", args.proofs.then_some("true"));
    args.filters.add_to(&mut q);
    let path = format!("/v1/admin/audit/export{}", q.as_str());
    let admin = Admin::new(args.gateway)?;
    let mut response = admin.send(Method::GET, &path, None).await?;
    let bar = bytes_bar(response.content_length());
    let copied = copy(&mut response, &args.out, &bar).await;
    bar.finish_and_clear();
    let written = copied?;
    eprintln!("wrote {written} bytes to {}", args.out.display());
    Ok(String::new())
}

/// Copies the body to `out` as it arrives, through `<out>.partial` renamed at the end:
/// an export is newest first, so a cut-short file would lack the oldest rows and still
/// verify; a failed download therefore leaves no `out` at all.
async fn copy(response: &mut Response, out: &Path, bar: &ProgressBar) -> Result<u64, String> {
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let result = copy_to(response, &partial, bar).await;
    let renamed = result.and_then(|n| {
        std::fs::rename(&partial, out)
            .map(|()| n)
            .map_err(|e| format!("{}: {e}", out.display()))
    });
    if renamed.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    renamed
}

/// The file is created only once the gateway has answered 200.
async fn copy_to(response: &mut Response, out: &Path, bar: &ProgressBar) -> Result<u64, String> {
    let fail = |e: std::io::Error| format!("{}: {e}", out.display());
    let mut file = BufWriter::new(File::create(out).map_err(fail)?);
    let mut written = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading the export: {e}"))?
    {
        file.write_all(&chunk).map_err(fail)?;
        let n = chunk.len() as u64;
        written += n;
        bar.inc(n);
    }
    file.flush().map_err(fail)?;
    Ok(written)
}

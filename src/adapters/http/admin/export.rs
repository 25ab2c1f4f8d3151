//! The streamed audit export: pages are read from the store while the body is being
//! written, so memory stays flat whatever the size.

use std::collections::BTreeMap;
use std::sync::Arc;

use poem::{Body, IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::ResponseContent;
use poem_openapi::registry::{MetaMediaType, MetaSchema, MetaSchemaRef};

use super::errors::ApiError;
use crate::app::Gateway;
use crate::app::admin::AuditPages;
use crate::domain::audit::export::{csv_header, csv_row, ndjson_line};
use crate::domain::audit::{AuditQuery, ChainedEvent};

/// Most rows one export returns (the reference's cap).
pub const EXPORT_CAP: u64 = 200_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Ndjson,
}

impl ExportFormat {
    /// `csv` (default) or `json`, exactly as the document lists them.
    pub fn parse(value: &str) -> Result<Self, ApiError> {
        match value {
            "" | "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Ndjson),
            _ => Err(ApiError::BadRequest(
                "format must be 'csv' or 'json'".into(),
            )),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Ndjson => "application/x-ndjson",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Ndjson => "ndjson",
        }
    }
}

#[derive(ApiResponse)]
pub enum ExportResponse {
    /// The file: CSV with a header row, or one JSON event per line.
    #[oai(status = 200)]
    File(
        ExportFile,
        /// `attachment; filename="intentgate-audit-<tenant|all>-<UTC time>.<ext>"`
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

pub struct ExportFile {
    body: Body,
    format: ExportFormat,
}

impl IntoResponse for ExportFile {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(self.format.content_type())
            .body(self.body)
    }
}

impl ResponseContent for ExportFile {
    fn media_types() -> Vec<MetaMediaType> {
        let text = || MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")));
        vec![
            MetaMediaType {
                content_type: ExportFormat::Csv.content_type(),
                schema: text(),
            },
            MetaMediaType {
                content_type: ExportFormat::Ndjson.content_type(),
                schema: text(),
            },
        ]
    }
}

/// Reads the first page before answering (a store error is still a JSON 503), then
/// streams the rest.
pub async fn export(
    gateway: Arc<Gateway>,
    mut query: AuditQuery,
    format: ExportFormat,
    proofs: bool,
) -> Result<ExportResponse, ApiError> {
    let scope = filename_part(query.tenant.tenant().unwrap_or("all"));
    // Offset paging over a newest-first list is stable only if no row can enter the
    // result while we page: events written from now on are past this bound.
    let now = gateway.clock.now();
    query.to = Some(query.to.map_or(now, |to| to.min(now)));
    let mut pages = AuditPages::new(query, EXPORT_CAP);
    let first = pages.next(gateway.stores.audit.as_ref()).await?;
    let stamp = gateway.clock.now().to_compact_utc();
    let disposition = format!(
        "attachment; filename=\"intentgate-audit-{scope}-{stamp}.{}\"",
        format.extension()
    );
    let mut head = String::new();
    if format == ExportFormat::Csv {
        csv_header(&mut head);
    }
    let state = Stream {
        gateway,
        pages,
        next: Some(first),
        format,
        scope,
        newest: proofs.then(BTreeMap::new),
    };
    let chunks = futures_util::stream::unfold(state, Stream::step);
    let head = futures_util::stream::iter([Ok::<_, std::io::Error>(head.into_bytes())]);
    let body = Body::from_bytes_stream(futures_util::StreamExt::chain(head, chunks));
    Ok(ExportResponse::File(
        ExportFile { body, format },
        disposition,
    ))
}

struct Stream {
    gateway: Arc<Gateway>,
    pages: AuditPages,
    next: Option<Vec<ChainedEvent>>,
    format: ExportFormat,
    scope: String,
    /// With proofs: each exported chain's newest record (`seq`, hash) so far.
    newest: Option<BTreeMap<String, (u64, String)>>,
}

impl Stream {
    /// Renders the page in hand while the next is fetched (the fetch is polled first, so
    /// a store reading on another thread or over the network overlaps the rendering);
    /// ends on an empty page. A store error mid-stream can only end the body early
    /// (headers are sent): it is logged.
    async fn step(mut self) -> Option<(std::io::Result<Vec<u8>>, Self)> {
        let page = self.next.take()?;
        if page.is_empty() {
            return self.bundles().await.map(|out| (out, self));
        }
        if let Some(newest) = &mut self.newest {
            note_newest(newest, &page);
        }
        let format = self.format;
        let (next, out) =
            tokio::join!(self.pages.next(self.gateway.stores.audit.as_ref()), async {
                render(&page, format)
            },);
        match next {
            Ok(next) => self.next = Some(next),
            Err(e) => {
                // Headers are sent: the only honest signal left is an aborted body,
                // so a client never mistakes a cut-short file for a complete one.
                tracing::error!(error = %e, "audit export aborted: store error");
                return Some((Err(std::io::Error::other(e.to_string())), self));
            }
        }
        if self.next.as_ref().is_some_and(Vec::is_empty) && self.pages.hit_cap() {
            tracing::warn!(cap = EXPORT_CAP, tenant = %self.scope, format = ?self.format,
                "audit export hit row cap");
            crate::instruments::export_truncated();
        }
        Some((Ok(out.into_bytes()), self))
    }
}

impl Stream {
    /// After the last row: one proof bundle line per exported chain (when asked for),
    /// then the end. A chain that cannot get one aborts the body, as a store error does.
    async fn bundles(&mut self) -> Option<std::io::Result<Vec<u8>>> {
        let newest = self.newest.take()?;
        let mut out = String::new();
        for (chain, (seq, hash)) in newest {
            match self.gateway.transparency.bundle(&chain, seq, &hash).await {
                Ok(bundle) => out.push_str(&bundle.to_line()),
                Err(e) => {
                    tracing::error!(error = %e, chain, "audit export aborted: no proof bundle");
                    return Some(Err(std::io::Error::other(e.to_string())));
                }
            }
        }
        Some(Ok(out.into_bytes()))
    }
}

fn note_newest(newest: &mut BTreeMap<String, (u64, String)>, page: &[ChainedEvent]) {
    for rec in page {
        match newest.get_mut(&rec.chain) {
            Some(slot) if rec.seq <= slot.0 => {}
            Some(slot) => *slot = (rec.seq, rec.hash.clone()),
            None => {
                newest.insert(rec.chain.clone(), (rec.seq, rec.hash.clone()));
            }
        }
    }
}

fn render(page: &[ChainedEvent], format: ExportFormat) -> String {
    let mut out = String::with_capacity(page.len() * 512);
    for rec in page {
        match format {
            ExportFormat::Csv => csv_row(&mut out, rec),
            ExportFormat::Ndjson => ndjson_line(&mut out, rec),
        }
    }
    out
}

/// A tenant as it may stand in a file name inside a quoted header value: anything
/// but letters, digits, `.`, `_` and `-` becomes `_` (a quote or a control character
/// would break the header, or drop it).
fn filename_part(tenant: &str) -> String {
    tenant
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                true => c,
                false => '_',
            },
        )
        .collect()
}

#[cfg(test)]
mod filename_tests {
    use super::filename_part;

    #[test]
    fn tenants_cannot_break_the_disposition_header() {
        assert_eq!(filename_part("acme"), "acme");
        assert_eq!(filename_part("a\"b\u{1}c d/é"), "a_b_c_d__");
    }
}

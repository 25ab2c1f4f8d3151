//! What the outbound HTTP clients share (tool server, extractor, SIEM): a bounded body
//! read and Go-style error texts.

/// Largest response body read from the tool server or the extractor.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Reads at most `limit` bytes of the body; `Ok(None)` when it is longer.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// An error with its causes, like Go prints wrapped errors
/// (`error sending request: connection refused`).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

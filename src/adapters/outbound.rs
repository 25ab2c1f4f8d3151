//! What the outbound HTTP clients share (tool server, extractor, SIEM): a bounded body
//! read and Go-style error texts.

/// Largest response body read from the tool server or the extractor.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Reads at most `limit` bytes of a body; `Ok(None)` when it is longer. Trailers are
/// skipped. A reqwest response's body is `http::Response::from(response).into_body()`.
pub(crate) async fn read_capped<B>(mut body: B, limit: usize) -> Result<Option<Vec<u8>>, B::Error>
where
    B: hyper::body::Body<Data = bytes::Bytes> + Unpin,
{
    use http_body_util::BodyExt as _;
    let mut read = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(chunk) = frame?.into_data() else {
            continue;
        };
        if read.len() + chunk.len() > limit {
            return Ok(None);
        }
        read.extend_from_slice(&chunk);
    }
    Ok(Some(read))
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

//! How one HTTP exchange with a SIEM becomes a delivery outcome, shared by every
//! destination so they classify failures alike (reference `httpFlusher`).

use crate::adapters::outbound::error_chain;

/// Most bytes of an error answer's body kept in the error (and so in `last_error`).
pub const ERROR_BODY_LIMIT: usize = 256;

/// Why a batch was not delivered. The text goes to `last_error` and the logs, so it
/// never contains credentials.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Transport failure, timeout, 429 or 5xx: a later batch may well get through.
    #[error("transient: {0}")]
    Transient(String),
    /// Any other status of 400 or more (credentials, rejected format): needs an operator.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl DeliveryError {
    /// A request that got no HTTP answer (connect, TLS, timeout) is always transient.
    pub fn transport(err: &reqwest::Error) -> Self {
        Self::Transient(error_chain(err))
    }

    /// Classifies a status of 400 or more: 429 and 5xx are transient, the rest
    /// permanent. The text is `HTTP <status>` plus the body's first 256 bytes.
    pub fn from_status(status: u16, body: &[u8]) -> Self {
        let body = &body[..body.len().min(ERROR_BODY_LIMIT)];
        let snippet = String::from_utf8_lossy(body);
        let snippet = snippet.trim();
        let text = if snippet.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {snippet}")
        };
        if status == 429 || status >= 500 {
            Self::Transient(text)
        } else {
            Self::Permanent(text)
        }
    }

    /// The same error with `context: ` in front of its text, keeping its class.
    pub fn context(self, context: &str) -> Self {
        match self {
            Self::Transient(text) => Self::Transient(format!("{context}: {text}")),
            Self::Permanent(text) => Self::Permanent(format!("{context}: {text}")),
        }
    }
}

/// Sends the request; `Ok` when the answer's status is below 400 (Go's rule).
pub async fn send(request: reqwest::RequestBuilder) -> Result<(), DeliveryError> {
    let response = request
        .send()
        .await
        .map_err(|e| DeliveryError::transport(&e))?;
    check_status(response).await?;
    Ok(())
}

/// Hands the response back when its status is below 400; otherwise reads the start of
/// the body and classifies the failure.
pub async fn check_status(response: reqwest::Response) -> Result<reqwest::Response, DeliveryError> {
    let status = response.status().as_u16();
    if status < 400 {
        return Ok(response);
    }
    let body = read_prefix(response, ERROR_BODY_LIMIT).await;
    Err(DeliveryError::from_status(status, &body))
}

/// The start of the body: at least `limit` bytes when it has that many (the caller
/// cuts). A read error ends it early; the status alone still explains the failure.
async fn read_prefix(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_like_the_reference() {
        assert_eq!(
            DeliveryError::from_status(500, b" boom\n"),
            DeliveryError::Transient("HTTP 500: boom".into())
        );
        assert_eq!(
            DeliveryError::from_status(429, b""),
            DeliveryError::Transient("HTTP 429".into())
        );
        assert_eq!(
            DeliveryError::from_status(403, b"no"),
            DeliveryError::Permanent("HTTP 403: no".into())
        );
    }

    #[test]
    fn bodies_are_cut_at_256_bytes() {
        let body = "x".repeat(300);
        let err = DeliveryError::from_status(400, body.as_bytes());
        assert_eq!(
            err.to_string(),
            format!("permanent: HTTP 400: {}", "x".repeat(256))
        );
    }
}

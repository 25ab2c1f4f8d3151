//! The tool server's URL as the client uses it: where requests go, the credentials it
//! carries, and how error texts quote it.

use super::UpstreamClientError;
use crate::domain::credentials::mask_url_password;

/// The tool server's URL, split for use.
pub(super) struct Target {
    /// Where requests go: the URL without credentials or fragment.
    pub uri: http::Uri,
    /// `Authorization: Basic` from credentials in the URL, as Go and reqwest send them.
    pub basic_auth: Option<http::HeaderValue>,
    /// The URL as error texts (and so audit reasons) quote it, its password masked as
    /// Go masks it: `Post "http://agent:***@tools/"`.
    pub quoted: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Self, UpstreamClientError> {
        let invalid = |reason: String| UpstreamClientError::Url {
            url: mask_url_password(url),
            reason,
        };
        // Parsed as a URL first: that validates and normalizes it as before.
        let mut parsed = reqwest::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        parsed.set_fragment(None);
        let basic_auth = basic_auth(&parsed);
        let mut quoted = parsed.clone();
        if quoted.password().is_some() {
            let _ = quoted.set_password(Some("***"));
        }
        // Both fail only for URLs that cannot carry credentials, which then have none.
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        let uri = parsed
            .as_str()
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(e.to_string()))?;
        Ok(Self {
            uri,
            basic_auth,
            quoted: quoted.to_string(),
        })
    }
}

fn basic_auth(url: &reqwest::Url) -> Option<http::HeaderValue> {
    use base64::Engine as _;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decoded = |part: &str| percent_encoding::percent_decode_str(part).collect::<Vec<u8>>();
    let mut pair = decoded(url.username());
    pair.push(b':');
    pair.extend(decoded(url.password().unwrap_or_default()));
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
    let mut value = http::HeaderValue::try_from(format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

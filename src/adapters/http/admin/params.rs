//! The reference's tolerant query parameters.

use super::errors::ApiError;
use crate::app::admin::Caller;
use crate::domain::gojson::go_quote;
use crate::domain::time::Timestamp;

/// `parseIntParam`: missing or non-integer → default; then clamped into [min, max].
pub fn int_param(value: Option<&str>, default: i64, min: i64, max: i64) -> i64 {
    value
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(default)
        .clamp(min, max)
}

/// `limit` (default 100, 1..=1000) and `offset` (default 0, 0..=2^31-1).
pub fn page(limit: Option<&str>, offset: Option<&str>) -> (u32, u64) {
    let limit = int_param(limit, 100, 1, 1000);
    let offset = int_param(offset, 0, 0, i64::from(i32::MAX));
    (
        u32::try_from(limit).unwrap_or(100),
        u64::try_from(offset).unwrap_or(0),
    )
}

/// An optional RFC 3339 bound named `from` or `to`.
pub fn time_param(value: Option<&str>, name: &str) -> Result<Option<Timestamp>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => Timestamp::parse_rfc3339(v).map(Some).map_err(|_| {
            ApiError::BadRequest(format!(
                "invalid '{name}' timestamp: parsing time {} as \"2006-01-02T15:04:05Z07:00\": \
                     not an RFC 3339 time",
                go_quote(v)
            ))
        }),
    }
}

/// The tenant a query-scoped operation acts on.
pub fn query_tenant(caller: &Caller, requested: &str) -> Result<String, ApiError> {
    caller
        .scope(requested)
        .map_err(|_| ApiError::forbidden_query())
}

/// The tenant a body-scoped operation acts on.
pub fn body_tenant(caller: &Caller, requested: &str) -> Result<String, ApiError> {
    caller
        .scope(requested)
        .map_err(|_| ApiError::forbidden_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_clamp_like_the_reference() {
        assert_eq!(page(Some("0"), None), (1, 0));
        assert_eq!(page(Some("99999"), Some("-4")), (1000, 0));
        assert_eq!(page(Some("abc"), Some("x")), (100, 0));
        assert_eq!(page(None, Some("7")), (100, 7));
    }

    #[test]
    fn bad_times_name_their_parameter() {
        let e = time_param(Some("not-a-date"), "from").unwrap_err();
        assert!(
            e.to_string().starts_with("invalid 'from' timestamp: "),
            "{e}"
        );
        assert_eq!(time_param(None, "to").unwrap(), None);
    }
}

//! The reference's tolerant query parameters.

use super::errors::ApiError;
use crate::app::admin::Caller;
use crate::domain::gojson::go_quote;
use crate::domain::time::Timestamp;

/// `parseIntParam`: missing → default; then clamped into [min, max]. Text that is not
/// an integer is refused (the reference read it as the default; the document says
/// integer, and a client that sends something else has a bug worth hearing about).
pub fn int_param(
    value: Option<&str>,
    name: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ApiError> {
    let parsed = match value {
        None => default,
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| ApiError::BadRequest(format!("{name} must be an integer")))?,
    };
    Ok(parsed.clamp(min, max))
}

/// `limit` (default 100, 1..=1000) and `offset` (default 0, 0..=2^31-1).
pub fn page(limit: Option<&str>, offset: Option<&str>) -> Result<(u32, u64), ApiError> {
    let limit = int_param(limit, "limit", 100, 1, 1000)?;
    let offset = int_param(offset, "offset", 0, 0, i64::from(i32::MAX))?;
    Ok((
        u32::try_from(limit).unwrap_or(100),
        u64::try_from(offset).unwrap_or(0),
    ))
}

/// A boolean flag: `true` or `false` (absent is false).
pub fn flag(value: Option<&str>, name: &str) -> Result<bool, ApiError> {
    match value {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::BadRequest(format!(
            "{name} must be true or false"
        ))),
    }
}

/// A filter from a fixed vocabulary; empty means no filter.
pub fn one_of(
    value: Option<&str>,
    name: &str,
    allowed: &[&str],
) -> Result<Option<String>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_owned())),
        Some(_) => Err(ApiError::BadRequest(format!(
            "{name} must be one of {}",
            allowed.join(", ")
        ))),
    }
}

/// An optional RFC 3339 bound named `from` or `to`.
pub fn time_param(value: Option<&str>, name: &str) -> Result<Option<Timestamp>, ApiError> {
    match value {
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
    fn limits_clamp_like_the_reference_and_refuse_what_is_not_a_number() {
        assert_eq!(page(Some("0"), None).unwrap(), (1, 0));
        assert_eq!(page(Some("99999"), Some("-4")).unwrap(), (1000, 0));
        assert_eq!(page(None, Some("7")).unwrap(), (100, 7));
        let e = page(Some("abc"), None).unwrap_err();
        assert_eq!(e.to_string(), "limit must be an integer");
        assert!(page(None, Some("1.5")).is_err());
    }

    #[test]
    fn flags_and_vocabularies_are_checked() {
        assert!(flag(Some("true"), "count").unwrap());
        assert!(!flag(None, "count").unwrap());
        assert!(flag(Some("yes"), "count").is_err());
        let allowed = ["csv", "json"];
        assert_eq!(
            one_of(Some("json"), "format", &allowed).unwrap().as_deref(),
            Some("json")
        );
        assert_eq!(one_of(Some(""), "format", &allowed).unwrap(), None);
        assert!(one_of(Some("xml"), "format", &allowed).is_err());
    }

    #[test]
    fn bad_times_name_their_parameter() {
        let e = time_param(Some("not-a-date"), "from").unwrap_err();
        assert!(
            e.to_string().starts_with("invalid 'from' timestamp: "),
            "{e}"
        );
        assert_eq!(time_param(None, "to").unwrap(), None);
        assert!(
            time_param(Some(""), "to").is_err(),
            "the document says date-time"
        );
    }
}

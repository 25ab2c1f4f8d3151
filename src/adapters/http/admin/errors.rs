//! Admin API errors: one enum, one table mapping each to its HTTP status and stable
//! code. Bodies are the reference's `{"error":"<message>"}`; the stable code travels in
//! the `X-IntentGate-Error-Code` header so the body stays byte-identical.

use poem::http::StatusCode;
use poem_openapi::Object;
use serde::Serialize;

use super::dto::PendingRequest;
use crate::adapters::http::encoded::Encoded;
use crate::adapters::http::wire::go_json;
use crate::app::TransparencyError;
use crate::app::admin::approvals::DecideError;
use crate::app::admin::policies::PolicyError;
use crate::app::admin::tokens::TokenError;
use crate::domain::approval::Approval;
use crate::domain::audit::merkle::TreeError;
use crate::ports::StoreError;

/// Header carrying the stable error code.
pub const ERROR_CODE_HEADER: &str = "X-IntentGate-Error-Code";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid or missing admin token")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("already decided")]
    AlreadyDecided(Box<Approval>),
    /// A dependency is switched off or unreachable.
    #[error("{0}")]
    Unavailable(String),
    /// The body names no driver detail (it may hold hosts, SQL or paths); the log does.
    #[error("store error: the store could not answer; details are in the gateway log")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub const TENANT_QUERY: &str = "tenant in query does not match admin token's tenant";
    pub const TENANT_BODY: &str = "tenant in body does not match admin token's tenant";

    pub fn forbidden_query() -> Self {
        Self::Forbidden(Self::TENANT_QUERY.into())
    }

    pub fn forbidden_body() -> Self {
        Self::Forbidden(Self::TENANT_BODY.into())
    }

    /// The one table: status and stable code of every error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "tenant_mismatch"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::AlreadyDecided(_) => (StatusCode::CONFLICT, "already_decided"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_error"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// Logs what the body leaves out: the cause of a store failure.
    pub fn log_cause(&self) {
        if let Self::Store(cause) = self {
            tracing::error!(error = %cause, "admin request failed: store error");
        }
    }

    /// The reference's body for this error, newline included.
    pub fn body(&self) -> String {
        match self {
            Self::AlreadyDecided(current) => go_json(&ErrorResponse {
                current: Some(Encoded::new(current.to_json())),
                error: self.to_string(),
            }),
            _ => go_json(&ErrorResponse {
                current: None,
                error: self.to_string(),
            }),
        }
    }
}

/// The policy use-cases' errors in the table's terms.
impl From<PolicyError> for ApiError {
    fn from(e: PolicyError) -> Self {
        use PolicyError as P;
        match e {
            P::MissingSource | P::Compile(_) | P::MissingDraftId => Self::BadRequest(e.to_string()),
            P::TenantMismatch => Self::forbidden_body(),
            P::DraftNotFound | P::NothingToRollBack => Self::NotFound(e.to_string()),
            P::DraftInUse => Self::Conflict(e.to_string()),
            P::PreviousDraftMissing => Self::Unavailable(e.to_string()),
            P::EngineSwap { .. } | P::Randomness(_) => Self::Internal(e.to_string()),
            P::Store(cause) => Self::Store(cause),
        }
    }
}

/// The audit tree's errors in the table's terms: a size or position the tree does not
/// have (yet) is not found; a tree that cannot be grown or signed is the gateway's.
impl From<TransparencyError> for ApiError {
    fn from(e: TransparencyError) -> Self {
        match e {
            TransparencyError::Store(cause) => Self::Store(cause),
            TransparencyError::Tree(TreeError::OutOfRange(message)) => Self::NotFound(message),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// The token use-cases' errors in the table's terms.
impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        use TokenError as T;
        match e {
            T::MissingSubject | T::NegativeTtl | T::NegativeMaxCalls | T::MissingJti => {
                Self::BadRequest(e.to_string())
            }
            T::TenantMismatch => Self::forbidden_body(),
            T::NotRecorded => Self::Unavailable(e.to_string()),
            T::Randomness(_) => Self::Internal(e.to_string()),
            T::Store(cause) => Self::Store(cause),
        }
    }
}

/// The approval decision's errors in the table's terms.
impl From<DecideError> for ApiError {
    fn from(e: DecideError) -> Self {
        match e {
            DecideError::NotConfigured => Self::Unavailable(e.to_string()),
            DecideError::MissingId => Self::BadRequest(e.to_string()),
            DecideError::NotFound => Self::NotFound(e.to_string()),
            DecideError::AlreadyDecided(row) => Self::AlreadyDecided(row),
            DecideError::Store(cause) => Self::Store(cause),
        }
    }
}

/// Every admin error body. `current` is present only on the 409 of a decision on a
/// row that is no longer pending.
#[derive(Object, Serialize)]
pub struct ErrorResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Encoded<PendingRequest>>,
    pub error: String,
}

/// Declares an operation's error responses: one variant per documented status, each
/// with the JSON error body and the stable-code header.
macro_rules! api_errors {
    ($(#[$doc:meta])* $name:ident { $($status:literal $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(poem_openapi::ApiResponse)]
        pub enum $name {
            $(
                #[oai(status = $status)]
                $variant(
                    $crate::adapters::http::wire::GoJson<$crate::adapters::http::admin::errors::ErrorResponse>,
                    #[oai(header = "X-IntentGate-Error-Code")] String,
                ),
            )+
            /// A status this operation does not normally answer with.
            #[oai(status_range = "5XX")]
            Unlisted(
                poem::http::StatusCode,
                $crate::adapters::http::wire::GoJson<$crate::adapters::http::admin::errors::ErrorResponse>,
            ),
        }

        impl From<$crate::adapters::http::admin::errors::ApiError> for $name {
            fn from(e: $crate::adapters::http::admin::errors::ApiError) -> Self {
                e.log_cause();
                let (status, code) = e.status_and_code();
                let body = $crate::adapters::http::wire::GoJson::encoded(e.body());
                match status.as_u16() {
                    $($status => Self::$variant(body, code.to_owned()),)+
                    _ => Self::Unlisted(status, body),
                }
            }
        }
    };
}

pub(crate) use api_errors;

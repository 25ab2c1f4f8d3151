//! The one infrastructure error every storage port returns.
//!
//! `Err` means "the store could not answer"; expected outcomes (conflicts, already
//! decided, head moved) are values in each port's `Ok` type. Messages never contain
//! connection strings or secrets: adapters build them from the operation and the
//! driver's error kind only.

use std::error::Error;

pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or timed out; retrying later may work.
    #[error("{backend} store unavailable: {message}")]
    Unavailable {
        backend: &'static str,
        message: String,
    },
    /// Stored data failed an integrity check on read.
    #[error("{backend} store holds corrupted data: {message}")]
    Corrupted {
        backend: &'static str,
        message: String,
    },
    /// The caller broke a documented precondition (a bug, not a transient fault).
    #[error("invalid store request: {0}")]
    InvalidRequest(String),
    /// Any other backend failure.
    #[error("{backend} store error: {source}")]
    Backend {
        backend: &'static str,
        #[source]
        source: BoxError,
    },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A run no store may append is the caller's broken precondition.
impl From<crate::domain::audit::InvalidRun> for StoreError {
    fn from(e: crate::domain::audit::InvalidRun) -> Self {
        Self::InvalidRequest(e.to_string())
    }
}

/// A tree growth no store may write is the caller's broken precondition.
impl From<crate::domain::audit::merkle::TreeError> for StoreError {
    fn from(e: crate::domain::audit::merkle::TreeError) -> Self {
        Self::InvalidRequest(e.to_string())
    }
}

impl StoreError {
    /// An error with the same message, for answering every caller of a batched write
    /// that failed once.
    pub fn duplicate(&self) -> Self {
        match self {
            Self::Unavailable { backend, message } => Self::Unavailable {
                backend,
                message: message.clone(),
            },
            Self::Corrupted { backend, message } => Self::Corrupted {
                backend,
                message: message.clone(),
            },
            Self::InvalidRequest(message) => Self::InvalidRequest(message.clone()),
            Self::Backend { backend, source } => Self::Backend {
                backend,
                source: source.to_string().into(),
            },
        }
    }
}

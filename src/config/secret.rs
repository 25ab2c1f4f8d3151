//! The database URL, whose password is masked whenever it is shown.

use std::fmt;

use crate::domain::credentials::{Secret, mask_url_password};

/// A database URL whose password is masked when shown.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(Secret);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(Secret::new(url))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The URL with any password replaced by `***` (URL or `key=value` form).
    pub fn redacted(&self) -> String {
        let url = self.expose();
        if url.contains("://") {
            return mask_url_password(url);
        }
        url.split_whitespace()
            .map(|kv| {
                if kv.starts_with("password=") {
                    "password=***"
                } else {
                    kv
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let url = DatabaseUrl::new("postgres://app:s3cret@db:5432/ig");
        assert_eq!(
            format!("{url:?}"),
            r#"DatabaseUrl("postgres://app:***@db:5432/ig")"#
        );
        let dsn = DatabaseUrl::new("host=db user=app password=s3cret");
        assert!(!format!("{dsn:?}").contains("s3cret"));
    }
}

use async_trait::async_trait;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::{db_error, from_sql_time, to_sql_time};
use crate::domain::mcp::{McpSession, SessionOwner};
use crate::domain::time::Timestamp;
use crate::ports::{SessionCreated, SessionStore, StoreResult};

pub(super) struct PgSessions(pub PgPool);

type Row = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    OffsetDateTime,
    OffsetDateTime,
);

fn session(r: Row) -> McpSession {
    McpSession {
        id: r.0,
        owner: SessionOwner {
            tenant: r.1,
            subject: r.2,
            root_jti: r.3,
        },
        upstream_id: r.4,
        protocol_version: r.5,
        created_at: from_sql_time(r.6),
        expires_at: from_sql_time(r.7),
    }
}

#[async_trait]
impl SessionStore for PgSessions {
    async fn create(&self, s: &McpSession) -> StoreResult<SessionCreated> {
        let inserted = sqlx::query(
            "INSERT INTO mcp_sessions
               (id, tenant, subject, root_jti, upstream_id, protocol_version, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&s.id)
        .bind(&s.owner.tenant)
        .bind(&s.owner.subject)
        .bind(&s.owner.root_jti)
        .bind(&s.upstream_id)
        .bind(&s.protocol_version)
        .bind(to_sql_time(s.created_at))
        .bind(to_sql_time(s.expires_at))
        .execute(&self.0)
        .await
        .map_err(db_error)?;
        Ok(match inserted.rows_affected() {
            0 => SessionCreated::AlreadyExists,
            _ => SessionCreated::Created,
        })
    }

    async fn get(&self, id: &str, now: Timestamp) -> StoreResult<Option<McpSession>> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, tenant, subject, root_jti, upstream_id, protocol_version, created_at, expires_at
             FROM mcp_sessions WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(to_sql_time(now))
        .fetch_optional(&self.0)
        .await
        .map_err(db_error)?;
        Ok(row.map(session))
    }

    async fn renew(&self, id: &str, now: Timestamp, expires_at: Timestamp) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE mcp_sessions SET expires_at = GREATEST(expires_at, $3)
             WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(to_sql_time(now))
        .bind(to_sql_time(expires_at))
        .execute(&self.0)
        .await
        .map_err(db_error)?;
        Ok(updated.rows_affected() > 0)
    }

    async fn delete(&self, id: &str) -> StoreResult<bool> {
        let deleted = sqlx::query("DELETE FROM mcp_sessions WHERE id = $1")
            .bind(id)
            .execute(&self.0)
            .await
            .map_err(db_error)?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn evict_beyond(
        &self,
        owner: &SessionOwner,
        keep: usize,
        now: Timestamp,
    ) -> StoreResult<Vec<McpSession>> {
        let rows: Vec<Row> = sqlx::query_as(
            "DELETE FROM mcp_sessions WHERE id IN (
               SELECT id FROM mcp_sessions
               WHERE tenant = $1 AND subject = $2 AND root_jti = $3 AND expires_at > $4
               ORDER BY created_at DESC, id DESC OFFSET $5)
             RETURNING id, tenant, subject, root_jti, upstream_id, protocol_version, created_at, expires_at",
        )
        .bind(&owner.tenant)
        .bind(&owner.subject)
        .bind(&owner.root_jti)
        .bind(to_sql_time(now))
        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
        .fetch_all(&self.0)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().map(session).collect())
    }

    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64> {
        let deleted = sqlx::query("DELETE FROM mcp_sessions WHERE expires_at <= $1")
            .bind(to_sql_time(now))
            .execute(&self.0)
            .await
            .map_err(db_error)?;
        Ok(deleted.rows_affected())
    }
}

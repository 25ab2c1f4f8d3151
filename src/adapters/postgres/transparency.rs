use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::text::to_db;
use super::{db_error, from_sql_time, to_i64, to_sql_time, to_u64};
use crate::domain::audit::checkpoint::SignedCheckpoint;
use crate::domain::audit::merkle::{Growth, Hash};
use crate::domain::audit::tiles;
use crate::ports::{StoreError, StoreResult, TransparencyStore, hash_not_stored};

/// `audit_tree_sizes`, `audit_tree_tiles` (stored hashes, `domain::audit::tiles`) and
/// `audit_checkpoints`. Replicas may grow
/// the same tree: the size row is the compare-and-swap (an `UPDATE … WHERE size =` the
/// size the growth was computed from), so exactly one growth of a size lands.
pub(super) struct PgTransparency(pub PgPool);

#[async_trait]
impl TransparencyStore for PgTransparency {
    async fn tree_size(&self, chain: &str) -> StoreResult<u64> {
        let size: Option<i64> =
            sqlx::query_scalar("SELECT size FROM audit_tree_sizes WHERE chain = $1")
                .bind(to_db(chain).into_owned())
                .fetch_optional(&self.0)
                .await
                .map_err(db_error)?;
        Ok(size.map_or(0, to_u64))
    }

    async fn read_hashes(&self, chain: &str, indexes: &[u64]) -> StoreResult<Vec<Hash>> {
        let mut wanted: Vec<i64> = indexes
            .iter()
            .map(|&i| to_i64(tiles::locate(i).0))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT tile, hashes FROM audit_tree_tiles WHERE chain = $1 AND tile = ANY($2)",
        )
        .bind(to_db(chain).into_owned())
        .bind(&wanted)
        .fetch_all(&self.0)
        .await
        .map_err(db_error)?;
        let found: HashMap<i64, Vec<u8>> = rows.into_iter().collect();
        indexes
            .iter()
            .map(|&i| {
                found
                    .get(&to_i64(tiles::locate(i).0))
                    .and_then(|bytes| tiles::hash_at(bytes, i))
                    .ok_or_else(|| hash_not_stored(chain, i))
            })
            .collect()
    }

    async fn grow(&self, chain: &str, growth: &Growth) -> StoreResult<bool> {
        growth.check().map_err(StoreError::from)?;
        let mut tx = self.0.begin().await.map_err(db_error)?;
        let moved = if growth.from_size == 0 {
            sqlx::query(
                "INSERT INTO audit_tree_sizes (chain, size) VALUES ($1, $2)
                 ON CONFLICT (chain) DO NOTHING",
            )
            .bind(to_db(chain).into_owned())
            .bind(to_i64(growth.to_size))
        } else {
            sqlx::query("UPDATE audit_tree_sizes SET size = $2 WHERE chain = $1 AND size = $3")
                .bind(to_db(chain).into_owned())
                .bind(to_i64(growth.to_size))
                .bind(to_i64(growth.from_size))
        }
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if moved.rows_affected() != 1 {
            return Ok(false); // dropping the transaction rolls it back
        }
        // The size row's compare-and-swap above serializes growths of a chain, and a
        // rolled-back growth leaves nothing, so a growth's first tile ends exactly
        // where it starts: appending is enough.
        let runs = tiles::runs(growth.first_index, &growth.hashes);
        let numbers: Vec<i64> = runs.iter().map(|r| to_i64(r.tile)).collect();
        let bytes: Vec<&[u8]> = runs.iter().map(|r| r.bytes.as_slice()).collect();
        sqlx::query(
            "INSERT INTO audit_tree_tiles AS t (chain, tile, hashes)
             SELECT $1, tile, hashes FROM UNNEST($2::bigint[], $3::bytea[]) AS u(tile, hashes)
             ON CONFLICT (chain, tile) DO UPDATE SET hashes = t.hashes || EXCLUDED.hashes",
        )
        .bind(to_db(chain).into_owned())
        .bind(&numbers)
        .bind(&bytes)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn record_checkpoint(&self, c: &SignedCheckpoint) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO audit_checkpoints (chain, size, root, note, issued_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (chain, size) DO NOTHING",
        )
        .bind(to_db(&c.chain).into_owned())
        .bind(to_i64(c.size))
        .bind(c.root.0.to_vec())
        .bind(&c.note)
        .bind(to_sql_time(c.issued_at))
        .execute(&self.0)
        .await
        .map_err(db_error)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn checkpoints(
        &self,
        chain: &str,
        below: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<SignedCheckpoint>> {
        let rows: Vec<(i64, Vec<u8>, String, OffsetDateTime)> = sqlx::query_as(
            "SELECT size, root, note, issued_at FROM audit_checkpoints
             WHERE chain = $1 AND size < $2 ORDER BY size DESC LIMIT $3",
        )
        .bind(to_db(chain).into_owned())
        .bind(below.map_or(i64::MAX, to_i64))
        .bind(i64::from(limit))
        .fetch_all(&self.0)
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .map(|(size, root, note, issued_at)| {
                let root =
                    <[u8; 32]>::try_from(root.as_slice()).map_err(|_| StoreError::Backend {
                        backend: "postgres",
                        source: format!("checkpoint root of chain {chain:?} is not 32 bytes")
                            .into(),
                    })?;
                Ok(SignedCheckpoint {
                    chain: chain.to_owned(),
                    size: to_u64(size),
                    root: Hash(root),
                    note,
                    issued_at: from_sql_time(issued_at),
                })
            })
            .collect()
    }
}

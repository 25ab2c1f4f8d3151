//! Signed checkpoints of a tenant's chain and proofs against them: what lets an
//! auditor outside the gateway check that a record is in the log and that a later
//! checkpoint extends an earlier one (see `domain::audit::merkle` for the encoding).

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Query;

use super::auth::AdminAuth;
use super::dto::{CheckpointResponse, ConsistencyProofResponse, InclusionProofResponse, base64};
use super::errors::{ApiError, api_errors};
use super::params::query_tenant;
use super::typed_param::{Param, TreePosition, raw};
use crate::adapters::http::tags::ApiTags;
use crate::adapters::http::wire::GoJson;
use crate::app::Gateway;
use crate::domain::audit::chain_key;
use crate::domain::audit::checkpoint::SignedCheckpoint;
use crate::domain::audit::merkle::{Question, leaf_hash};

api_errors!(
    /// Errors of the checkpoint and proof routes.
    CheckpointErrors { 400 BadRequest, 401 Unauthorized, 403 Forbidden, 404 NotFound, 503 Unavailable }
);

pub struct CheckpointsApi;

#[OpenApi(tag = "ApiTags::Audit")]
impl CheckpointsApi {
    /// The newest signed checkpoint of a tenant's chain.
    #[oai(
        path = "/v1/admin/audit/checkpoint",
        method = "get",
        operation_id = "latestCheckpoint"
    )]
    async fn latest(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        tenant: Query<Option<String>>,
    ) -> Result<GoJson<CheckpointResponse>, CheckpointErrors> {
        let tenant = scoped(&auth, &tenant)?;
        let latest = gateway.transparency.latest(chain_key(&tenant)).await;
        Ok(respond(&gateway, tenant, latest.map_err(ApiError::from)?)?)
    }

    /// Issues a checkpoint of everything the tenant's chain holds now (or returns the
    /// one already issued at that size).
    #[oai(
        path = "/v1/admin/audit/checkpoint",
        method = "post",
        operation_id = "issueCheckpoint"
    )]
    async fn issue(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        tenant: Query<Option<String>>,
    ) -> Result<GoJson<CheckpointResponse>, CheckpointErrors> {
        let tenant = scoped(&auth, &tenant)?;
        let issued = gateway.transparency.checkpoint(chain_key(&tenant)).await;
        Ok(respond(&gateway, tenant, issued.map_err(ApiError::from)?)?)
    }

    /// The inclusion proof of record `seq` in the tree of `tree_size` records
    /// (default: the newest checkpoint's).
    #[oai(
        path = "/v1/admin/audit/proof/inclusion",
        method = "get",
        operation_id = "inclusionProof"
    )]
    async fn inclusion(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        tenant: Query<Option<String>>,
        seq: Query<Param<TreePosition>>,
        tree_size: Query<Option<Param<TreePosition>>>,
    ) -> Result<GoJson<InclusionProofResponse>, CheckpointErrors> {
        let tenant = scoped(&auth, &tenant)?;
        let seq = required(&seq, "seq")?;
        let chain = chain_key(&tenant);
        let size = size_or_latest(&gateway, &tenant, number(raw(&tree_size), "tree_size")?).await?;
        if seq == 0 {
            return Err(ApiError::BadRequest("seq counts from 1".into()).into());
        }
        if seq > size {
            return Err(ApiError::NotFound(format!(
                "seq {seq} is not in the tree of {size} records"
            ))
            .into());
        }
        let stored = gateway.stores.audit.hashes(chain, seq, 1).await;
        let (_, chain_hash) = stored
            .map_err(ApiError::from)?
            .into_iter()
            .find(|(at, _)| *at == seq)
            .ok_or_else(|| ApiError::NotFound(format!("record {seq} is no longer stored")))?;
        let question = Question::Inclusion {
            size,
            leaf: seq - 1,
        };
        let proof = gateway.transparency.answer(chain, question).await;
        Ok(GoJson::new(&InclusionProofResponse {
            tenant: tenant.clone(),
            seq,
            leaf_index: seq - 1,
            tree_size: size,
            leaf_hash: base64(leaf_hash(&chain_hash)),
            chain_hash,
            proof: proof
                .map_err(ApiError::from)?
                .into_iter()
                .map(base64)
                .collect(),
        }))
    }

    /// The consistency proof from the tree of `from_size` records to that of
    /// `to_size` (default: the newest checkpoint's).
    #[oai(
        path = "/v1/admin/audit/proof/consistency",
        method = "get",
        operation_id = "consistencyProof"
    )]
    async fn consistency(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        tenant: Query<Option<String>>,
        from_size: Query<Param<TreePosition>>,
        to_size: Query<Option<Param<TreePosition>>>,
    ) -> Result<GoJson<ConsistencyProofResponse>, CheckpointErrors> {
        let tenant = scoped(&auth, &tenant)?;
        let old = required(&from_size, "from_size")?;
        if old == 0 {
            return Err(ApiError::BadRequest("from_size counts from 1".into()).into());
        }
        let size = size_or_latest(&gateway, &tenant, number(raw(&to_size), "to_size")?).await?;
        let question = Question::Consistency { old, size };
        let proof = gateway
            .transparency
            .answer(chain_key(&tenant), question)
            .await;
        Ok(GoJson::new(&ConsistencyProofResponse {
            tenant,
            from_size: old,
            to_size: size,
            proof: proof
                .map_err(ApiError::from)?
                .into_iter()
                .map(base64)
                .collect(),
        }))
    }
}

/// The tenant the caller asked for, if the caller may see it.
fn scoped(auth: &AdminAuth, tenant: &Query<Option<String>>) -> Result<String, ApiError> {
    query_tenant(auth.caller()?, tenant.as_deref().unwrap_or_default().trim())
}

/// The checkpoint as served, or 404 when the chain has none.
fn respond(
    gateway: &Gateway,
    tenant: String,
    checkpoint: Option<SignedCheckpoint>,
) -> Result<GoJson<CheckpointResponse>, ApiError> {
    let checkpoint = checkpoint.ok_or_else(|| no_checkpoint(&tenant))?;
    let key = gateway.transparency.verifier_key();
    Ok(GoJson::new(&CheckpointResponse::new(
        tenant,
        &checkpoint,
        key,
    )))
}

/// `given`, or the size of the newest checkpoint.
async fn size_or_latest(
    gateway: &Gateway,
    tenant: &str,
    given: Option<u64>,
) -> Result<u64, ApiError> {
    if let Some(size) = given {
        return Ok(size);
    }
    let latest = gateway.transparency.latest(chain_key(tenant)).await?;
    latest.map(|c| c.size).ok_or_else(|| no_checkpoint(tenant))
}

fn number(raw: Option<&str>, name: &str) -> Result<Option<u64>, ApiError> {
    raw.map(|text| {
        text.trim().parse::<u64>().map_err(|_| {
            ApiError::BadRequest(format!(
                "invalid {name}: {text:?} is not a non-negative integer"
            ))
        })
    })
    .transpose()
}

/// A required position: missing (read as empty) is `{name} is required`.
fn required(param: &Param<TreePosition>, name: &str) -> Result<u64, ApiError> {
    let text = param.0.trim();
    if text.is_empty() {
        return Err(ApiError::BadRequest(format!("{name} is required")));
    }
    number(Some(text), name).map(|n| n.unwrap_or_default())
}

fn no_checkpoint(tenant: &str) -> ApiError {
    ApiError::NotFound(format!("no checkpoint of tenant {tenant:?}'s chain yet"))
}

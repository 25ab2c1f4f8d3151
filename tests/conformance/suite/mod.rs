//! Scenarios are plain async functions over a [`Fixture`]; `conformance_tests!` stamps
//! out one multi-threaded `#[tokio::test]` per scenario for a backend, so races are
//! real.

pub mod approval;
pub mod audit;
pub mod budget;
pub mod policy;
pub mod revocation;
pub mod session;
pub mod tenancy;
pub mod transparency;

use std::any::Any;

use intentgate::domain::time::Timestamp;
use intentgate::ports::Stores;

/// Fresh, empty stores for one scenario, plus whatever keeps them alive (a temp dir,
/// a per-test database) until the scenario ends.
pub struct Fixture {
    pub stores: Stores,
    _guard: Box<dyn Any + Send>,
}

impl Fixture {
    pub fn new(stores: Stores, guard: impl Any + Send) -> Self {
        Self {
            stores,
            _guard: Box::new(guard),
        }
    }
}

/// A fixed instant scenarios build on: 2026-05-12T10:00:00Z.
pub fn t0() -> Timestamp {
    Timestamp::from_unix_seconds(1_778_580_000)
}

/// `t0` plus `secs` seconds.
pub fn at(secs: i64) -> Timestamp {
    t0().plus_seconds(secs)
}

macro_rules! conformance_tests {
    ($fixture:ident) => {
        conformance_tests!(@ports $fixture;
            audit {
                empty_chain_has_no_head,
                first_append_starts_the_chain_at_one,
                runs_append_atomically_and_read_back_in_order,
                stale_head_is_rejected_without_writing,
                malformed_runs_are_rejected,
                parallel_appends_give_a_gapless_verifiable_chain,
                stored_events_keep_every_field_and_rehash_identically,
                query_filters_orders_and_pages,
                count_ignores_paging,
                cursor_pages_visit_every_record_once,
                equal_timestamps_order_by_chain_then_seq,
                verify_walks_many_pages_and_stops_at_a_late_break,
                odd_text_is_stored_losslessly_and_verifies,
                chains_whose_names_extend_each_other_stay_apart,
                appends_in_turn_and_out_of_turn_all_land,
            }
            revocation {
                unknown_token_is_not_revoked,
                tenant_rows_cover_their_tenant_and_global_rows_cover_all,
                revoking_again_updates_reason_and_keeps_time,
                list_scopes_and_orders_newest_first,
            }
            budget {
                counts_start_at_one_and_rise,
                window_restarts_after_it_ends,
                counters_are_isolated_by_tenant_and_token,
                never_overspends_under_64_concurrent_consumers,
                a_batch_adds_each_keys_calls_at_once,
                a_batch_after_the_window_starts_a_new_one,
                concurrent_batches_never_overspend,
            }
            approval {
                created_rows_read_back_with_every_field,
                decide_moves_a_pending_row_exactly_once,
                expiry_is_a_decision_too,
                exactly_one_of_concurrent_decisions_wins,
                list_filters_by_tenant_and_status_newest_first,
            }
            policy {
                drafts_round_trip_and_update_only_editable_fields,
                draft_listing_scopes_and_orders,
                promote_tracks_one_previous_draft,
                promote_needs_an_existing_draft,
                rollback_goes_back_one_step_only,
                referenced_drafts_cannot_be_deleted,
                clearing_a_tenant_falls_back_to_default,
                concurrent_promotes_leave_a_consistent_pointer,
            }
            session {
                created_sessions_read_back_with_every_field,
                expired_sessions_are_gone_and_stay_gone,
                renewal_extends_and_never_shortens,
                exactly_one_of_concurrent_deletes_wins,
                concurrent_creates_of_one_id_store_exactly_one,
                only_the_newest_sessions_of_a_caller_stay,
            }
            tenancy {
                tenants_are_isolated_across_every_port,
            }
            transparency {
                an_unknown_chain_has_an_empty_tree,
                growths_in_any_batches_give_the_rfc_6962_root,
                a_large_tree_grown_unevenly_answers_every_proof,
                a_stale_growth_writes_nothing,
                an_inconsistent_growth_is_refused,
                exactly_one_of_concurrent_growths_of_a_size_lands,
                checkpoints_keep_the_first_of_a_size_largest_first,
                trees_of_chains_are_apart,
                the_audit_store_lists_its_chains,
                checkpoints_of_chains_whose_names_extend_each_other_stay_apart,
            }
        );
    };
    (@ports $fixture:ident; $($port:ident { $($scenario:ident),* $(,)? })*) => {
        $(
            mod $port {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $scenario() {
                        let Some(fixture) = super::$fixture().await else { return };
                        crate::suite::$port::$scenario(&fixture).await;
                    }
                )*
            }
        )*
    };
}

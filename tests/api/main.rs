//! Black-box tests of the data plane against a real gateway on a loopback port:
//! the acceptance scenarios of `reference-data-plane.md` §14, numbered as there.
//! Every scenario runs on each storage backend (`memory::…`, `sled::…`, `postgres::…`):
//! one list of scenarios, stamped out per backend by `backend_matrix!`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly

mod admin_agents;
mod admin_approvals;
mod admin_audit;
mod admin_auth;
mod admin_checkpoints;
mod admin_policies;
mod admin_tokens;
mod audit;
mod audit_proofs;
mod budget;
mod capability;
mod envelope;
mod escalation;
mod igctl_verify;
mod intent;
mod mcp_transport;
mod metrics;
mod oauth;
#[path = "../common/pg.rs"]
mod pg;
mod policy;
mod support;
mod upstream;
mod webhooks;

/// One `#[tokio::test]` per scenario for the given backend.
macro_rules! backend_suite {
    ($variant:ident) => {
        backend_suite!(@modules $variant;
            admin_auth { s01_tokens_are_checked_before_anything_else, s02_to_s04_tenants, s05_s06_integrations_are_superadmin_only, s07_no_admin_token_means_no_admin_routes, s08_bad_tenant_admins_stop_startup, docs_and_openapi_are_served }
            admin_tokens { s09_minted_tokens_verify_and_are_audited, s10_s12_s13_optional_caveats, s11_mint_validation, s15_tenant_admins_mint_in_their_tenant, s16_revocation_is_tenant_scoped, s17_revocation_listing, go_decoding_nulls_trailing_data_and_oversize }
            admin_audit { s18_to_s24_query_filters_paging_and_scope, query_returns_every_stored_field, s25_s26_s31_to_s34_verify, s27_s28_tampered_chains_are_reported, s39_to_s42_export_errors_formats_and_names, s43_s44_export_filters_and_scope, s45_csv_row_encoding, s46_export_pages_through_the_store }
            admin_checkpoints { checkpoints_and_proofs_check_with_go_sumdb, checkpoints_are_issued_when_a_chain_is_due, proof_requests_are_checked_and_tenant_scoped, an_old_checkpoint_catches_a_rewritten_chain }
            audit_proofs { verify_names_the_checkpoint_and_catches_rows_rewritten_under_it, an_export_with_proofs_verifies_offline_with_the_key, igctl_prints_the_log_key_and_checks_consistency, a_chain_whose_oldest_records_are_gone_is_not_called_rewritten }
            admin_agents { agents_are_grouped_counted_and_sorted, agents_windows_scope_and_errors, agents_read_at_most_10000_events, agents_count_calls_not_events }
            admin_approvals { s47_to_s50_list_and_decide, s51_tenants_see_and_decide_only_their_rows, s52_s53_decisions_through_the_api_reach_the_waiting_call, a_decision_after_the_window_conflicts, approvals_off_means_no_approval_routes }
            igctl_verify { export_verifies_offline_like_the_endpoint, igctl_revoke_calls_the_admin_api, igctl_agents_lists_what_the_gateway_observed }
            admin_policies { s54_to_s57_drafts, s58_to_s60_promote_and_delete, s61_s62_rollback, s63_s64_clear_and_active_view, s64_the_embedded_default_is_labelled, s65_repromoting_the_current_draft_changes_nothing, s67_to_s69_dry_run, s70_dry_run_samples_and_warnings }
            audit { s72_s76_concurrent_calls_give_one_verifiable_chain, an_allowed_call_whose_audit_fails_is_denied_and_never_forwarded, a_relayed_read_whose_audit_fails_returns_no_data, async_durability_answers_without_waiting, admin_store_failures_are_503_without_driver_text }
            budget { s58_single_limit, s59_strictest_limit_wins_and_the_first_exceeded_is_named, s60_s61_zero_limits_isolation_and_shared_children, s62_strict_budget_needs_a_token, concurrent_calls_never_overspend }
            capability { s18_dev_mode_without_token_reaches_the_stub, s19_to_s22_header_handling, s23_s24_tampering_and_wrong_key, s25_s26_tool_lists, s27_s28_s33_time_caveats_and_vector_tokens, s29_to_s31_unknown_max_calls_and_step_up_caveats, s34_s36_revocation_is_tenant_scoped_and_audited }
            envelope { s01_to_s03_local_fallbacks_without_upstream, s04_s05_tools_list_passes_through_to_upstream, s06_s07_unknown_methods, s08_s09_batches_and_garbage_are_parse_errors, s10_to_s13_validation_and_ids, s14_oversized_body, s15_tools_call_params_errors, s16_methods_and_health, s17_legacy_tool_call_stub }
            escalation { s52_escalation_with_approvals_off, s53_approved_call_completes_with_the_audit_sequence, s54_rejected_call_names_the_reviewer_and_pending_id, s55_nobody_decides_and_the_window_expires, an_abandoned_wait_expires_its_approval }
            intent { s37_s38_extractor_lists_decide, s39_cache_hits_by_prompt_and_agent, s40_extractor_failures_deny, s41_strict_intent }
            policy { s42_to_s46_default_policy, s47_requires_step_up_is_audited, s48_policy_sees_step_up_and_identity, s49_s51_undefined_and_empty_reasons, s50_per_tenant_policies_dispatch_and_fall_back }
            mcp_transport { sse_answer_goes_out_as_the_client_accepts, a_stalled_answer_stream_times_out, sessions_are_bound_to_the_caller_and_mapped_upstream, notifications_and_client_responses_are_passed_on, get_relays_the_session_stream_or_is_405, a_get_stream_waits_for_headers_only_until_the_timeout, tools_list_is_filtered_by_the_token, data_methods_are_relayed_and_audited, a_closed_answer_stream_is_resumed_in_the_session, a_session_the_tool_server_lost_ends }
            oauth { a_token_for_this_gateway_calls_tools_and_is_audited, the_policy_sees_the_verified_claims, budgets_count_per_subject_across_tokens }
            upstream { s63_forwarded_result_gets_metadata_and_is_audited, s64_upstream_jsonrpc_error_passes_through, s65_upstream_http_errors, s66_upstream_timeout, s67_unreachable_upstream_is_a_transport_error, credentials_in_the_upstream_url_are_sent_and_masked, a_redirecting_tool_server_is_followed, s68_oversized_upstream_body, s69_non_json_upstream_body, s70_forwarded_body_and_headers, lone_surrogate_escapes_are_read_as_go_reads_them, null_and_odd_results_do_not_crash, notification_with_empty_202_is_accepted }
        );
    };
    (@modules $variant:ident; $($module:ident { $($(#[$attr:meta])* $scenario:ident),* $(,)? })*) => {
        $(
            mod $module {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    $(#[$attr])*
                    async fn $scenario() {
                        let backend = crate::support::Backend::$variant;
                        if crate::support::available(backend).await {
                            crate::$module::$scenario(backend).await;
                        }
                    }
                )*
            }
        )*
    };
}

mod memory {
    backend_suite!(Memory);
}

mod sled {
    backend_suite!(Sled);
}

mod postgres {
    backend_suite!(Postgres);
}

/// Scenarios that touch no store: one backend is enough.
mod memory_only {
    backend_suite!(@modules Memory;
        mcp_transport { sse_framing_survives_tiny_chunks, an_oversize_event_is_an_upstream_http_error, upstream_4xx_jsonrpc_errors_pass_through, protocol_versions_are_checked_and_forwarded, stateless_request_headers_must_match_the_body, foreign_origins_are_refused, progress_reaches_the_client_before_the_answer,
            a_repeated_mcp_name_header_is_a_mismatch,
            get_and_delete_check_the_protocol_version,
            strict_mode_needs_a_token_for_everything_but_ping,
            disguised_messages_reach_the_tool_server_as_the_gateway_read_them,
            the_name_header_is_checked_against_the_checked_tool,
            what_was_read_is_recorded_as_arguments_are,
            a_caller_that_never_ends_sessions_cannot_fill_the_store }
        capability { a_remembered_token_still_expires }
        oauth { missing_and_bad_tokens_are_challenged, scopes_open_tools_and_list_only_those, metadata_readiness_and_key_rotation, an_unreachable_issuer_fails_closed }
    );
}

/// Scenarios about replicas sharing one database.
mod postgres_only {
    backend_suite!(@modules Postgres;
        mcp_transport { a_session_opened_on_one_replica_is_usable_on_another }
    );
}

//! Splunk HTTP Event Collector.

use super::*;

#[tokio::test]
async fn splunk_posts_hec_envelopes_with_its_token_and_index() {
    let hec = FakeServer::accepting().await;
    let mut settings = splunk_settings(&hec, batch(64, 2, NEVER));
    settings.splunk.as_mut().unwrap().index = Some("security".into());
    let sink = start(&settings);
    let blocked = event("transfer_funds", "block");
    let mut later = event("read_invoice", "allow");
    later.ts = Timestamp::parse_rfc3339("2025-05-12T10:00:02Z").unwrap();
    assert_eq!(blocked.to_json(), BLOCKED_JSON);

    sink.offer(&blocked);
    sink.offer(&later);
    let seen = hec.wait_for(1).await;

    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/services/collector");
    assert_eq!(request.header("authorization"), "Splunk hec-token");
    assert_eq!(request.header("content-type"), "application/json");
    let head = r#""source":"intentgate","sourcetype":"_json","index":"security","event":"#;
    let expected = format!(
        "{{\"time\":1747044001.5,{head}{BLOCKED_JSON}}}\n{{\"time\":1747044002,{head}{}}}\n",
        later.to_json()
    );
    assert_eq!(request.body, expected);

    let status = wait_status(&*sink, |s| s.total_events == 2).await;
    assert_eq!(
        status,
        SinkStatus {
            name: "splunk",
            endpoint: format!("{}/services/collector", hec.url),
            last_flush: status.last_flush,
            total_events: 2,
            dropped_count: 0,
            undelivered: 0,
            last_error: String::new(),
        }
    );
    assert!(status.last_flush.is_some());
    assert_eq!(hec.requests().len(), 1);
}

#[tokio::test]
async fn splunk_leaves_an_unset_index_out() {
    let hec = FakeServer::accepting().await;
    let sink = start(&splunk_settings(&hec, batch(64, 1, NEVER)));
    let e = event("transfer_funds", "block");

    sink.offer(&e);
    let seen = hec.wait_for(1).await;

    assert_eq!(
        seen[0].body,
        format!(
            "{{\"time\":1747044001.5,\"source\":\"intentgate\",\"sourcetype\":\"_json\",\"event\":{BLOCKED_JSON}}}\n"
        )
    );
}

/// Witnessing: a checkpoint travels in the same batches as events, in its own event
/// shape, stamped with the time it was issued.
#[tokio::test]
async fn splunk_carries_checkpoints_beside_events() {
    let hec = FakeServer::accepting().await;
    let sink = start(&splunk_settings(&hec, batch(64, 2, NEVER)));
    let signer = LogSigner::new("gw.test", &[5u8; 32]).unwrap();
    let issued = Timestamp::parse_rfc3339("2025-05-12T10:00:03Z").unwrap();
    let checkpoint = signer.sign("acme", 7, Hash([1u8; 32]), issued).unwrap();

    sink.offer(&event("transfer_funds", "block"));
    sink.offer_checkpoint(&checkpoint);
    let seen = hec.wait_for(1).await;

    let second = seen[0].body.lines().nth(1).unwrap();
    let envelope: Value = serde_json::from_str(second).unwrap();
    assert_eq!(envelope["time"], 1_747_044_003);
    assert_eq!(envelope["event"]["event"], "intentgate.audit_checkpoint");
    assert_eq!(
        (
            envelope["event"]["chain"].as_str(),
            envelope["event"]["tree_size"].as_u64()
        ),
        (Some("acme"), Some(7))
    );
    let note = envelope["event"]["checkpoint"].as_str().unwrap();
    assert_eq!(open(note, signer.verifier_key()).unwrap().size, 7);
    assert_eq!(
        wait_status(&*sink, |s| s.total_events == 2)
            .await
            .dropped_count,
        0
    );
}

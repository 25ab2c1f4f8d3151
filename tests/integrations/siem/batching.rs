//! The shared batching worker: size, interval, failures, overflow, shutdown.

use super::*;

#[tokio::test]
async fn a_full_batch_is_flushed_at_once() {
    let hec = FakeServer::accepting().await;
    let sink = start(&splunk_settings(&hec, batch(64, 3, NEVER)));

    for e in events(4) {
        sink.offer(&e);
    }
    let seen = hec.wait_for(1).await;
    wait_status(&*sink, |s| s.total_events == 3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    assert_eq!(hec_tools(&seen[0].body), names("tool", 3));
    assert_eq!(hec.requests().len(), 1, "the fourth event waits");
    sink.shutdown().await;
    let seen = hec.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(hec_tools(&seen[1].body), vec!["tool_3".to_owned()]);
    assert_eq!(sink.status().total_events, 4);
}

#[tokio::test]
async fn the_interval_flushes_a_partial_batch_and_skips_empty_ones() {
    let hec = FakeServer::accepting().await;
    let sink = start(&splunk_settings(&hec, batch(64, 100, 50)));

    for e in events(3) {
        sink.offer(&e);
    }
    let seen = hec.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_eq!(hec_tools(&seen[0].body), names("tool", 3));
    assert_eq!(hec.requests().len(), 1, "empty ticks send nothing");
    assert_eq!(sink.status().total_events, 3);
}

#[tokio::test]
async fn failed_flushes_drop_their_batch_and_a_success_clears_the_error() {
    let calls = AtomicUsize::new(0);
    let hec = FakeServer::start(move |_| match calls.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::new(500, "boom"),
        1 => Reply::ok(),
        2 => Reply::new(429, ""),
        _ => Reply::new(400, &"y".repeat(300)),
    })
    .await;
    let sink = start(&splunk_settings(&hec, batch(64, 2, NEVER)));
    let offer_two = || {
        for e in events(2) {
            sink.offer(&e);
        }
    };

    offer_two();
    let status = wait_status(&*sink, |s| !s.last_error.is_empty()).await;
    assert_eq!(status.last_error, "transient: HTTP 500: boom");
    assert_eq!((status.total_events, status.last_flush), (0, None));

    offer_two();
    let status = wait_status(&*sink, |s| s.total_events == 2).await;
    assert_eq!((status.dropped_count, status.last_error.as_str()), (0, ""));
    let flushed_at = status.last_flush;
    assert!(flushed_at.is_some());

    offer_two();
    let status = wait_status(&*sink, |s| !s.last_error.is_empty()).await;
    assert_eq!(status.last_error, "transient: HTTP 429");
    assert_eq!((status.total_events, status.last_flush), (2, flushed_at));

    offer_two();
    let status = wait_status(&*sink, |s| s.last_error.starts_with("permanent")).await;
    assert_eq!(
        status.last_error,
        format!("permanent: HTTP 400: {}", "y".repeat(256))
    );
    assert_eq!(
        status.dropped_count, 0,
        "failed flushes are not buffer drops"
    );
    assert_eq!(hec.requests().len(), 4, "no retries");
}

#[tokio::test]
async fn overflow_drops_and_counts_events() {
    // A single-threaded runtime: the worker cannot run while the loop offers, so
    // exactly `capacity` events fit.
    let hec = FakeServer::start(|_| Reply::ok().after(Duration::from_millis(100))).await;
    let sink = start(&splunk_settings(&hec, batch(2, 1, NEVER)));

    for e in events(50) {
        sink.offer(&e);
    }

    let status = sink.status();
    assert_eq!((status.dropped_count, status.undelivered), (48, 2));
    sink.shutdown().await;
    let status = sink.status();
    assert_eq!(
        (
            status.total_events,
            status.dropped_count,
            status.undelivered
        ),
        (2, 48, 0)
    );
    let seen = hec.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(hec_tools(&seen[0].body), vec!["tool_0".to_owned()]);
    assert_eq!(hec_tools(&seen[1].body), vec!["tool_1".to_owned()]);
}

#[tokio::test]
async fn shutdown_flushes_pending_events() {
    let hec = FakeServer::accepting().await;
    let sink = start(&splunk_settings(&hec, batch(64, 100, NEVER)));

    for e in events(3) {
        sink.offer(&e);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(hec.requests().is_empty());
    assert_eq!(sink.status().undelivered, 3, "held until shutdown");
    sink.shutdown().await;

    let seen = hec.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(hec_tools(&seen[0].body), names("tool", 3));
    assert_eq!(sink.status().total_events, 3);
}

#[tokio::test]
async fn offers_after_shutdown_are_ignored() {
    let hec = FakeServer::accepting().await;
    let sink = start(&splunk_settings(&hec, batch(64, 1, 50)));

    sink.shutdown().await;
    sink.shutdown().await; // idempotent
    sink.offer(&event("late", "allow"));
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert!(hec.requests().is_empty());
    let status = sink.status();
    assert_eq!((status.total_events, status.dropped_count), (0, 0));
}

#[tokio::test]
async fn spawn_starts_one_sink_per_destination_in_order() {
    let settings = SiemSettings {
        splunk: Some(SplunkSettings {
            url: "http://127.0.0.1:9/services/collector".into(),
            token: Secret::new("hec-token"),
            index: None,
        }),
        datadog: Some(DatadogSettings::new(
            Secret::new("dd-key"),
            "datadoghq.com",
            "intentgate-gateway",
        )),
        sentinel: Some(SentinelSettings::new(
            "https://dce.example",
            "dcr-1",
            "Custom-IG_CL",
            "tenant-1",
            "client-1",
            Secret::new("azure-secret"),
        )),
        batch: BatchSettings::default(),
    };

    let sinks = siem::spawn(&settings, Arc::new(SystemClock)).unwrap();

    let shown: Vec<(&str, String)> = sinks
        .iter()
        .map(|s| (s.status().name, s.status().endpoint))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("splunk", "http://127.0.0.1:9/services/collector".to_owned()),
            (
                "datadog",
                "https://http-intake.logs.datadoghq.com/api/v2/logs".to_owned()
            ),
            ("sentinel", "https://dce.example".to_owned()),
        ]
    );
    for sink in &sinks {
        sink.shutdown().await;
    }
}

//! Datadog Logs intake.

use super::*;

#[tokio::test]
async fn datadog_posts_an_array_of_log_entries_with_its_api_key() {
    let intake = FakeServer::start(|_| Reply::new(202, "{}")).await;
    let mut dd = DatadogSettings::new(Secret::new("dd-key"), "datadoghq.eu", "ig-test");
    assert_eq!(
        dd.intake_url,
        "https://http-intake.logs.datadoghq.eu/api/v2/logs"
    );
    dd.intake_url = format!("{}/api/v2/logs", intake.url);
    let settings = SiemSettings {
        datadog: Some(dd),
        batch: batch(64, 2, NEVER),
        ..SiemSettings::default()
    };
    let sink = start(&settings);
    let blocked = event("transfer_funds", "block");
    let anonymous = AuditEvent::new(ts(), "allow", "read_invoice");

    sink.offer(&blocked);
    sink.offer(&anonymous);
    let seen = intake.wait_for(1).await;

    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/v2/logs");
    assert_eq!(request.header("dd-api-key"), "dd-key");
    assert_eq!(request.header("content-type"), "application/json");
    let anonymous_json = anonymous.to_json();
    let expected = [
        r#"[{"service":"ig-test","ddsource":"intentgate","message":"block policy tool=transfer_funds agent=finance-bot reason=above \u003cthreshold\u003e","status":"warn","audit":"#,
        BLOCKED_JSON,
        r#"},{"service":"ig-test","ddsource":"intentgate","message":"allow  tool=read_invoice agent=(unknown) reason=","status":"info","audit":"#,
        anonymous_json.as_str(),
        "}]\n",
    ]
    .concat();
    assert_eq!(request.body, expected);
    let parsed: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(
        parsed[0]["message"],
        "block policy tool=transfer_funds agent=finance-bot reason=above <threshold>"
    );
    assert_eq!(parsed[1]["audit"]["tool"], "read_invoice");

    let status = wait_status(&*sink, |s| s.total_events == 2).await;
    assert_eq!(status.name, "datadog");
    assert_eq!(status.endpoint, format!("{}/api/v2/logs", intake.url));
    assert_eq!(status.last_error, "");
}

#[tokio::test]
async fn datadog_logs_a_checkpoint_at_info_with_its_own_message() {
    let intake = FakeServer::start(|_| Reply::new(202, "{}")).await;
    let mut dd = DatadogSettings::new(Secret::new("dd-key"), "datadoghq.eu", "ig-test");
    dd.intake_url = format!("{}/api/v2/logs", intake.url);
    let settings = SiemSettings {
        datadog: Some(dd),
        batch: batch(64, 1, NEVER),
        ..SiemSettings::default()
    };
    let sink = start(&settings);
    let signer = LogSigner::new("gw.test", &[5u8; 32]).unwrap();
    let checkpoint = signer.sign("acme", 7, Hash([1u8; 32]), ts()).unwrap();

    sink.offer_checkpoint(&checkpoint);
    let seen = intake.wait_for(1).await;

    let entry: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(entry[0]["message"], "checkpoint chain=acme tree_size=7");
    assert_eq!(entry[0]["status"], "info");
    assert_eq!(entry[0]["audit"]["checkpoint"], checkpoint.note.as_str());
}

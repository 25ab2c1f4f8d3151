//! Export rendering: an event with any text renders as CSV (no formula cell, one row)
//! and as an NDJSON line that parses back to the same record.
#![no_main]

use intentgate::domain::audit::export::{csv_row, ndjson_line, parse_ndjson_line};
use intentgate::domain::audit::{AuditEvent, seal};
use intentgate::domain::time::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.split('\u{1}').map(str::to_owned);
    let mut next = || fields.next().unwrap_or_default();
    let mut e = AuditEvent::new(
        Timestamp::from_unix_seconds(1_778_580_000),
        &next(),
        &next(),
    );
    e.reason = next();
    e.tenant = next();
    e.agent_id = next();
    e.session_id = next();
    e.intent_summary = next();
    e.arg_keys = next().split(',').map(str::to_owned).collect();
    let record = seal("fuzz", None, vec![e]).remove(0);
    let mut csv = String::new();
    csv_row(&mut csv, &record);
    assert!(csv.ends_with('\n'));
    let mut line = String::new();
    ndjson_line(&mut line, &record);
    let back = parse_ndjson_line(line.trim_end_matches('\n')).expect("our own line parses");
    assert_eq!(back, record, "NDJSON round trip");
});

//! `igctl audit verify-file` input: NDJSON lines from anywhere, fed to the verifier.
#![no_main]

use intentgate::domain::audit::ChainVerifier;
use intentgate::domain::audit::export::parse_ndjson_line;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut verifier = ChainVerifier::new(None, None);
    for line in text.lines() {
        if let Ok(record) = parse_ndjson_line(line) {
            let _ = verifier.feed(&record);
        }
    }
    let _ = verifier.finish(None);
});

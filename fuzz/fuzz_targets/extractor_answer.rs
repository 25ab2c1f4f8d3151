//! What an intent extractor answers, then the intent check against a tool name.
#![no_main]

use intentgate::adapters::extractor::parse_reply as parse_extractor_reply;
use intentgate::domain::intent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(found) = parse_extractor_reply(data) {
        let _ = intent::check(&found, "read_invoice");
        let _ = intent::check(&found, "");
    }
});

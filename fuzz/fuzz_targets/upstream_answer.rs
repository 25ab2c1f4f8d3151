//! What a tool server answers: a JSON-RPC body, or a `text/event-stream` fed in chunks
//! of any size. The SSE decoder must dispatch the same events however the bytes are
//! split, and never hold more than its bound.
#![no_main]

use intentgate::domain::jsonrpc::UpstreamMessage;
use intentgate::domain::mcp::{SseDecoder, SseEvent};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 4096;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = UpstreamMessage::parse(data) {
        let _ = message.is_error();
    }
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let whole = decode(stream, stream.len().max(1));
    let chunked = decode(stream, usize::from(split % 16) + 1);
    assert_eq!(whole, chunked, "chunking changed the events");
});

fn decode(stream: &[u8], chunk: usize) -> Result<Vec<SseEvent>, ()> {
    let mut decoder = SseDecoder::new(LIMIT);
    let mut events = Vec::new();
    for part in stream.chunks(chunk) {
        decoder.feed(part, &mut events).map_err(|_| ())?;
    }
    assert!(events.iter().all(|e| e.data.len() <= LIMIT));
    Ok(events)
}

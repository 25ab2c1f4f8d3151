//! Server-sent events as the MCP Streamable HTTP transport uses them: an incremental,
//! bounded decoder for what an upstream sends, and the encoder for what the gateway
//! sends its clients.
//!
//! The decoder follows the WHATWG `text/event-stream` parsing rules (lines end in LF,
//! CRLF or CR; `:` starts a comment; `data` lines join with LF; an empty line
//! dispatches; an event with no `data` is not dispatched). Crates that parse SSE keep
//! an unbounded line buffer; a gateway must not let one upstream grow its memory without
//! limit, so this one refuses an event larger than its bound.

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:`, when not the default `message`.
    pub event: Option<String>,
    /// `id:` of this event (the last one seen, as the spec's "last event ID").
    pub id: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// `retry:` in milliseconds, when this event carried one.
    pub retry: Option<u64>,
}

/// An event (or a line without an end) grew past the decoder's bound.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("server-sent event larger than {limit} bytes")]
pub struct EventTooLarge {
    pub limit: usize,
}

/// Feeds bytes in as they arrive; takes out whole events.
#[derive(Debug)]
pub struct SseDecoder {
    limit: usize,
    /// Bytes of a line not yet ended.
    line: Vec<u8>,
    /// A CR ended the last line: a LF right after it belongs to that line end.
    after_cr: bool,
    /// The event being assembled, and its size so far.
    pending: SseEvent,
    has_data: bool,
    pending_bytes: usize,
    last_id: Option<String>,
    /// At the very start of the stream a UTF-8 byte order mark is skipped.
    at_start: bool,
}

impl SseDecoder {
    /// A decoder that refuses any event whose lines add up to more than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            line: Vec::new(),
            after_cr: false,
            pending: SseEvent::default(),
            has_data: false,
            pending_bytes: 0,
            last_id: None,
            at_start: true,
        }
    }

    /// Consumes `chunk` and appends every event it completes to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), EventTooLarge> {
        if self.at_start && !chunk.is_empty() {
            self.at_start = false;
            chunk = chunk.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(chunk);
        }
        for &byte in chunk {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match byte {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.end_line(&line, out);
                }
                _ => {
                    self.line.push(byte);
                    if self.pending_bytes + self.line.len() > self.limit {
                        return Err(EventTooLarge { limit: self.limit });
                    }
                }
            }
        }
        Ok(())
    }

    /// The stream ended: an event not followed by an empty line is discarded, as the
    /// standard says.
    pub fn finish(self) {}

    fn end_line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.first() == Some(&b':') {
            return; // a comment, such as a keep-alive; it does not count towards the bound
        }
        self.pending_bytes += line.len() + 1;
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.pending.event = Some(value.to_owned()),
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.pending.retry = value.parse().ok();
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let mut event = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let had_data = std::mem::replace(&mut self.has_data, false);
        if !had_data {
            // Not dispatched; a reconnection time it set still holds for what follows.
            self.pending.retry = event.retry;
            return;
        }
        event.id.clone_from(&self.last_id);
        if event.event.as_deref() == Some("message") || event.event.as_deref() == Some("") {
            event.event = None;
        }
        out.push(event);
    }
}

/// Writes one event: `id`, `event`, `retry` when set, one `data:` line per line of
/// `data`, then the empty line that dispatches it.
pub fn encode_event(event: &SseEvent) -> String {
    let mut out = String::with_capacity(event.data.len() + 32);
    if let Some(id) = &event.id {
        push_field(&mut out, "id", id);
    }
    if let Some(name) = &event.event {
        push_field(&mut out, "event", name);
    }
    if let Some(retry) = event.retry {
        push_field(&mut out, "retry", &retry.to_string());
    }
    for line in event.data.split('\n') {
        push_field(&mut out, "data", line);
    }
    out.push('\n');
    out
}

/// One `data:` event carrying a JSON-RPC message (its trailing newline dropped).
pub fn message_event(json: &str) -> String {
    encode_event(&SseEvent {
        data: json.trim_end_matches('\n').to_owned(),
        ..SseEvent::default()
    })
}

/// A comment line: keeps idle connections open through proxies.
pub const KEEP_ALIVE: &str = ": keep-alive\n\n";

fn push_field(out: &mut String, name: &str, value: &str) {
    // A value never carries a line break: that would start another field.
    let value = value.replace(['\r', '\n'], " ");
    out.push_str(name);
    out.push_str(": ");
    out.push_str(&value);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in(chunks: &[&[u8]], limit: usize) -> Result<Vec<SseEvent>, EventTooLarge> {
        let mut decoder = SseDecoder::new(limit);
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut out)?;
        }
        Ok(out)
    }

    fn data(event: &SseEvent) -> &str {
        &event.data
    }

    #[test]
    fn an_event_split_across_reads_at_every_byte_decodes_the_same() {
        let stream = b"event: message\nid: 7\ndata: {\"a\":1}\n\ndata: two\n\n";
        let whole = decode_in(&[stream], 1024).unwrap();
        assert_eq!(whole.len(), 2);
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(decode_in(&[a, b], 1024).unwrap(), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(decode_in(&bytes, 1024).unwrap(), whole);
    }

    #[test]
    fn fields_are_read_as_the_standard_says() {
        let events = decode_in(
            &[b"id: 7\nevent: message\nretry: 1500\ndata: {\"a\":1}\n\n"],
            1024,
        )
        .unwrap();
        assert_eq!(
            events,
            vec![SseEvent {
                event: None,
                id: Some("7".into()),
                data: "{\"a\":1}".into(),
                retry: Some(1500),
            }]
        );
        let named = decode_in(&[b"event: endpoint\ndata:x\n\n"], 1024).unwrap();
        assert_eq!(named[0].event.as_deref(), Some("endpoint"));
        assert_eq!(data(&named[0]), "x", "no space after the colon is fine too");
    }

    #[test]
    fn comments_and_keep_alives_are_skipped() {
        let events =
            decode_in(&[b": ping\n\n:\n\ndata: a\n: mid-event comment\n\n"], 1024).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(data(&events[0]), "a");
    }

    #[test]
    fn multi_line_data_joins_with_newlines() {
        let events = decode_in(&[b"data: {\ndata: \"a\": 1\ndata: }\n\n"], 1024).unwrap();
        assert_eq!(data(&events[0]), "{\n\"a\": 1\n}");
    }

    #[test]
    fn crlf_and_cr_line_ends_work_even_split_between_reads() {
        let events = decode_in(&[b"data: a\r", b"\n\r", b"\ndata: b\r\r"], 1024).unwrap();
        let texts: Vec<&str> = events.iter().map(data).collect();
        assert_eq!(texts, ["a", "b"]);
    }

    #[test]
    fn events_without_data_are_not_dispatched_but_their_id_is_remembered() {
        let events = decode_in(&[b"id: 41\n\ndata: x\n\n"], 1024).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].id.as_deref(), Some("41"));
        let retry_alone = decode_in(&[b"retry: 500\n\ndata: x\n\n"], 1024).unwrap();
        assert_eq!(retry_alone[0].retry, Some(500), "a retry hint is not lost");
        // A priming event (an id and empty data) is dispatched with empty data.
        let priming = decode_in(&[b"id: 1\ndata:\n\n"], 1024).unwrap();
        assert_eq!(
            (priming[0].id.as_deref(), data(&priming[0])),
            (Some("1"), "")
        );
    }

    #[test]
    fn an_unterminated_event_at_the_end_is_not_dispatched() {
        let events = decode_in(&[b"data: done\n\ndata: half"], 1024).unwrap();
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped() {
        let events = decode_in(&[b"\xEF\xBB\xBFdata: x\n\n"], 1024).unwrap();
        assert_eq!(data(&events[0]), "x");
    }

    #[test]
    fn oversize_events_and_endless_lines_are_refused() {
        let big = format!("data: {}\n\n", "x".repeat(2000));
        assert_eq!(
            decode_in(&[big.as_bytes()], 1024),
            Err(EventTooLarge { limit: 1024 })
        );
        let endless = vec![b'x'; 5000];
        assert!(decode_in(&[b"data: ", &endless], 1024).is_err());
        let many_lines = "data: 0123456789\n".repeat(200);
        assert!(decode_in(&[many_lines.as_bytes()], 1024).is_err());
        // Many small events in a row are fine: the bound is per event.
        let many_events = "data: 0123456789\n\n".repeat(200);
        assert_eq!(
            decode_in(&[many_events.as_bytes()], 1024).unwrap().len(),
            200
        );
    }

    #[test]
    fn encoded_events_decode_back() {
        let event = SseEvent {
            event: Some("message".into()),
            id: Some("9".into()),
            data: "line one\nline two".into(),
            retry: Some(3000),
        };
        let text = encode_event(&event);
        assert_eq!(
            text,
            "id: 9\nevent: message\nretry: 3000\ndata: line one\ndata: line two\n\n"
        );
        let back = decode_in(&[text.as_bytes()], 1024).unwrap();
        assert_eq!(back[0].data, event.data);
        assert_eq!(back[0].id, event.id);
        assert_eq!(message_event("{\"a\":1}\n"), "data: {\"a\":1}\n\n");
    }
}

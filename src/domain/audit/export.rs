//! Export formats: the reference's CSV (RFC 4180 as Go's `encoding/csv` writes it) and
//! NDJSON, each row extended with its chain position so the file verifies offline.

use std::borrow::Cow;

use serde_json::Value;

use super::{AuditEvent, ChainedEvent};
use crate::domain::gojson::write_str;
use crate::domain::time::Timestamp;

/// The reference's 22 columns, then ours.
pub const CSV_COLUMNS: [&str; 26] = [
    "ts",
    "event",
    "schema_version",
    "decision",
    "check",
    "reason",
    "tenant",
    "agent_id",
    "session_id",
    "tool",
    "arg_keys",
    "capability_token_id",
    "root_capability_token_id",
    "caveat_count",
    "pending_id",
    "decided_by",
    "intent_summary",
    "latency_ms",
    "remote_ip",
    "upstream_status",
    "requires_step_up",
    "elevation_id",
    "chain",
    "seq",
    "prev_hash",
    "hash",
];

pub fn csv_header(out: &mut String) {
    write_csv_row(out, CSV_COLUMNS.iter().copied());
}

/// One CSV row; `arg_values` are never exported as CSV.
pub fn csv_row(out: &mut String, rec: &ChainedEvent) {
    let e = &rec.event;
    let ts = e.ts.to_rfc3339_nano();
    let (keys, caveats, latency) = (
        e.arg_keys.join(";"),
        e.caveat_count.to_string(),
        e.latency_ms.to_string(),
    );
    let (upstream, seq) = (e.upstream_status.to_string(), rec.seq.to_string());
    let fields = [
        ts.as_str(),
        &e.event,
        &e.schema_version,
        &e.decision,
        &e.check,
        &e.reason,
        &e.tenant,
        &e.agent_id,
        &e.session_id,
        &e.tool,
        &keys,
        &e.capability_token_id,
        &e.root_capability_token_id,
        &caveats,
        &e.pending_id,
        &e.decided_by,
        &e.intent_summary,
        &latency,
        &e.remote_ip,
        &upstream,
        if e.requires_step_up { "true" } else { "false" },
        &e.elevation_id,
        &rec.chain,
        &seq,
        &rec.prev_hash,
        &rec.hash,
    ];
    write_csv_row(out, fields.into_iter());
}

fn write_csv_row<'a>(out: &mut String, fields: impl Iterator<Item = &'a str>) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let field = neutralised(field);
        let field = field.as_ref();
        if needs_quotes(field) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push('\n');
}

/// A cell a spreadsheet would run as a formula, made text with a leading `'` (OWASP's
/// CSV-injection advice): it begins with `=`, `+`, `-`, `@`, tab, CR or LF, or with
/// `=`, `+`, `-` or `@` after leading whitespace or quotes. Agents choose tool names,
/// reasons and session ids, and auditors open exports in spreadsheets. Only the CSV
/// changes; the NDJSON export and the hashes keep the recorded text.
fn neutralised(field: &str) -> Cow<'_, str> {
    const TRIGGERS: [char; 4] = ['=', '+', '-', '@'];
    let unpadded = field.trim_start_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'');
    let formula = field.starts_with(['\t', '\r', '\n']) || unpadded.starts_with(TRIGGERS);
    match formula {
        true => Cow::Owned(format!("'{field}")),
        false => Cow::Borrowed(field),
    }
}

/// Go's `fieldNeedsQuotes` with `,` as separator.
fn needs_quotes(field: &str) -> bool {
    if field.is_empty() {
        return false;
    }
    field == "\\."
        || field
            .bytes()
            .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
        || field.chars().next().is_some_and(char::is_whitespace)
}

/// One NDJSON line: the event's wire JSON plus `chain`, `seq`, `prev_hash`, `hash`.
pub fn ndjson_line(out: &mut String, rec: &ChainedEvent) {
    rec.event.write_json(out);
    // Reopen the event's object to append the chain position.
    out.pop();
    out.push_str(",\"chain\":");
    write_str(out, &rec.chain);
    out.push_str(",\"seq\":");
    out.push_str(&rec.seq.to_string());
    out.push_str(",\"prev_hash\":");
    write_str(out, &rec.prev_hash);
    out.push_str(",\"hash\":");
    write_str(out, &rec.hash);
    out.push_str("}\n");
}

/// Reads one NDJSON export line back into a chained record, for offline verification.
/// Missing optional fields take their empty values, as the writer omitted them.
pub fn parse_ndjson_line(line: &str) -> Result<ChainedEvent, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    let text = |k: &str| -> Result<String, String> {
        match obj.get(k) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("{k}: want a string")),
        }
    };
    let int = |k: &str| -> Result<i64, String> {
        match obj.get(k) {
            None => Ok(0),
            Some(n) => n.as_i64().ok_or(format!("{k}: want an integer")),
        }
    };
    let ts = Timestamp::parse_rfc3339(&text("ts")?).map_err(|e| format!("ts: {e}"))?;
    let arg_keys = match obj.get("arg_keys") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or("arg_keys: want strings")
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("arg_keys: want an array".into()),
    };
    let event = AuditEvent {
        ts,
        event: text("event")?,
        schema_version: text("schema_version")?,
        decision: text("decision")?,
        check: text("check")?,
        reason: text("reason")?,
        tenant: text("tenant")?,
        agent_id: text("agent_id")?,
        session_id: text("session_id")?,
        tool: text("tool")?,
        arg_keys,
        arg_values: obj.get("arg_values").cloned(),
        capability_token_id: text("capability_token_id")?,
        root_capability_token_id: text("root_capability_token_id")?,
        caveat_count: int("caveat_count")?,
        pending_id: text("pending_id")?,
        decided_by: text("decided_by")?,
        intent_summary: text("intent_summary")?,
        latency_ms: int("latency_ms")?,
        remote_ip: text("remote_ip")?,
        upstream_status: int("upstream_status")?,
        requires_step_up: obj.get("requires_step_up") == Some(&Value::Bool(true)),
        elevation_id: text("elevation_id")?,
        token_issuer: text("token_issuer")?,
        client_id: text("client_id")?,
    };
    let seq = obj
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or("seq: missing")?;
    Ok(ChainedEvent {
        chain: text("chain")?,
        seq,
        prev_hash: text("prev_hash")?,
        hash: text("hash")?,
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> ChainedEvent {
        let mut e = AuditEvent::new(
            Timestamp::parse_rfc3339("2026-05-12T10:00:00Z").unwrap(),
            "allow",
            "read",
        );
        e.tenant = "acme".into();
        e.agent_id = "agent-a".into();
        e.arg_keys = vec!["id".into(), "scope".into()];
        e.latency_ms = 17;
        e.upstream_status = 200;
        e.requires_step_up = true;
        e.elevation_id = "elev-9".into();
        e.reason = "a, \"b\"".into();
        ChainedEvent {
            chain: "acme".into(),
            seq: 3,
            prev_hash: "p".into(),
            hash: "h".into(),
            event: e,
        }
    }

    #[test]
    fn csv_rows_match_the_reference_columns() {
        let mut out = String::new();
        csv_row(&mut out, &rec());
        assert_eq!(
            out,
            "2026-05-12T10:00:00Z,intentgate.tool_call,6,allow,,\"a, \"\"b\"\"\",acme,agent-a,,read,\
             id;scope,,,0,,,,17,,200,true,elev-9,acme,3,p,h\n"
        );
    }

    #[test]
    fn formula_triggers_are_made_text() {
        let cell = |field: &str| {
            let mut out = String::new();
            write_csv_row(&mut out, [field].into_iter());
            out
        };
        for (field, want) in [
            ("=1+1", "'=1+1\n"),
            ("+1", "'+1\n"),
            ("-2", "'-2\n"),
            ("@SUM(A1)", "'@SUM(A1)\n"),
            ("\t=1", "'\t=1\n"),
            ("\r=1", "\"'\r=1\"\n"),
            ("\n=1", "\"'\n=1\"\n"),
            ("  =1", "'  =1\n"),
            ("\"=1", "\"'\"\"=1\"\n"),
            ("'=1", "''=1\n"),
            (" \"@x", "\"' \"\"@x\"\n"),
        ] {
            assert_eq!(cell(field), want, "{field:?}");
        }
        for harmless in ["read_invoice", "2026-05-12T10:00:00Z", "a=b", "", " x", "0"] {
            assert!(!cell(harmless).contains('\''), "{harmless:?} was changed");
        }
    }

    #[test]
    fn go_quotes_leading_space_but_not_empty() {
        assert!(needs_quotes(" x") && needs_quotes("\\.") && !needs_quotes(""));
    }

    #[test]
    fn ndjson_appends_chain_fields() {
        let mut out = String::new();
        ndjson_line(&mut out, &rec());
        assert!(
            out.ends_with(",\"chain\":\"acme\",\"seq\":3,\"prev_hash\":\"p\",\"hash\":\"h\"}\n")
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["elevation_id"], "elev-9");
    }

    #[test]
    fn ndjson_lines_read_back_to_the_same_record() {
        let mut r = rec();
        r.event.arg_values = Some(serde_json::json!({"id": 5}));
        let mut out = String::new();
        ndjson_line(&mut out, &r);
        assert_eq!(parse_ndjson_line(out.trim_end()), Ok(r));
        assert!(parse_ndjson_line("{\"ts\":\"x\"}").is_err());
    }
}

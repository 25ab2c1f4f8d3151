use super::*;

fn parse(body: &str) -> Result<Request, EnvelopeError> {
    Request::parse(body.as_bytes())
}

#[test]
fn keeps_raw_ids_and_detects_notifications() {
    let r = parse(r#"{"jsonrpc":"2.0","id":"abc-123","method":"ping"}"#).unwrap();
    assert_eq!(r.id_json(), r#""abc-123""#);
    assert!(!r.is_notification());
    let null_id = parse(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#).unwrap();
    assert_eq!(null_id.id_json(), "null");
    assert!(!null_id.is_notification());
    let note = parse(r#"{"jsonrpc":"2.0","method":"ping"}"#).unwrap();
    assert!(note.is_notification());
    let big = parse(r#"{"jsonrpc":"2.0","id":12345678901234567890,"method":"x"}"#).unwrap();
    assert_eq!(big.id_json(), "12345678901234567890");
}

#[test]
fn keys_fold_and_unknown_members_are_ignored() {
    let r = parse(r#"{"JSONRPC":"2.0","Method":"ping","extra":[1],"id":1}"#).unwrap();
    assert_eq!((r.jsonrpc.as_str(), r.method.as_str()), ("2.0", "ping"));
    assert!(r.validate().is_ok());
}

#[test]
fn parse_errors_carry_go_texts() {
    let data = |body: &str| parse(body).unwrap_err().data.unwrap();
    assert_eq!(
        data("xx"),
        "invalid character 'x' looking for beginning of value"
    );
    assert_eq!(
        data(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#),
        "json: cannot unmarshal array into Go value of type mcp.Request"
    );
    assert_eq!(
        data(r#"{"jsonrpc":"2.0","method":5}"#),
        "json: cannot unmarshal number into Go struct field Request.method of type string"
    );
    let err = parse("xx").unwrap_err();
    assert_eq!((err.code, err.message.as_str()), (-32700, "invalid JSON"));
}

#[test]
fn validation_messages() {
    let err = parse(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#)
        .unwrap()
        .validate()
        .unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str(), err.data),
        (-32600, "\"jsonrpc\" field must be \"2.0\"", None)
    );
    let err = parse(r#"{"jsonrpc":"2.0","id":1}"#)
        .unwrap()
        .validate()
        .unwrap_err();
    assert_eq!(err.message, "\"method\" field is required");
    assert!(parse("null").unwrap().validate().is_err());
}

#[test]
fn tool_call_params_errors() {
    let raw = |s: &str| RawValue::from_string(s.to_owned()).unwrap();
    let absent = parse_tool_call(None).unwrap_err();
    assert_eq!(
        (absent.code, absent.data.as_deref()),
        (-32602, Some("unexpected end of JSON input"))
    );
    let null = parse_tool_call(Some(&raw("null"))).unwrap_err();
    assert_eq!(
        (null.message.as_str(), null.data),
        ("params.name is required", None)
    );
    let empty = parse_tool_call(Some(&raw("{}"))).unwrap_err();
    assert_eq!(empty.message, "params.name is required");
    let args = parse_tool_call(Some(&raw(r#"{"name":"x","arguments":[1]}"#))).unwrap_err();
    assert_eq!(
        args.data.as_deref(),
        Some(
            "json: cannot unmarshal array into Go struct field ToolCallParams.arguments of type map[string]interface {}"
        )
    );
    let ok = parse_tool_call(Some(&raw(
        r#"{"NAME":"read","arguments":{"id":"1"},"_meta":{}}"#,
    )))
    .unwrap();
    assert_eq!(ok.name, "read");
    assert_eq!(ok.arguments.get("id"), Some(&Value::String("1".into())));
}

#[test]
fn a_tool_named_twice_is_refused_whatever_the_case() {
    let raw = |s: &str| RawValue::from_string(s.to_owned()).unwrap();
    for params in [
        r#"{"name":"send_email","Name":"read_invoice"}"#,
        r#"{"name":"read_invoice","name":"send_email"}"#,
        r#"{"name":"x","arguments":{},"ARGUMENTS":{"a":1}}"#,
    ] {
        let e = parse_tool_call(Some(&raw(params))).unwrap_err();
        assert_eq!(e.message, "invalid tools/call params", "{params}");
        assert!(
            e.data.unwrap_or_default().starts_with("ambiguous member"),
            "{params}"
        );
    }
}

#[test]
fn every_envelope_is_forwarded_with_the_members_the_gateway_read() {
    let disguised = parse(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send_email"},"Method":"ping"}"#).unwrap();
    assert_eq!(disguised.method, "ping", "Go's reading: the last key wins");
    assert_eq!(
        disguised.forward_body(),
        r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"name":"send_email"}}"#
    );
    let answer =
        parse(r#"{"jsonrpc":"2.0","id":"srv-1","result":{"ok":true},"METHOD":""}"#).unwrap();
    assert!(answer.is_response());
    assert_eq!(
        answer.forward_body(),
        r#"{"jsonrpc":"2.0","id":"srv-1","result":{"ok":true}}"#
    );
}

#[test]
fn forwarded_body_is_reserialized() {
    let r = parse(r#"{"jsonrpc":"2.0", "id": 1, "method":"tools/call","params":{"name":"read_invoice","arguments":{"q":"<x>"},"_meta":{"progressToken":1}},"extra":1}"#).unwrap();
    assert_eq!(
        r.forward_body(),
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_invoice","arguments":{"q":"\u003cx\u003e"},"_meta":{"progressToken":1}}}"#
    );
}

#[test]
fn responses_are_go_encoded() {
    assert_eq!(
        success("1", "{}"),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n"
    );
    assert_eq!(
        error("null", -32600, "\"method\" field is required", None),
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"\\\"method\\\" field is required\"}}\n"
    );
    assert_eq!(
        error("1", -32010, "capability check failed", Some("\"x\"")),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32010,\"message\":\"capability check failed\",\"data\":\"x\"}}\n"
    );
}

#[test]
fn stub_result_matches_reference_bytes() {
    assert_eq!(
        success("1", &stub_result(0)),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"stub: no upstream configured; gateway authorized this call\"}],\"isError\":false,\"_intentgate\":{\"decision\":\"allow\",\"reason\":\"stub: no upstream configured\",\"latency_ms\":0}}}\n"
    );
}

fn meta() -> CallMeta {
    CallMeta {
        reason: "forwarded".into(),
        latency_ms: 3,
    }
}

#[test]
fn relay_sorts_object_results_and_keeps_client_id_and_extras() {
    let m = UpstreamMessage::parse(br#"{"jsonrpc":"2.0","id":99,"result":{"content":[],"isError":false,"Zeta":1,"_intentgate":"x"},"extra":{"a":"<b>"}}"#).unwrap();
    assert_eq!(
        m.relay("\"client\"", Some(&meta())),
        "{\"jsonrpc\":\"2.0\",\"id\":\"client\",\"result\":{\"Zeta\":1,\"_intentgate\":{\"decision\":\"allow\",\"reason\":\"forwarded\",\"latency_ms\":3},\"content\":[],\"isError\":false},\"extra\":{\"a\":\"\\u003cb\\u003e\"}}\n"
    );
}

#[test]
fn relay_passes_errors_and_odd_results_through() {
    let err = UpstreamMessage::parse(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"db unavailable","data":12345678901234567890}}"#).unwrap();
    assert!(err.is_error());
    assert_eq!(
        err.relay("1", Some(&meta())),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,\"message\":\"db unavailable\",\"data\":12345678901234567890}}\n"
    );
    let null = UpstreamMessage::parse(br#"{"jsonrpc":"2.0","id":1,"result":null}"#).unwrap();
    assert_eq!(
        null.relay("1", Some(&meta())),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}\n"
    );
    let list = UpstreamMessage::parse(br#"{"id":1,"result":[1, 2]}"#).unwrap();
    assert_eq!(
        list.relay("1", Some(&meta())),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[1,2]}\n"
    );
}

#[test]
fn non_json_rpc_bodies_are_rejected_with_go_texts() {
    assert_eq!(
        UpstreamMessage::parse(b"hello").unwrap_err(),
        "invalid character 'h' looking for beginning of value"
    );
    assert_eq!(
        UpstreamMessage::parse(b"").unwrap_err(),
        "unexpected end of JSON input"
    );
    assert!(UpstreamMessage::parse(b"[1]").is_err());
}

#[test]
fn argument_numbers_are_read_exactly_as_go_reads_them() {
    // Found by the gojson fuzz target: the release binary read this as
    // 1.2215430345678899e55 (serde_json without `float_roundtrip`), so the policy, the
    // audit and the forwarded call saw another number than the agent sent. Test builds
    // never showed it: a dev-dependency (jsonschema) turns the feature on for them, so
    // this test guards the contract and the Cargo.toml line guards the binary.
    let body = r#"{"name":"t","arguments":{"x":1.2215430345678901e+55,"y":0.1234567}}"#;
    let params = RawValue::from_string(body.to_owned()).unwrap();
    let call = parse_tool_call(Some(&params)).unwrap();
    assert_eq!(
        call.arguments["x"].as_f64(),
        Some(1.221_543_034_567_890_1e55)
    );
    assert_eq!(call.arguments["y"].as_f64(), Some(0.123_456_7));
}

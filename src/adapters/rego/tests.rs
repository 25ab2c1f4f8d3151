use serde_json::json;

use super::*;

fn default_engine() -> RegoPolicies {
    RegoPolicies::new(DEFAULT_POLICY).unwrap()
}

fn decide(engine: &RegoPolicies, tenant: &str, input: Value) -> (bool, String) {
    let d = engine.evaluate(tenant, input).unwrap();
    (d.allow, d.reason)
}

#[test]
fn default_policy_matches_the_reference_table() {
    let e = default_engine();
    let cases = [
        (json!({"tool": "read_invoice"}), true, "read-only tool"),
        (
            json!({"tool": "read_anything_at_all"}),
            true,
            "read-only tool",
        ),
        (json!({"tool": "web_search"}), true, "routine write tool"),
        (
            json!({"tool": "send_carrier_pigeon"}),
            false,
            "no policy rule matched (default deny)",
        ),
        (
            json!({"tool": "drop_table"}),
            false,
            "destructive tool blocked by policy",
        ),
        (
            json!({"tool": "transfer_funds", "args": {"amount_eur": 1240}}),
            true,
            "transfer at or below 10000 EUR threshold",
        ),
        (
            json!({"tool": "transfer_funds", "args": {"amount_eur": 10000}}),
            true,
            "transfer at or below 10000 EUR threshold",
        ),
        (
            json!({"tool": "transfer_funds", "args": {"amount_eur": 10001}}),
            false,
            "transfer above 10000 EUR threshold",
        ),
        (
            json!({"tool": "transfer_funds", "args": {"amount_eur": 10000.5}}),
            false,
            "transfer above 10000 EUR threshold",
        ),
        (
            json!({"tool": "transfer_funds", "args": {"amount_eur": "5000"}}),
            true,
            "transfer at or below 10000 EUR threshold",
        ),
        (
            json!({"tool": "transfer_funds", "args": {"amount_eur": null}}),
            true,
            "transfer at or below 10000 EUR threshold",
        ),
        (
            json!({"tool": "transfer_funds", "args": {"amount_eur": "abc"}}),
            false,
            "no policy rule matched (default deny)",
        ),
        (
            json!({"tool": "transfer_funds"}),
            false,
            "no policy rule matched (default deny)",
        ),
    ];
    for (input, allow, reason) in cases {
        assert_eq!(
            decide(&e, "", input.clone()),
            (allow, reason.to_owned()),
            "{input}"
        );
    }
}

#[test]
fn tenant_slots_dispatch_and_fall_back() {
    let e = default_engine();
    let deny_all = "package intentgate.policy\nimport rego.v1\ndefault decision := {\"allow\": false, \"reason\": \"acme says no\"}\n";
    e.install("acme", deny_all).unwrap();
    assert_eq!(
        decide(&e, "acme", json!({"tool": "read_x"})),
        (false, "acme says no".into())
    );
    assert!(decide(&e, "globex", json!({"tool": "read_x"})).0);
    e.remove("acme");
    assert!(decide(&e, "acme", json!({"tool": "read_x"})).0);
    e.remove("");
    assert!(
        decide(&e, "", json!({"tool": "read_x"})).0,
        "the default slot stays"
    );
}

#[test]
fn undefined_and_malformed_decisions_fail() {
    let e = default_engine();
    let undefined = "package intentgate.policy\nimport rego.v1\ndecision := {\"allow\": true} if input.tool == \"never\"\n";
    e.install("u", undefined).unwrap();
    assert_eq!(
        e.evaluate("u", json!({"tool": "x"})).unwrap_err(),
        "policy: no decision returned (missing default rule?)"
    );
    let no_allow = "package intentgate.policy\nimport rego.v1\ndecision := {\"reason\": \"x\"}\n";
    e.install("n", no_allow).unwrap();
    assert_eq!(
        e.evaluate("n", json!({"tool": "x"})).unwrap_err(),
        "policy: decision missing \"allow\" boolean"
    );
}

#[test]
fn escalate_and_step_up_come_through() {
    let e = default_engine();
    let src = "package intentgate.policy\nimport rego.v1\ndecision := {\"allow\": false, \"escalate\": true, \"requires_step_up\": true, \"reason\": \"needs human\"}\n";
    e.install("", src).unwrap();
    let d = e.evaluate("", json!({"tool": "x"})).unwrap();
    assert!(d.escalate && d.requires_step_up && !d.allow);
    assert_eq!(d.reason, "needs human");
}

#[test]
fn bad_source_is_rejected_and_keeps_the_old_policy() {
    let e = default_engine();
    assert!(
        e.compile_check("package intentgate.policy\ndecision := {")
            .is_err()
    );
    assert!(e.install("", "not rego at all").is_err());
    assert!(decide(&e, "", json!({"tool": "read_x"})).0);
}

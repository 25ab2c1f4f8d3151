//! Mint, revoke and revocations (reference-admin-audit §13, scenarios 9–17).

use intentgate::adapters::clock::SystemClock;
use intentgate::domain::token::{MasterKey, decode, verify_offline};
use intentgate::ports::Clock;
use serde_json::{Value, json};

use crate::support::{ADMIN_ENV, Backend, KEY_B64, TestGateway};

async fn mint(gw: &TestGateway, token: &str, body: Value) -> Value {
    let a = gw
        .admin(
            "POST",
            "/v1/admin/mint",
            Some(token),
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.text.ends_with("}\n"));
    a.json()
}

pub async fn s09_minted_tokens_verify_and_are_audited(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    let body = json!({"subject":"finance-copilot","ttl_seconds":60,"tools":["read_invoice","list_invoices"],"max_calls":50});
    let v = mint(&gw, "super", body).await;
    let key = MasterKey::parse(KEY_B64).unwrap();
    let token = verify_offline(
        v["token"].as_str().unwrap(),
        &key,
        SystemClock.now(),
        "read_invoice",
    )
    .unwrap();
    assert_eq!(v["jti"], token.jti.as_str());
    assert_eq!(v["subject"], "finance-copilot");
    let expires = v["expires_at"].as_str().unwrap();
    assert!(
        expires.ends_with('Z') && !expires.contains('.'),
        "{expires}"
    );
    let kinds: Vec<&str> = token.cav.iter().map(|c| c.t.as_str()).collect();
    assert_eq!(kinds, ["agent_lock", "exp", "tool_allow", "max_calls"]);
    assert_eq!(token.cav[0].agent, "finance-copilot");
    assert_eq!(token.cav[2].tools.len(), 2);
    assert_eq!(token.cav[3].max_calls, 50);
    let events = gw.audit("default").await;
    assert_eq!(events.len(), 1);
    let e = &events[0].event;
    assert_eq!(
        (e.tool.as_str(), e.decision.as_str(), e.check.as_str()),
        ("admin/mint", "allow", "capability")
    );
    assert_eq!(e.capability_token_id, token.jti);
    assert_eq!(e.root_capability_token_id, token.jti);
    assert_eq!(e.agent_id, "finance-copilot");
    assert_eq!(e.caveat_count, 4);
    assert_eq!(e.reason, "token minted for subject=finance-copilot");
}

pub async fn s10_s12_s13_optional_caveats(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    let plain = mint(&gw, "super", json!({"subject":"agent-x"})).await;
    assert_eq!(plain["expires_at"], "");
    let t = decode(plain["token"].as_str().unwrap()).unwrap();
    assert_eq!(t.cav.len(), 1);
    assert_eq!(t.tenant, "default");
    let before = SystemClock.now().unix_seconds();
    let stepped = mint(&gw, "super", json!({"subject":"a","step_up":true})).await;
    let t = decode(stepped["token"].as_str().unwrap()).unwrap();
    let step = t.cav.iter().find(|c| c.t == "step_up").unwrap();
    assert!((before..=SystemClock.now().unix_seconds()).contains(&step.step_up_at));
    let tools = mint(
        &gw,
        "super",
        json!({"subject":"a","tools":["a"," ","b",""]}),
    )
    .await;
    let t = decode(tools["token"].as_str().unwrap()).unwrap();
    assert_eq!(t.cav[1].tools, ["a", "b"]);
}

pub async fn s11_mint_validation(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    let cases = [
        ("{}", "{\"error\":\"subject is required\"}\n"),
        (
            "{\"subject\":\"  \"}",
            "{\"error\":\"subject is required\"}\n",
        ),
        (
            "{\"subject\":\"a\",\"ttl_seconds\":-1}",
            "{\"error\":\"ttl_seconds must be \\u003e= 0\"}\n",
        ),
        (
            "{\"subject\":\"a\",\"max_calls\":-5}",
            "{\"error\":\"max_calls must be \\u003e= 0\"}\n",
        ),
        (
            "{\"subject\":\"a\",\"foo\":1}",
            "{\"error\":\"invalid JSON: json: unknown field \\\"foo\\\"\"}\n",
        ),
        ("", "{\"error\":\"invalid JSON: EOF\"}\n"),
    ];
    for (body, want) in cases {
        let a = gw
            .admin("POST", "/v1/admin/mint", Some("super"), Some(body))
            .await;
        assert_eq!((a.status, a.text.as_str()), (400, want), "{body}");
        assert_eq!(a.header("x-intentgate-error-code"), "bad_request");
    }
    for body in [
        "{\"subject\":",
        "{\"subject\":5}",
        "[]",
        "{\"subject\":\"a\",\"ttl_seconds\":\"60\"}",
    ] {
        let a = gw
            .admin("POST", "/v1/admin/mint", Some("super"), Some(body))
            .await;
        assert_eq!(a.status, 400, "{body}");
        assert!(
            a.json()["error"]
                .as_str()
                .unwrap()
                .starts_with("invalid JSON: "),
            "{}",
            a.text
        );
    }
    assert!(
        gw.audit("default").await.is_empty(),
        "rejected mints are not audited"
    );
}

pub async fn s15_tenant_admins_mint_in_their_tenant(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    let body = json!({"subject":"a","tenant":"globex"}).to_string();
    let a = gw
        .admin("POST", "/v1/admin/mint", Some("tok-acme"), Some(&body))
        .await;
    assert_eq!(
        (a.status, a.text.as_str()),
        (
            403,
            "{\"error\":\"tenant in body does not match admin token's tenant\"}\n"
        )
    );
    let v = mint(&gw, "tok-acme", json!({"subject":"a"})).await;
    assert_eq!(decode(v["token"].as_str().unwrap()).unwrap().tenant, "acme");
    assert_eq!(gw.audit("acme").await[0].event.tenant, "acme");
    let v = mint(&gw, "super", json!({"subject":"a","tenant":" globex "})).await;
    assert_eq!(
        decode(v["token"].as_str().unwrap()).unwrap().tenant,
        "globex"
    );
}

async fn call_status(gw: &TestGateway, token: &str) -> Value {
    gw.call("read_invoice", json!({}), Some(token)).await
}

pub async fn s16_revocation_is_tenant_scoped(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    let globex = mint(&gw, "tok-globex", json!({"subject":"bot"})).await;
    let (token, jti) = (
        globex["token"].as_str().unwrap(),
        globex["jti"].as_str().unwrap(),
    );
    let body = json!({"jti": jti}).to_string();
    let a = gw
        .admin_with(
            "POST",
            "/v1/admin/revoke",
            Some("tok-acme"),
            Some(&body),
            &[("X-IntentGate-Elevation-Id", " elev-7 ")],
        )
        .await;
    assert_eq!(
        (a.status, a.text.clone()),
        (200, format!("{{\"jti\":\"{jti}\",\"ok\":true}}\n"))
    );
    let passed = call_status(&gw, token).await;
    assert!(passed["error"]["code"] != -32010, "{passed}");
    let e = gw.audit("acme").await.pop().unwrap().event;
    assert_eq!(
        (e.tool.as_str(), e.decision.as_str()),
        ("admin/revoke", "block")
    );
    assert_eq!(
        (e.reason.as_str(), e.elevation_id.as_str()),
        ("token revoked: ", "elev-7")
    );
    assert_eq!(e.capability_token_id, jti);
    let body = json!({"jti": jti, "reason": "leaked"}).to_string();
    assert_eq!(
        gw.admin("POST", "/v1/admin/revoke", Some("super"), Some(&body))
            .await
            .status,
        200
    );
    let blocked = call_status(&gw, token).await;
    assert_eq!(blocked["error"]["code"], -32010, "{blocked}");
    let empty = gw
        .admin("POST", "/v1/admin/revoke", Some("super"), Some("{}"))
        .await;
    assert_eq!(
        (empty.status, empty.text.as_str()),
        (400, "{\"error\":\"jti is required\"}\n")
    );
    let strict = gw
        .admin(
            "POST",
            "/v1/admin/revoke",
            Some("super"),
            Some("{\"jti\":\"x\",\"x\":1}"),
        )
        .await;
    assert_eq!(strict.status, 400);
}

pub async fn s17_revocation_listing(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    for (token, jti) in [
        ("tok-acme", "a1"),
        ("super", "g1"),
        ("tok-acme", "a2"),
        ("tok-globex", "x1"),
    ] {
        let body = json!({"jti": jti, "reason": "r"}).to_string();
        assert_eq!(
            gw.admin("POST", "/v1/admin/revoke", Some(token), Some(&body))
                .await
                .status,
            200
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let jtis = |v: &Value| -> Vec<String> {
        v["revocations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["jti"].as_str().unwrap().to_owned())
            .collect()
    };
    let acme = gw
        .admin("GET", "/v1/admin/revocations", Some("tok-acme"), None)
        .await
        .json();
    assert_eq!(jtis(&acme), ["a2", "a1"]);
    assert_eq!(acme["revocations"][0]["tenant"], "acme");
    // The reference read `limit=abc` as the default; the document says integer, so
    // it is refused with a message that names the parameter.
    let not_a_number = gw
        .admin(
            "GET",
            "/v1/admin/revocations?limit=abc",
            Some("super"),
            None,
        )
        .await;
    assert_eq!(
        (not_a_number.status, not_a_number.json()["error"].clone()),
        (400, json!("limit must be an integer"))
    );
    let all = gw
        .admin("GET", "/v1/admin/revocations", Some("super"), None)
        .await
        .json();
    assert_eq!(jtis(&all), ["x1", "a2", "g1", "a1"]);
    assert_eq!(
        (all["limit"].clone(), all["offset"].clone()),
        (json!(100), json!(0))
    );
    assert!(all["revocations"][1].get("tenant").is_some());
    assert!(
        all["revocations"][2].get("tenant").is_none(),
        "global rows omit the tenant"
    );
    let past = gw
        .admin(
            "GET",
            "/v1/admin/revocations?offset=10",
            Some("super"),
            None,
        )
        .await;
    assert_eq!(
        past.text,
        "{\"limit\":100,\"offset\":10,\"revocations\":[]}\n"
    );
    let body = json!({"jti": "a1", "reason": "updated"}).to_string();
    gw.admin("POST", "/v1/admin/revoke", Some("tok-acme"), Some(&body))
        .await;
    let acme = gw
        .admin("GET", "/v1/admin/revocations", Some("tok-acme"), None)
        .await
        .json();
    assert_eq!(
        jtis(&acme),
        ["a2", "a1"],
        "re-revoking keeps the first revoked_at"
    );
    assert_eq!(acme["revocations"][1]["reason"], "updated");
}

pub async fn go_decoding_nulls_trailing_data_and_oversize(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    let body =
        r#"{"subject":"a","issuer":null,"tools":["x"," "],"ttl_seconds":null,"tenant":null}"#;
    let v = mint(&gw, "super", serde_json::from_str(body).unwrap()).await;
    let t = decode(v["token"].as_str().unwrap()).unwrap();
    assert_eq!(
        (t.iss.as_str(), t.tenant.as_str()),
        ("intentgate", "default"),
        "a null optional field is as good as absent"
    );
    assert_eq!(t.cav[1].tools, ["x"], "a blank name is dropped");
    // Go read a null item as ""; the document says the items are strings.
    let null_item = gw
        .admin(
            "POST",
            "/v1/admin/mint",
            Some("super"),
            Some(r#"{"subject":"a","tools":["x",null]}"#),
        )
        .await;
    assert_eq!(null_item.status, 400, "{}", null_item.text);
    let trailing = gw
        .admin(
            "POST",
            "/v1/admin/revoke",
            Some("super"),
            Some("{\"jti\":\"j\"} trailing"),
        )
        .await;
    assert_eq!(
        trailing.status, 200,
        "Go's decoder reads the first value only"
    );
    let huge = format!("{{\"jti\":\"{}\"}}", "x".repeat(70 * 1024));
    let big = gw
        .admin("POST", "/v1/admin/revoke", Some("super"), Some(&huge))
        .await;
    assert_eq!(
        (big.status, big.text.as_str()),
        (400, "{\"error\":\"invalid JSON: unexpected EOF\"}\n")
    );
}

//! Admin authentication and tenants (reference-admin-audit §13, scenarios 1–8).

use crate::support::{ADMIN_ENV, Backend, TestGateway};

const UNAUTHORIZED: &str = "{\"error\":\"invalid or missing admin token\"}\n";

pub async fn s01_tokens_are_checked_before_anything_else(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    for token in [None, Some("wrong"), Some("")] {
        let a = gw.admin("GET", "/v1/admin/audit", token, None).await;
        assert_eq!((a.status, a.text.as_str()), (401, UNAUTHORIZED));
        assert_eq!(a.header("content-type"), "application/json");
        assert_eq!(a.header("x-intentgate-error-code"), "unauthorized");
    }
    // Auth comes before body validation.
    let a = gw
        .admin("POST", "/v1/admin/mint", None, Some("{nope"))
        .await;
    assert_eq!(a.status, 401);
    assert_eq!(
        gw.admin("GET", "/v1/admin/audit", Some("super"), None)
            .await
            .status,
        200
    );
    // A bare token without the scheme is accepted, as in the reference; `bearer` is not.
    let bare = gw
        .admin_with(
            "GET",
            "/v1/admin/tenants",
            None,
            None,
            &[("Authorization", "super")],
        )
        .await;
    assert_eq!(bare.status, 200);
    let lower = gw
        .admin_with(
            "GET",
            "/v1/admin/tenants",
            None,
            None,
            &[("Authorization", "bearer super")],
        )
        .await;
    assert_eq!(lower.status, 401);
}

pub async fn s02_to_s04_tenants(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    let all = gw
        .admin("GET", "/v1/admin/tenants", Some("super"), None)
        .await;
    assert_eq!(
        all.text,
        "{\"tenants\":[{\"id\":\"acme\",\"has_admin\":true},{\"id\":\"globex\",\"has_admin\":true}]}\n"
    );
    let own = gw
        .admin("GET", "/v1/admin/tenants", Some("tok-acme"), None)
        .await;
    assert_eq!(
        own.text,
        "{\"tenants\":[{\"id\":\"acme\",\"has_admin\":true}]}\n"
    );
    let only_super = TestGateway::start(backend, &[("INTENTGATE_ADMIN_TOKEN", "super")]).await;
    let none = only_super
        .admin("GET", "/v1/admin/tenants", Some("super"), None)
        .await;
    assert_eq!(none.text, "{\"tenants\":[]}\n");
}

pub async fn s05_s06_integrations_are_superadmin_only(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    assert_eq!(
        gw.admin("GET", "/v1/admin/integrations", None, None)
            .await
            .status,
        401
    );
    let tenant = gw
        .admin("GET", "/v1/admin/integrations", Some("tok-acme"), None)
        .await;
    assert_eq!((tenant.status, tenant.text.as_str()), (401, UNAUTHORIZED));
    let a = gw
        .admin("GET", "/v1/admin/integrations", Some("super"), None)
        .await;
    let v = a.json();
    let names: Vec<&str> = v["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["splunk", "datadog", "sentinel"]);
    for i in v["integrations"].as_array().unwrap() {
        assert_eq!(i["configured"], false);
        assert_eq!(i["last_flush_ts"], "0001-01-01T00:00:00Z");
    }
    let mut env = ADMIN_ENV.to_vec();
    env.extend([
        (
            "INTENTGATE_SIEM_SPLUNK_URL",
            "http://127.0.0.1:9/services/collector",
        ),
        ("INTENTGATE_SIEM_SPLUNK_TOKEN", "hec-secret"),
        ("INTENTGATE_WEBHOOK_URL", "http://127.0.0.1:9/hook"),
    ]);
    let live = TestGateway::start(backend, &env).await;
    let a = live
        .admin("GET", "/v1/admin/integrations", Some("super"), None)
        .await;
    let v = a.json();
    let list = v["integrations"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["splunk", "datadog", "sentinel"],
        "exactly the reference's three, even with a webhook configured"
    );
    assert_eq!(list[0]["configured"], true, "{}", a.text);
    assert_eq!(list[0]["endpoint"], "http://127.0.0.1:9/services/collector");
    assert!(!a.text.contains("hec-secret"), "credentials never shown");
}

pub async fn s07_no_admin_token_means_no_admin_routes(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    for path in ["/v1/admin/mint", "/v1/admin/audit", "/v1/admin/tenants"] {
        let a = gw.admin("POST", path, Some("super"), Some("{}")).await;
        let b = gw.admin("GET", path, Some("super"), None).await;
        assert!([a.status, b.status].contains(&404), "{path}");
        let not_found = if a.status == 404 { a } else { b };
        assert_eq!(not_found.text, "404 page not found\n");
    }
}

pub async fn s08_bad_tenant_admins_stop_startup(_backend: Backend) {
    for bad in ["acme", "acme:sekrit1,acme:sekrit2", ":sekrit3", "acme:"] {
        let vars = [("INTENTGATE_TENANT_ADMINS", bad)];
        let config = intentgate::config::Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        });
        let err = config.err().unwrap_or_else(|| panic!("{bad:?} accepted"));
        let text = err.to_string();
        assert!(text.contains("INTENTGATE_TENANT_ADMINS"), "{text}");
        assert!(!text.contains("sekrit"), "token leaked: {text}");
    }
}

pub async fn docs_and_openapi_are_served(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let spec = gw.get("/openapi.json").await;
    assert_eq!(spec.status().as_u16(), 200);
    let doc: serde_json::Value = serde_json::from_str(&spec.text().await.unwrap()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/v1/mcp",
        "/v1/admin/mint",
        "/v1/admin/audit/export",
        "/v1/admin/approvals/{id}/decide",
        "/v1/admin/policies/dry-run",
    ] {
        assert!(paths.contains_key(p), "{p} missing from the document");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["AdminToken"]["scheme"],
        "bearer"
    );
    let ui = gw.get("/docs/").await;
    assert_eq!(ui.status().as_u16(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));
}

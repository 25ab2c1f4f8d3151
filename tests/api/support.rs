//! A real gateway on a loopback port, plus scriptable fake upstream and extractor
//! servers, for black-box tests.

use std::collections::HashMap;
use std::sync::Arc;

use intentgate::app::Gateway;
use intentgate::bootstrap;
use intentgate::config::Config;
use intentgate::domain::audit::{ChainedEvent, chain_key};
use poem::listener::Acceptor;
use serde_json::Value;
use tokio::sync::oneshot;

#[path = "../common/fake.rs"]
mod fake;

#[path = "../common/contract.rs"]
mod contract;

/// Fails the test when an answer departs from the committed OpenAPI document.
fn assert_documented(method: &str, path: &str, status: u16, content_type: &str, body: &str) {
    if let Err(drift) = contract::check(method, path, status, content_type, body) {
        panic!("answer not as documented: {drift}");
    }
}
pub use fake::{FakeServer, Reply, Seen, Streamed};

/// The master key of the reference vectors.
pub const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

/// The storage backend a test gateway runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Sled,
    Postgres,
}

pub struct TestGateway {
    pub url: String,
    pub gateway: Arc<Gateway>,
    client: reqwest::Client,
    /// The Postgres database the gateway runs on, if it does.
    postgres_url: Option<String>,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
    _database: Option<Database>,
}

impl TestGateway {
    /// Starts a gateway on `backend` (a fresh store) with the vector key, audit echo
    /// off, and the given extra environment. `None` when Postgres is unavailable.
    pub async fn try_start(backend: Backend, env: &[(&str, &str)]) -> Option<Self> {
        let database = match backend {
            Backend::Postgres => Some(Database::create().await?),
            _ => None,
        };
        let url = database.as_ref().map(|db| db.url.clone());
        Some(Self::launch(backend, url, database, env).await)
    }

    /// A second gateway on this one's Postgres database (another replica), with its
    /// own data directory and the given extra environment.
    pub async fn replica(&self, env: &[(&str, &str)]) -> Self {
        let url = self.postgres_url.clone().expect("a gateway on Postgres");
        Self::launch(Backend::Postgres, Some(url), None, env).await
    }

    async fn launch(
        backend: Backend,
        postgres_url: Option<String>,
        database: Option<Database>,
        env: &[(&str, &str)],
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = match backend {
            Backend::Memory => "memory",
            Backend::Sled => "sled",
            Backend::Postgres => "postgres",
        };
        let mut vars: HashMap<String, String> = HashMap::from([
            ("INTENTGATE_STORE".into(), store.into()),
            ("INTENTGATE_MASTER_KEY".into(), KEY_B64.into()),
            ("INTENTGATE_AUDIT_TARGET".into(), "none".into()),
            (
                "INTENTGATE_DATA_DIR".into(),
                dir.path().display().to_string(),
            ),
        ]);
        if let Some(url) = &postgres_url {
            vars.insert("INTENTGATE_POSTGRES_URL".into(), url.clone());
        }
        vars.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
        let started = bootstrap::build(&config).await.unwrap();
        let acceptor = bootstrap::bind("127.0.0.1:0").await.unwrap();
        let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let gateway = Arc::clone(&started.gateway);
        tokio::spawn(intentgate::adapters::http::serve(
            acceptor,
            gateway,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            url: format!("http://{addr}"),
            gateway: started.gateway,
            client: reqwest::Client::new(),
            postgres_url,
            _stop: stop,
            _dir: dir,
            _database: database,
        }
    }

    /// [`TestGateway::try_start`] for tests that have already checked availability.
    pub async fn start(backend: Backend, env: &[(&str, &str)]) -> Self {
        Self::try_start(backend, env)
            .await
            .expect("backend available")
    }

    /// POSTs raw bytes to `/v1/mcp` with optional headers; returns status and body.
    pub async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        let mut req = self.client.post(format!("{}/v1/mcp", self.url)).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let content_type = content_type(resp.headers());
        let text = resp.text().await.unwrap();
        assert_documented("POST", "/v1/mcp", status, &content_type, &text);
        (status, text)
    }

    /// A JSON-RPC call; returns the parsed response.
    pub async fn rpc(&self, body: &Value, headers: &[(&str, &str)]) -> Value {
        let (status, text) = self.post_raw(body.to_string(), headers).await;
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// `tools/call` of `name` with `args`, optionally with a bearer token.
    pub async fn call(&self, name: &str, args: Value, token: Option<&str>) -> Value {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        self.rpc(&tool_call(name, args), &headers).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
    }

    /// Every audit event of a tenant's chain (`""` = default), oldest first.
    pub async fn audit(&self, tenant: &str) -> Vec<ChainedEvent> {
        self.gateway
            .stores
            .audit
            .range(chain_key(tenant), 1, 10_000)
            .await
            .unwrap()
    }
}

/// A scriptable fake tool server and a gateway forwarding to it, with `extra` env.
pub async fn with_upstream<R: Into<Streamed>>(
    backend: Backend,
    script: impl Fn(&Seen) -> R + Send + Sync + 'static,
    extra: &[(&str, &str)],
) -> (TestGateway, FakeServer) {
    let up = FakeServer::start(script).await;
    let mut env = vec![("INTENTGATE_UPSTREAM_URL", up.url.as_str())];
    env.extend_from_slice(extra);
    (TestGateway::start(backend, &env).await, up)
}

pub fn tool_call(name: &str, args: Value) -> Value {
    serde_json::json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":name,"arguments":args}})
}

/// Mints a token under the vector key.
pub fn mint(
    subject: &str,
    tenant: &str,
    caveats: Vec<intentgate::domain::token::Caveat>,
) -> String {
    use intentgate::adapters::clock::SystemClock;
    use intentgate::domain::token::{MasterKey, TokenClaims, mint, new_token_id};
    use intentgate::ports::Clock;
    let key = MasterKey::parse(KEY_B64).unwrap();
    let now = SystemClock.now();
    let req = TokenClaims {
        subject: subject.into(),
        tenant: tenant.into(),
        expires_at: Some(now.plus_seconds(3600)),
        caveats,
        ..TokenClaims::default()
    };
    mint(
        &key,
        req,
        new_token_id(now, intentgate::app::random_bytes().unwrap()),
        now,
    )
    .encode()
}

/// Writes a Rego policy file that lives as long as the returned guard.
pub fn policy_file(source: &str) -> (tempfile::NamedTempFile, String) {
    use std::io::Write as _;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(source.as_bytes()).unwrap();
    let path = f.path().display().to_string();
    (f, path)
}

/// Whether a backend can run here; `false` skips the test (never under `CI`).
pub async fn available(backend: Backend) -> bool {
    backend != Backend::Postgres || crate::pg::server_available().await
}

pub use crate::pg::TestDatabase as Database;

/// A superadmin (`super`) and two tenant admins (`acme`, `globex`).
pub const ADMIN_ENV: [(&str, &str); 2] = [
    ("INTENTGATE_ADMIN_TOKEN", "super"),
    (
        "INTENTGATE_TENANT_ADMINS",
        "acme:tok-acme,globex:tok-globex",
    ),
];

fn content_type(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// An HTTP answer, read whole.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

impl TestGateway {
    /// An admin request with an optional bearer token and JSON body.
    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        self.admin_with(method, path, token, body, &[]).await
    }

    pub async fn admin_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let method_name = method;
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.body(b.to_owned());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let answer = Answer {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            text: resp.text().await.unwrap(),
        };
        let content_type = content_type(&answer.headers);
        assert_documented(
            method_name,
            path,
            answer.status,
            &content_type,
            &answer.text,
        );
        answer
    }

    /// Records events through the gateway's own audit writer.
    pub async fn seed(&self, events: Vec<intentgate::domain::audit::AuditEvent>) {
        for e in events {
            self.gateway.audit.record(e).await.unwrap();
        }
    }
}

/// An audit event at `ts` (RFC 3339) with the fields the admin scenarios vary.
pub fn event(
    ts: &str,
    tenant: &str,
    agent: &str,
    tool: &str,
    decision: &str,
) -> intentgate::domain::audit::AuditEvent {
    let ts = intentgate::domain::time::Timestamp::parse_rfc3339(ts).unwrap();
    let mut e = intentgate::domain::audit::AuditEvent::new(ts, decision, tool);
    e.tenant = tenant.into();
    e.agent_id = agent.into();
    e
}

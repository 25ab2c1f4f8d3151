//! A scriptable HTTP receiver on a loopback port that records every request: the
//! upstream, extractor, webhook and SIEM receivers of the test binaries that include it
//! with `#[path]`.

#![allow(dead_code)] // each including binary uses part of it

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{Body, EndpointExt, Request, Response, Route, handler};
use tokio::sync::oneshot;

/// What the receiver answers: status, body, and how long it waits first.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }

    /// 200 with `body`.
    pub fn json(body: &str) -> Self {
        Self::new(200, body)
    }

    pub fn ok() -> Self {
        Self::new(200, r#"{"text":"Success","code":0}"#)
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A richer answer than [`Reply`]: any content type, extra response headers, and a
/// body sent in pieces with a pause before each (an event stream, say), optionally held
/// open after the last piece. A script may return either; a `Reply` is one piece.
#[derive(Clone)]
pub struct Streamed {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    /// How long the receiver waits before sending the status and headers.
    pub delay: Duration,
    /// The body: each piece is sent after its pause.
    pub pieces: Vec<(Duration, String)>,
    /// How long the body stays open after the last piece (zero: it ends there).
    pub hold: Duration,
    /// Close the connection after the last piece, before the body is complete, as a
    /// server that crashes mid-answer would.
    pub reset: bool,
}

impl Streamed {
    pub fn new(status: u16, content_type: &str) -> Self {
        Self {
            status,
            content_type: content_type.to_owned(),
            headers: Vec::new(),
            delay: Duration::ZERO,
            pieces: Vec::new(),
            hold: Duration::ZERO,
            reset: false,
        }
    }

    /// 200 `application/json` with `body`, to which headers can be added.
    pub fn json(body: &str) -> Self {
        Self::new(200, "application/json").then(body)
    }

    /// 200 `text/event-stream`, no events yet.
    pub fn sse() -> Self {
        Self::new(200, "text/event-stream")
    }

    /// Adds a response header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends `text` right after what came before.
    pub fn then(self, text: &str) -> Self {
        self.after(Duration::ZERO, text)
    }

    /// Sends `text` once `pause` has passed after what came before.
    pub fn after(mut self, pause: Duration, text: &str) -> Self {
        self.pieces.push((pause, text.to_owned()));
        self
    }

    /// Keeps the body open for `hold` after the last piece.
    pub fn hold(mut self, hold: Duration) -> Self {
        self.hold = hold;
        self
    }

    /// Closes the connection after the last piece (after `hold`), mid-body.
    pub fn reset(mut self) -> Self {
        self.reset = true;
        self
    }
}

impl From<Reply> for Streamed {
    fn from(reply: Reply) -> Self {
        Self {
            delay: reply.delay,
            ..Self::new(reply.status, "application/json").then(&reply.body)
        }
    }
}

/// One request the receiver saw. Header names are lower-case.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }
}

type Script = Arc<dyn Fn(&Seen) -> Streamed + Send + Sync>;
type State = (Script, Arc<Mutex<Vec<Seen>>>);

pub struct FakeServer {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    _stop: oneshot::Sender<()>,
}

#[handler]
async fn receive(req: &Request, body: String, state: Data<&State>) -> Response {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            let value = v.to_str().unwrap_or_default().to_owned();
            (k.as_str().to_owned(), value)
        })
        .collect();
    let seen = Seen {
        method: req.method().as_str().to_owned(),
        path: req.uri().path().to_owned(),
        query: req.uri().query().unwrap_or_default().to_owned(),
        headers,
        body,
    };
    // The request is recorded before the answer, so a sender that got its answer
    // always finds its request here.
    let reply = (state.0.0)(&seen);
    state.0.1.lock().unwrap().push(seen);
    tokio::time::sleep(reply.delay).await;
    let mut response = Response::builder()
        .status(poem::http::StatusCode::from_u16(reply.status).unwrap())
        .content_type(reply.content_type.as_str());
    for (name, value) in &reply.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    match reply.pieces.as_slice() {
        // One piece sent at once: a plain body with a Content-Length.
        [(pause, body)] if pause.is_zero() && reply.hold.is_zero() && !reply.reset => {
            response.body(body.clone())
        }
        [] if reply.hold.is_zero() && !reply.reset => response.body(""),
        _ if reply.reset => {
            // A length the body never reaches: the server sends what there is, then
            // closes the connection mid-body (a failing body stream would be ended
            // cleanly by the server instead).
            let promised = reply.pieces.iter().map(|(_, p)| p.len()).sum::<usize>() + 1024;
            response
                .header("content-length", promised)
                .body(piecewise(reply.pieces, reply.hold))
        }
        _ => response.body(piecewise(reply.pieces, reply.hold)),
    }
}

/// A chunked body: each piece after its pause, then open for `hold`.
fn piecewise(pieces: Vec<(Duration, String)>, hold: Duration) -> Body {
    let pieces = futures_util::stream::unfold(pieces.into_iter(), |mut rest| async move {
        let (pause, text) = rest.next()?;
        tokio::time::sleep(pause).await;
        Some((Ok::<_, std::io::Error>(text.into_bytes()), rest))
    });
    let held = futures_util::stream::unfold(hold, |hold| async move {
        tokio::time::sleep(hold).await;
        None::<(Result<Vec<u8>, std::io::Error>, Duration)>
    });
    Body::from_bytes_stream(futures_util::StreamExt::chain(pieces, held))
}

impl FakeServer {
    /// Starts a receiver that answers each request with `script(request)` (a [`Reply`]
    /// or a [`Streamed`]).
    pub async fn start<R: Into<Streamed>>(
        script: impl Fn(&Seen) -> R + Send + Sync + 'static,
    ) -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let addr: SocketAddr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Script = Arc::new(move |seen| script(seen).into());
        let state: State = (script, Arc::clone(&seen));
        let app = Route::new()
            .at("/*path", receive)
            .at("/", receive)
            .data(state);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(
            poem::Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
                app,
                async move {
                    let _ = stopped.await;
                },
                Some(Duration::from_secs(1)),
            ),
        );
        Self {
            url: format!("http://{addr}"),
            seen,
            _stop: stop,
        }
    }

    /// A receiver that accepts everything.
    pub async fn accepting() -> Self {
        Self::start(|_| Reply::ok()).await
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits (up to 5 s) until at least `n` requests arrived, then returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Seen> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let seen = self.requests();
            if seen.len() >= n {
                return seen;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} requests, got {}: {seen:#?}",
                seen.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

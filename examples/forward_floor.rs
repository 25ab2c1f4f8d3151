//! The forwarding floor: a bare proxy that POSTs each request body to the tool server
//! and answers with what it got back, checking and recording nothing. The benchmarks
//! run it beside the gateway, so the gateway's cost can be told from the cost of
//! forwarding at all on the same machine.
//!
//! ```sh
//! FLOOR_ADDR=127.0.0.1:19102 FLOOR_UPSTREAM=http://127.0.0.1:19100/ \
//!     cargo run --release --example forward_floor      # FLOOR_CLIENT=reqwest for reqwest
//! ```

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::web::Data;
use poem::{EndpointExt, Response, Route, Server, handler, post};

enum Upstream {
    Hyper(Box<Client<HttpConnector, Full<Bytes>>>),
    Reqwest(reqwest::Client),
}

struct Floor {
    upstream: Upstream,
    url: String,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

impl Floor {
    async fn forward(&self, body: Bytes) -> Result<Bytes, Failure> {
        match &self.upstream {
            Upstream::Hyper(client) => {
                let request = http::Request::post(&self.url)
                    .header("content-type", "application/json")
                    .body(Full::new(body))?;
                let response = client.request(request).await?;
                Ok(response.into_body().collect().await?.to_bytes())
            }
            Upstream::Reqwest(client) => {
                let response = client
                    .post(&self.url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                Ok(response.bytes().await?)
            }
        }
    }
}

#[handler]
async fn forward(body: Bytes, floor: Data<&Arc<Floor>>) -> Response {
    match floor.forward(body).await {
        Ok(answer) => Response::builder()
            .content_type("application/json")
            .body(answer),
        Err(e) => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(e.to_string()),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let upstream = match var("FLOOR_CLIENT", "hyper").as_str() {
        "reqwest" => Upstream::Reqwest(reqwest::Client::new()),
        _ => Upstream::Hyper(Box::new(
            Client::builder(TokioExecutor::new()).build(connector),
        )),
    };
    let floor = Arc::new(Floor {
        upstream,
        url: var("FLOOR_UPSTREAM", "http://127.0.0.1:9000/"),
    });
    Server::new(TcpListener::bind(var("FLOOR_ADDR", "127.0.0.1:9002")))
        .run(Route::new().at("/", post(forward)).data(floor))
        .await
}

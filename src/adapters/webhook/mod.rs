//! Signed webhook delivery (`INTENTGATE_WEBHOOK_URL`): one worker, a bounded queue
//! that drops (and counts) on overflow so the request path never waits, and retries
//! with exponential backoff and jitter on transport errors, 429 and 5xx.

mod delivery;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::WebhookSettings;
use crate::domain::audit::AuditEvent;
use crate::domain::audit::checkpoint::SignedCheckpoint;
use crate::domain::time::Timestamp;
use crate::domain::webhook::{Payload, checkpoint_payload, project};
use crate::instruments as metrics;
use crate::ports::{Clock, EventSink, SinkStatus};

use delivery::Deliverer;

/// One queued delivery: the payload and its message id (stable across retries, so
/// receivers can deduplicate).
struct Job {
    msg_id: String,
    payload: Payload,
}

#[derive(Default)]
struct Counters {
    /// Jobs queued; each ends delivered or failed.
    accepted: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    last_error: Mutex<String>,
    last_delivery: Mutex<Option<Timestamp>>,
}

pub struct WebhookSink {
    endpoint: String,
    allow: Vec<String>,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    worker: tokio::sync::Mutex<Option<JoinHandle<()>>>,
    counters: Arc<Counters>,
}

impl WebhookSink {
    /// Starts the delivery worker (call inside a tokio runtime).
    pub fn spawn(settings: WebhookSettings, clock: Arc<dyn Clock>) -> Result<Self, reqwest::Error> {
        if settings.secret.is_none() {
            tracing::warn!("INTENTGATE_WEBHOOK_SECRET is unset: webhook deliveries are unsigned");
        }
        metrics::webhook_started();
        let (tx, rx) = mpsc::channel(settings.capacity.max(1));
        let counters = Arc::new(Counters::default());
        let deliverer = Deliverer::new(&settings, clock)?;
        let worker = tokio::spawn(run(rx, deliverer, Arc::clone(&counters)));
        Ok(Self {
            endpoint: origin(&settings.url),
            allow: settings.events,
            queue: Mutex::new(Some(tx)),
            worker: tokio::sync::Mutex::new(Some(worker)),
            counters,
        })
    }

    /// Queues `payload` if `INTENTGATE_WEBHOOK_EVENTS` lets its type through; drops
    /// and counts it when the queue is full.
    fn enqueue(&self, payload: Payload) {
        let wanted = self.allow.is_empty() || self.allow.iter().any(|a| a == payload.event_type);
        let Some(tx) = self.sender().filter(|_| wanted) else {
            return;
        };
        let job = Job {
            msg_id: new_msg_id(),
            payload,
        };
        // Counted before the send, so the worker can never settle a job that
        // `undelivered` has not seen yet; taken back if it did not fit.
        self.counters.accepted.fetch_add(1, Ordering::Relaxed);
        if tx.try_send(job).is_err() {
            self.counters.accepted.fetch_sub(1, Ordering::Relaxed);
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::webhook("dropped", None);
            tracing::warn!("webhook: buffer full; dropped event");
        }
    }

    fn sender(&self) -> Option<mpsc::Sender<Job>> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

async fn run(mut rx: mpsc::Receiver<Job>, deliverer: Deliverer, counters: Arc<Counters>) {
    while let Some(job) = rx.recv().await {
        let started = std::time::Instant::now();
        match deliverer.deliver(&job.msg_id, &job.payload.body).await {
            Ok(at) => {
                counters.delivered.fetch_add(1, Ordering::Relaxed);
                *counters
                    .last_delivery
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(at);
                counters
                    .last_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clear();
                metrics::webhook("delivered", Some(started.elapsed()));
            }
            Err(e) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, event = job.payload.event_type, "webhook delivery failed");
                *counters
                    .last_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = e;
                metrics::webhook("failed", Some(started.elapsed()));
            }
        }
    }
}

/// Scheme, host and port only: webhook URLs often carry a token in their path or query.
fn origin(url: &str) -> String {
    reqwest::Url::parse(url).map_or_else(
        |_| "(invalid URL)".to_owned(),
        |u| u.origin().ascii_serialization(),
    )
}

fn new_msg_id() -> String {
    let mut bytes = [0u8; 12];
    if getrandom::fill(&mut bytes).is_err() {
        tracing::error!("operating system randomness unavailable for webhook ids");
    }
    format!("msg_{}", hex::encode(bytes))
}

#[async_trait]
impl EventSink for WebhookSink {
    fn offer(&self, event: &AuditEvent) {
        for payload in project(event) {
            self.enqueue(payload);
        }
    }

    fn offer_checkpoint(&self, checkpoint: &SignedCheckpoint) {
        self.enqueue(checkpoint_payload(checkpoint));
    }

    fn status(&self) -> SinkStatus {
        let c = &self.counters;
        SinkStatus {
            name: "webhook",
            endpoint: self.endpoint.clone(),
            last_flush: *c
                .last_delivery
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            total_events: c.delivered.load(Ordering::Relaxed),
            dropped_count: c.failed.load(Ordering::Relaxed) + c.dropped.load(Ordering::Relaxed),
            undelivered: c.accepted.load(Ordering::Relaxed).saturating_sub(
                c.delivered.load(Ordering::Relaxed) + c.failed.load(Ordering::Relaxed),
            ),
            last_error: c
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    /// Stops accepting events and waits for the queue to drain.
    async fn shutdown(&self) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(worker) = self.worker.lock().await.take() {
            let _ = worker.await;
        }
    }
}

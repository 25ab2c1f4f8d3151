//! The batching worker every SIEM destination shares (reference `internal/siem/batch.go`).
//!
//! [`EventSink::offer`] never blocks: events go into a bounded channel, and overflow is
//! dropped and counted. One task per destination drains the channel into a pending
//! batch and flushes it when `max_batch` events are pending or on every `interval`
//! tick; each flush is bounded by `flush_timeout`. A failed flush drops its batch, as
//! the reference does: the audit store is the record of truth and the SIEM a
//! best-effort copy, and retrying would hold up every later event behind a broken
//! receiver.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::delivery::DeliveryError;
use super::record::SiemRecord;
use crate::config::siem::BatchSettings;
use crate::domain::audit::AuditEvent;
use crate::domain::audit::checkpoint::SignedCheckpoint;
use crate::domain::time::Timestamp;
use crate::instruments::SIEM_EVENTS;
use crate::ports::{Clock, EventSink, SinkStatus};

/// Overflow drops are logged on the first and then on every this-many-th.
const DROP_LOG_EVERY: u64 = 1000;

/// One SIEM's wire format and transport; the [`BatchingSink`] does the rest.
#[async_trait]
pub trait Destination: Send + Sync + 'static {
    /// `splunk`, `datadog` or `sentinel`: the status name and the metric label.
    fn name(&self) -> &'static str;

    /// Where events go, as the integrations endpoint shows it; never credentials.
    fn endpoint(&self) -> String;

    /// Sends one non-empty batch, in offer order. `Ok` means the receiver accepted it;
    /// an `Err` drops the batch (the caller does not retry). The caller bounds how long
    /// this may take.
    async fn deliver(&self, batch: &[SiemRecord]) -> Result<(), DeliveryError>;
}

/// What the integrations endpoint reports, updated by the handle and the worker.
#[derive(Default)]
struct Counters {
    /// Events taken into the buffer; each ends flushed or in a failed flush.
    accepted: u64,
    flushed: u64,
    /// Events of failed flushes.
    failed: u64,
    /// Events that did not fit in the buffer: the reference's `dropped_count`. Events
    /// of failed flushes are lost too, but reported as `last_error` and counted in the
    /// `failed` metric, as the reference keeps them apart.
    dropped: u64,
    last_flush: Option<Timestamp>,
    last_error: String,
}

/// State shared by the sink handle and its worker.
struct Shared {
    name: &'static str,
    endpoint: String,
    capacity: usize,
    counters: Mutex<Counters>,
}

impl Shared {
    fn counters(&self) -> MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one event that did not fit in the buffer.
    fn overflow(&self) {
        let overflowed = {
            let mut counters = self.counters();
            counters.accepted -= 1;
            counters.dropped += 1;
            counters.dropped
        };
        count(self.name, "dropped", 1);
        if overflowed == 1 || overflowed.is_multiple_of(DROP_LOG_EVERY) {
            tracing::warn!(
                sink = self.name,
                dropped_total = overflowed,
                buffer_size = self.capacity,
                "siem: event buffer full; dropping"
            );
        }
    }

    /// Records how a flush of `events` events ended.
    fn flushed(&self, outcome: Result<(), DeliveryError>, events: u64, now: Timestamp) {
        match outcome {
            Ok(()) => {
                let mut counters = self.counters();
                counters.flushed += events;
                counters.last_flush = Some(now);
                counters.last_error.clear();
                drop(counters);
                count(self.name, "flushed", events);
            }
            Err(err) => {
                tracing::warn!(sink = self.name, events, error = %err, "siem: flush failed; batch dropped");
                let mut counters = self.counters();
                counters.failed += events;
                counters.last_error = err.to_string();
                drop(counters);
                count(self.name, "failed", events);
            }
        }
    }
}

/// `intentgate_gateway_siem_events_total{sink, outcome}`; `outcome` is flushed, failed
/// or dropped.
fn count(sink: &'static str, outcome: &'static str, events: u64) {
    metrics::counter!(SIEM_EVENTS, "sink" => sink, "outcome" => outcome).increment(events);
}

/// An [`EventSink`] that batches events for one [`Destination`] on a background task.
pub struct BatchingSink {
    /// `None` once shut down: later offers are ignored.
    sender: Mutex<Option<mpsc::Sender<SiemRecord>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    shared: Arc<Shared>,
}

impl BatchingSink {
    /// Starts the worker for `destination`. Must be called inside a tokio runtime.
    /// Zero sizes and durations are raised to the smallest workable value.
    pub fn start(
        destination: Arc<dyn Destination>,
        settings: BatchSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let capacity = settings.capacity.max(1);
        for outcome in crate::instruments::SIEM_OUTCOMES {
            count(destination.name(), outcome, 0);
        }
        let (sender, receiver) = mpsc::channel(capacity);
        let shared = Arc::new(Shared {
            name: destination.name(),
            endpoint: destination.endpoint(),
            capacity,
            counters: Mutex::new(Counters::default()),
        });
        let worker = Worker {
            destination,
            shared: Arc::clone(&shared),
            clock,
            max_batch: settings.max_batch.max(1),
            // tokio's interval rejects a zero period.
            interval: settings.interval.max(std::time::Duration::from_millis(1)),
            flush_timeout: settings.flush_timeout,
        };
        Self {
            sender: Mutex::new(Some(sender)),
            worker: Mutex::new(Some(tokio::spawn(worker.run(receiver)))),
            shared,
        }
    }
}

impl BatchingSink {
    fn enqueue(&self, record: SiemRecord) {
        let slot = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(sender) = slot.as_ref() else { return };
        // `Closed` only happens if the worker died; the record is lost either way.
        // Counted before the send, so the worker can never settle a record that
        // `undelivered` has not seen yet; taken back if it did not fit.
        self.shared.counters().accepted += 1;
        if sender.try_send(record).is_err() {
            drop(slot);
            self.shared.overflow();
        }
    }
}

#[async_trait]
impl EventSink for BatchingSink {
    /// Queues a copy of the event; when the buffer is full the event is dropped and
    /// counted. After shutdown this does nothing.
    fn offer(&self, event: &AuditEvent) {
        self.enqueue(SiemRecord::Event(event.clone()));
    }

    /// Queued and counted as events are.
    fn offer_checkpoint(&self, checkpoint: &SignedCheckpoint) {
        self.enqueue(SiemRecord::Checkpoint(checkpoint.clone()));
    }

    fn status(&self) -> SinkStatus {
        let counters = self.shared.counters();
        SinkStatus {
            name: self.shared.name,
            endpoint: self.shared.endpoint.clone(),
            last_flush: counters.last_flush,
            total_events: counters.flushed,
            dropped_count: counters.dropped,
            undelivered: counters
                .accepted
                .saturating_sub(counters.flushed + counters.failed),
            last_error: counters.last_error.clone(),
        }
    }

    /// Closes the buffer, then waits while the worker flushes everything offered
    /// before. A second call returns at once.
    async fn shutdown(&self) {
        // Dropping the only sender closes the channel; the worker drains it and exits.
        drop(
            self.sender
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(worker) = worker
            && let Err(err) = worker.await
        {
            tracing::warn!(sink = self.shared.name, error = %err, "siem: worker ended abnormally");
        }
    }
}

/// The background task: owns the pending batch and the destination.
struct Worker {
    destination: Arc<dyn Destination>,
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
    max_batch: usize,
    interval: std::time::Duration,
    flush_timeout: std::time::Duration,
}

impl Worker {
    /// Collects events until the channel is closed and drained, flushing on size and on
    /// every tick, then flushes what is left.
    async fn run(self, mut receiver: mpsc::Receiver<SiemRecord>) {
        let mut pending = Vec::with_capacity(self.max_batch);
        // The first tick one interval from now (tokio's `interval` ticks at once).
        let mut ticker = tokio::time::interval_at(Instant::now() + self.interval, self.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                received = receiver.recv() => {
                    let Some(event) = received else { break };
                    pending.push(event);
                    if pending.len() >= self.max_batch {
                        self.flush(&mut pending).await;
                    }
                }
                _ = ticker.tick() => self.flush(&mut pending).await,
            }
        }
        self.flush(&mut pending).await;
    }

    /// Delivers the pending events, if any, and empties the batch whatever happened.
    async fn flush(&self, pending: &mut Vec<SiemRecord>) {
        if pending.is_empty() {
            return;
        }
        let delivery = self.destination.deliver(pending.as_slice());
        let outcome = tokio::time::timeout(self.flush_timeout, delivery)
            .await
            .unwrap_or_else(|_| {
                Err(DeliveryError::Transient(format!(
                    "flush timed out after {:?}",
                    self.flush_timeout
                )))
            });
        let events = pending.len() as u64;
        self.shared.flushed(outcome, events, self.clock.now());
        pending.clear();
    }
}

use std::sync::Arc;

use async_trait::async_trait;
use tokio::time::{Duration, Instant};

use super::{BACKGROUND_PAUSE, CATCH_UP_MIN_PAUSE, CATCH_UP_YIELD, Pace, Transparency};
use crate::adapters::clock::SystemClock;
use crate::app::audit_writer::{AuditWriter, Durability};
use crate::domain::audit::AuditEvent;
use crate::domain::audit::checkpoint::{LogSigner, SignedCheckpoint};
use crate::domain::audit::merkle::{Growth, Hash};
use crate::domain::time::Timestamp;
use crate::ports::{StoreResult, TransparencyStore};

/// Memory stores with a writer on tenant `acme`'s chain, no tree grown yet.
struct Seeded {
    writer: Arc<AuditWriter>,
    trees: Transparency,
}

impl Seeded {
    async fn with(records: i64) -> Self {
        Self::with_trees(records, |trees| trees).await
    }

    /// [`Seeded::with`], its tree store as `wrap` makes it.
    async fn with_trees(
        records: i64,
        wrap: impl FnOnce(Arc<dyn TransparencyStore>) -> Arc<dyn TransparencyStore>,
    ) -> Self {
        let stores = crate::adapters::memory::open();
        let (writer, _) =
            AuditWriter::spawn(Arc::clone(&stores.audit), Durability::Sync, 16, Vec::new());
        let signer = LogSigner::new("gw.test", &[3u8; 32]).unwrap();
        let clock = Arc::new(SystemClock);
        let trees = Transparency::new(
            wrap(stores.transparency),
            stores.audit,
            signer,
            clock,
            Vec::new(),
        );
        let seeded = Self { writer, trees };
        for i in 0..records {
            seeded.record(i).await;
        }
        seeded
    }

    async fn record(&self, i: i64) {
        let at = Timestamp::from_unix_seconds(1_767_225_600 + i);
        let mut event = AuditEvent::new(at, "allow", "read_invoice");
        event.tenant = "acme".into();
        self.writer.record(event).await.unwrap();
    }
}

fn background_for(time: Duration) -> Pace {
    Pace::Background {
        until: Instant::now() + time,
    }
}

#[tokio::test(start_paused = true)]
async fn the_background_grows_a_tree_in_small_steps_with_a_pause_between_them() {
    let seeded = Seeded::with(600).await;
    let started = Instant::now();
    let pace = background_for(Duration::from_secs(60));
    let size = seeded.trees.integrate_at("acme", pace).await;
    assert_eq!(size.unwrap(), 600);
    assert_eq!(
        started.elapsed(),
        2 * BACKGROUND_PAUSE,
        "250, 250, then 100"
    );
}

/// A tree store whose growths each take `delay` (on the test's paused clock).
struct SlowGrowth {
    inner: Arc<dyn TransparencyStore>,
    delay: Duration,
}

#[async_trait]
impl TransparencyStore for SlowGrowth {
    async fn tree_size(&self, chain: &str) -> StoreResult<u64> {
        self.inner.tree_size(chain).await
    }

    async fn read_hashes(&self, chain: &str, indexes: &[u64]) -> StoreResult<Vec<Hash>> {
        self.inner.read_hashes(chain, indexes).await
    }

    async fn grow(&self, chain: &str, growth: &Growth) -> StoreResult<bool> {
        tokio::time::sleep(self.delay).await;
        self.inner.grow(chain, growth).await
    }

    async fn record_checkpoint(&self, checkpoint: &SignedCheckpoint) -> StoreResult<bool> {
        self.inner.record_checkpoint(checkpoint).await
    }

    async fn checkpoints(
        &self,
        chain: &str,
        below: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<SignedCheckpoint>> {
        self.inner.checkpoints(chain, below, limit).await
    }
}

#[tokio::test(start_paused = true)]
async fn past_its_time_the_background_pauses_three_times_each_step() {
    let step = Duration::from_millis(4);
    let seeded = Seeded::with_trees(600, |inner| Arc::new(SlowGrowth { inner, delay: step })).await;
    let started = Instant::now();
    let size = seeded
        .trees
        .integrate_at("acme", background_for(BACKGROUND_PAUSE))
        .await;
    assert_eq!(size.unwrap(), 600);
    assert_eq!(
        started.elapsed(),
        step + BACKGROUND_PAUSE + step + CATCH_UP_YIELD * step + step,
        "250 then the tick's pause, 250 then three times the step, then 100"
    );
}

#[tokio::test(start_paused = true)]
async fn past_its_time_a_step_that_took_no_time_still_yields() {
    let seeded = Seeded::with(600).await;
    let started = Instant::now();
    let size = seeded
        .trees
        .integrate_at("acme", background_for(Duration::ZERO))
        .await;
    assert_eq!(size.unwrap(), 600);
    assert_eq!(started.elapsed(), 2 * CATCH_UP_MIN_PAUSE);
}

#[tokio::test(start_paused = true)]
async fn a_tree_asked_for_grows_at_once_to_the_same_root() {
    let (asked, background) = (Seeded::with(600).await, Seeded::with(600).await);
    let pace = background_for(Duration::from_secs(60));
    assert_eq!(
        background.trees.integrate_at("acme", pace).await.unwrap(),
        600
    );
    let started = Instant::now();
    assert_eq!(asked.trees.integrate("acme").await.unwrap(), 600);
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(
        asked.trees.root("acme", 600).await.unwrap(),
        background.trees.root("acme", 600).await.unwrap()
    );
}

#[tokio::test(start_paused = true)]
async fn a_growth_stops_at_the_head_it_started_from() {
    let seeded = Arc::new(Seeded::with(600).await);
    let busy = Arc::clone(&seeded);
    let writing = tokio::spawn(async move {
        for i in 600.. {
            busy.record(i).await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    // The writer first runs at the growth's first await that yields, after the head
    // is read (the memory store answers at once): the growth starts at 600.
    let pace = background_for(Duration::from_secs(60));
    let size = seeded.trees.integrate_at("acme", pace).await;
    writing.abort();
    assert_eq!(
        size.unwrap(),
        600,
        "records committed meanwhile wait for the next"
    );
    let later = seeded.trees.integrate("acme").await.unwrap();
    assert!(later > 600, "the next growth takes them: {later}");
}

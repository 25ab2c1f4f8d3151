//! What the audit writer and the budget counter share: running a commit round.

use std::task::Poll;

/// Runs `round` here when it completes without waiting (the memory store); the moment
/// it has to wait, it becomes a task of its own, so a request that goes away mid-round
/// (a client disconnect drops its future) cannot abandon the round: the other callers'
/// work in it still commits and is answered. Spawning every round instead cost a
/// wake-up of another worker per call.
pub(super) async fn run_detached(round: impl Future<Output = ()> + Send + 'static) {
    let mut round = Box::pin(round);
    let first = std::future::poll_fn(|cx| Poll::Ready(round.as_mut().poll(cx))).await;
    if first.is_pending() {
        // Nothing can cancel us between that poll and this spawn: no await between.
        let _ = tokio::spawn(round).await;
    }
}

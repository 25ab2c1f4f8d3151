//! Checking a chain walk against a signed checkpoint: the records `1..=size`, as the
//! walk reads them, must have the tree root the checkpoint signed. A row edited,
//! deleted or inserted below the checkpoint changes that root, even when the whole
//! chain was rewritten with every hash recomputed. A walk that does not start at
//! `seq` 1 (the memory store keeps only the newest records) cannot rebuild the root
//! and leaves the checkpoint unchecked.

use super::ChainedEvent;
use super::merkle::{Hash, RootBuilder, leaf_hash};

/// What a walk found about the checkpoint it was checked against.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointCheck {
    pub size: u64,
    pub root: Hash,
    /// `Some(true)`: the records have this root; `Some(false)`: they do not (or one is
    /// missing); `None`: not decided — the walk stopped before reaching `size`, or
    /// did not start at `seq` 1 (the oldest records are no longer kept).
    pub matched: Option<bool>,
}

/// Builds the root of the records fed, from `seq` 1, until the checkpoint's size.
#[derive(Clone, Debug)]
pub struct TreeCheck {
    check: CheckpointCheck,
    builder: RootBuilder,
    /// The walk began past `seq` 1.
    unreachable: bool,
}

/// The records up to a checkpoint do not have its root.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RootMismatch {
    /// The root of the records as read (`None`: a record was missing).
    pub found: Option<Hash>,
    pub signed: Hash,
}

impl TreeCheck {
    pub fn new(size: u64, root: Hash) -> Self {
        Self {
            check: CheckpointCheck {
                size,
                root,
                matched: None,
            },
            builder: RootBuilder::default(),
            unreachable: false,
        }
    }

    /// Takes the next record of the walk; `Err` once the checkpoint is contradicted.
    /// Records past the checkpoint's size are not its concern.
    pub fn feed(&mut self, rec: &ChainedEvent) -> Result<(), RootMismatch> {
        if self.check.matched.is_some() || self.unreachable {
            return Ok(());
        }
        if self.builder.size() == 0 && rec.seq != 1 {
            // The oldest records are gone (the memory store's retention): the root
            // cannot be rebuilt, so the checkpoint is not checked, not contradicted.
            self.unreachable = true;
            return Ok(());
        }
        if rec.seq != self.builder.size() + 1 {
            return Err(self.mismatch(None));
        }
        self.builder.push(leaf_hash(&rec.hash));
        if self.builder.size() < self.check.size {
            return Ok(());
        }
        let found = self.builder.root();
        if found == Some(self.check.root) {
            self.check.matched = Some(true);
            return Ok(());
        }
        Err(self.mismatch(found))
    }

    fn mismatch(&mut self, found: Option<Hash>) -> RootMismatch {
        self.check.matched = Some(false);
        RootMismatch {
            found,
            signed: self.check.root,
        }
    }

    /// The outcome so far.
    pub fn finish(self) -> CheckpointCheck {
        self.check
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{AuditEvent, seal};
    use crate::domain::time::Timestamp;

    fn chain(n: usize) -> Vec<ChainedEvent> {
        let events = (0..n)
            .map(|i| AuditEvent::new(Timestamp::from_unix_seconds(i as i64), "allow", "t"))
            .collect();
        seal("acme", None, events)
    }

    fn root_of(records: &[ChainedEvent]) -> Hash {
        let mut b = RootBuilder::default();
        records.iter().for_each(|r| b.push(leaf_hash(&r.hash)));
        b.root().unwrap()
    }

    #[test]
    fn the_records_of_the_checkpoint_match_it_and_later_ones_do_not_matter() {
        let records = chain(7);
        let mut check = TreeCheck::new(5, root_of(&records[..5]));
        for r in &records {
            check.feed(r).unwrap();
        }
        assert_eq!(check.finish().matched, Some(true));
    }

    #[test]
    fn a_rewritten_or_missing_record_contradicts_the_checkpoint() {
        let honest = chain(5);
        let signed = root_of(&honest);
        let rewritten = seal("acme", None, vec![honest[0].event.clone(); 5]);
        let mut check = TreeCheck::new(5, signed);
        let outcome: Result<Vec<()>, _> = rewritten.iter().map(|r| check.feed(r)).collect();
        assert_eq!(outcome.unwrap_err().signed, signed);
        assert_eq!(check.finish().matched, Some(false));

        let mut check = TreeCheck::new(5, signed);
        check.feed(&honest[0]).unwrap();
        let gap = check.feed(&honest[2]).unwrap_err();
        assert_eq!(gap.found, None);
    }

    #[test]
    fn a_walk_that_stops_early_or_starts_late_decides_nothing() {
        let records = chain(5);
        let mut check = TreeCheck::new(5, root_of(&records));
        check.feed(&records[0]).unwrap();
        assert_eq!(check.finish().matched, None);
        let mut late = TreeCheck::new(5, root_of(&records));
        for r in &records[2..] {
            late.feed(r).unwrap();
        }
        assert_eq!(late.finish().matched, None);
    }
}

//! A deque kept in blocks of at most `BLOCK` items, so that growing it never moves what
//! it already holds.
//!
//! The memory audit store kept each chain in one `VecDeque`; every time it doubled, the
//! append copied every record kept into fresh pages while it held the store's lock,
//! and every call waiting on the audit log stalled for milliseconds (BENCHMARKS.md).
//! Here a block grows only up to `BLOCK` items (so a growing block copies fewer than
//! that), and a new block starts when the last is full; a full block never moves.

use std::collections::VecDeque;

/// Items in order, front to back, in blocks. Every block but the last holds exactly
/// `BLOCK` items, counting the first block's taken ones (which stay in it until the
/// whole block goes): that is what lets a position be found by division.
pub struct Blocks<T, const BLOCK: usize = 256> {
    blocks: VecDeque<Vec<T>>,
    /// Items of the first block already taken from the front.
    taken: usize,
    len: usize,
}

impl<T, const BLOCK: usize> Default for Blocks<T, BLOCK> {
    fn default() -> Self {
        Self {
            blocks: VecDeque::new(),
            taken: 0,
            len: 0,
        }
    }
}

impl<T, const BLOCK: usize> Blocks<T, BLOCK> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn front(&self) -> Option<&T> {
        self.blocks.front()?.get(self.taken)
    }

    pub fn back(&self) -> Option<&T> {
        self.blocks.back()?.last()
    }

    pub fn push_back(&mut self, item: T) {
        const { assert!(BLOCK > 0, "a block holds at least one item") };
        match self.blocks.back_mut() {
            Some(last) if last.len() < BLOCK => last.push(item),
            _ => self.blocks.push_back(vec![item]),
        }
        self.len += 1;
    }

    /// Drops the front item. It is freed with its block, once every item of the block
    /// has been dropped (for the audit store, up to 255 records of a trimmed chain).
    pub fn drop_front(&mut self) {
        let Some(first) = self.blocks.front() else {
            return;
        };
        self.taken += 1;
        self.len -= 1;
        if self.taken == first.len() {
            self.blocks.pop_front();
            self.taken = 0;
        }
    }

    /// The items from position `start` on, reaching it without walking the blocks
    /// before it.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = &T> {
        let start = start.saturating_add(self.taken);
        let (block, offset) = (start / BLOCK, start % BLOCK);
        let first = self
            .blocks
            .get(block)
            .map_or(&[][..], |b| b.get(offset..).unwrap_or(&[]));
        let rest = self
            .blocks
            .range(block.saturating_add(1).min(self.blocks.len())..);
        first.iter().chain(rest.flatten())
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.iter_from(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(n: u32) -> Blocks<u32, 4> {
        let mut blocks = Blocks::default();
        (0..n).for_each(|i| blocks.push_back(i));
        blocks
    }

    #[test]
    fn keeps_order_across_blocks() {
        let mut blocks = filled(10);
        assert_eq!(
            blocks.iter().copied().collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
        (0..5).for_each(|_| blocks.drop_front());
        assert_eq!(
            (blocks.len(), blocks.front(), blocks.back()),
            (5, Some(&5), Some(&9))
        );
        blocks.push_back(10);
        assert_eq!(
            blocks.iter().copied().collect::<Vec<_>>(),
            (5..=10).collect::<Vec<_>>()
        );
        for start in 0..8 {
            let expected: Vec<u32> = (5 + start as u32..=10).collect();
            assert_eq!(
                blocks.iter_from(start).copied().collect::<Vec<_>>(),
                expected,
                "from {start}"
            );
        }
    }

    #[test]
    fn drained_it_is_empty_and_grows_again() {
        let mut blocks = filled(6);
        (0..8).for_each(|_| blocks.drop_front());
        assert_eq!(
            (blocks.len(), blocks.front(), blocks.back()),
            (0, None, None)
        );
        assert_eq!(blocks.iter().count(), 0);
        blocks.push_back(7);
        assert_eq!(blocks.iter().copied().collect::<Vec<_>>(), vec![7]);
    }

    #[test]
    fn one_partial_block_taken_from_and_positions_past_the_end() {
        let mut blocks = filled(3);
        blocks.drop_front();
        for start in 0..4 {
            let expected: Vec<u32> = (1 + start as u32..3).collect();
            assert_eq!(
                blocks.iter_from(start).copied().collect::<Vec<_>>(),
                expected
            );
        }
        assert_eq!(filled(9).iter_from(usize::MAX).count(), 0);
        assert_eq!(filled(9).iter_from(9).count(), 0);
    }

    #[test]
    fn growing_never_moves_a_full_block() {
        let mut blocks = filled(4);
        let first: *const u32 = blocks.front().unwrap();
        (4..1000).for_each(|i| blocks.push_back(i));
        assert!(std::ptr::eq(blocks.front().unwrap(), first));
        // The structure itself, whatever the allocator does with a growing buffer:
        // full blocks of `BLOCK` items that never grew past it.
        let shapes: Vec<(usize, usize)> = blocks
            .blocks
            .iter()
            .map(|b| (b.len(), b.capacity()))
            .collect();
        let (&(last_len, last_capacity), full) = shapes.split_last().unwrap();
        assert!(
            full.iter()
                .all(|&(len, capacity)| len == 4 && capacity <= 4)
        );
        assert!(last_len > 0 && last_capacity <= 4);
    }
}

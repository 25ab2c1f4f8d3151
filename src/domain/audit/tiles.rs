//! Stored tree hashes grouped in tiles of [`TILE`] consecutive indexes, one stored
//! value (the hashes end to end) per tile: how the sled and Postgres stores keep a
//! tree. A tree stores about two hashes per audit record; as a value or row each,
//! they nearly doubled what a store wrote per record. Tiles fill in index order, so
//! a growth appends to the last tile and starts new ones.

use super::merkle::Hash;

/// Stored hashes per tile.
pub const TILE: u64 = 256;
const HASH_LEN: usize = 32;

/// Bytes a growth adds to one tile: `bytes` belong at byte `offset` of tile `tile`
/// (non-zero only for the first tile of a growth, which was partly filled).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileRun {
    pub tile: u64,
    pub offset: usize,
    pub bytes: Vec<u8>,
}

/// The tile holding stored index `index`, and the byte offset of its hash there.
pub fn locate(index: u64) -> (u64, usize) {
    (index / TILE, (index % TILE) as usize * HASH_LEN)
}

/// Splits hashes stored at indexes `first..` into one run per tile they touch.
pub fn runs(first: u64, hashes: &[Hash]) -> Vec<TileRun> {
    let mut runs = Vec::new();
    let (mut index, mut rest) = (first, hashes);
    while !rest.is_empty() {
        let (tile, offset) = locate(index);
        let room = (TILE - index % TILE) as usize;
        let (now, later) = rest.split_at(room.min(rest.len()));
        let bytes = now.iter().flat_map(|h| h.0).collect();
        runs.push(TileRun {
            tile,
            offset,
            bytes,
        });
        index += now.len() as u64;
        rest = later;
    }
    runs
}

/// The hash at stored index `index`, read from its tile's bytes.
pub fn hash_at(tile: &[u8], index: u64) -> Option<Hash> {
    let (_, offset) = locate(index);
    let bytes = tile.get(offset..offset + HASH_LEN)?;
    Some(Hash(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(n: u8) -> Vec<Hash> {
        (0..n).map(|i| Hash([i; 32])).collect()
    }

    #[test]
    fn a_growth_fills_the_last_tile_then_starts_new_ones() {
        let runs = runs(250, &hashes(10));
        assert_eq!(runs.len(), 2);
        assert_eq!(
            (runs[0].tile, runs[0].offset, runs[0].bytes.len()),
            (0, 250 * 32, 6 * 32)
        );
        assert_eq!(
            (runs[1].tile, runs[1].offset, runs[1].bytes.len()),
            (1, 0, 4 * 32)
        );
        assert_eq!(&runs[1].bytes[..32], &[6u8; 32]);
        assert!(super::runs(7, &[]).is_empty());
    }

    #[test]
    fn hashes_read_back_from_their_tiles() {
        let run = &runs(256, &hashes(3))[0];
        assert_eq!(locate(258), (1, 64));
        assert_eq!(hash_at(&run.bytes, 258), Some(Hash([2; 32])));
        assert_eq!(hash_at(&run.bytes, 259), None, "past the tile's end");
    }
}

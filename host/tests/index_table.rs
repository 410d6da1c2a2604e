//! Receiver-index table: random index draws with forced collisions (a
//! scripted random source), chains, removal, and a model comparison.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use wg_proto::host::Host;
use wg_proto::proto::index_table::{
    draw, stripe, stripe_of, IndexError, IndexTable, BUCKETS, MAX_DRAWS, STRIPES, STRIPE_BUCKETS,
};
use wg_proto::proto::platform::AllocError;
use wg_proto::proto::platform::{Crypto, KEY_LEN, TAG_LEN, XNONCE_LEN};

thread_local! {
    /// The next random words `Scripted::random_bytes` returns (then real randomness).
    static SCRIPT: RefCell<VecDeque<u32>> = const { RefCell::new(VecDeque::new()) };
}

fn script(words: &[u32]) {
    SCRIPT.with(|s| s.borrow_mut().extend(words.iter().copied()));
}

/// The host platform with a scripted random source.
struct Scripted;
impl Crypto for Scripted {
    fn blake2s(out: &mut [u8], key: &[u8], input: &[&[u8]]) {
        Host::blake2s(out, key, input)
    }
    type Blake2sPrefix = <Host as Crypto>::Blake2sPrefix;
    fn blake2s_keyed_prefix(n: usize, key: &[u8; KEY_LEN]) -> Self::Blake2sPrefix {
        Host::blake2s_keyed_prefix(n, key)
    }
    fn blake2s_block_prefix(block: &[u8; 64]) -> Self::Blake2sPrefix {
        Host::blake2s_block_prefix(block)
    }
    fn blake2s_resume(p: &Self::Blake2sPrefix, out: &mut [u8], input: &[&[u8]]) {
        Host::blake2s_resume(p, out, input)
    }
    fn x25519(out: &mut [u8; KEY_LEN], scalar: &[u8; KEY_LEN], point: &[u8; KEY_LEN]) -> bool {
        Host::x25519(out, scalar, point)
    }
    fn x25519_base(out: &mut [u8; KEY_LEN], scalar: &[u8; KEY_LEN]) {
        Host::x25519_base(out, scalar)
    }
    fn aead_seal(key: &[u8; KEY_LEN], counter: u64, ad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        Host::aead_seal(key, counter, ad, buf)
    }
    fn aead_open(
        key: &[u8; KEY_LEN],
        counter: u64,
        ad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool {
        Host::aead_open(key, counter, ad, buf, tag)
    }
    fn xaead_seal(
        key: &[u8; KEY_LEN],
        nonce: &[u8; XNONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
    ) -> [u8; TAG_LEN] {
        Host::xaead_seal(key, nonce, ad, buf)
    }
    fn xaead_open(
        key: &[u8; KEY_LEN],
        nonce: &[u8; XNONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool {
        Host::xaead_open(key, nonce, ad, buf, tag)
    }
    fn random_bytes(buf: &mut [u8]) {
        match SCRIPT.with(|s| s.borrow_mut().pop_front()) {
            Some(w) if buf.len() == 4 => buf.copy_from_slice(&w.to_le_bytes()),
            _ => Host::random_bytes(buf),
        }
    }
    fn zeroize(buf: &mut [u8]) {
        Host::zeroize(buf)
    }
    fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        Host::ct_eq(a, b)
    }
    fn siphash(key: &[u64; 2], data: &[u8]) -> u64 {
        Host::siphash(key, data)
    }
    fn hsiphash(key: &[u64; 2], data: &[u8]) -> u32 {
        Host::hsiphash(key, data)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Handshake(u32),
    Keypair(u32),
}

type Table = IndexTable<Host, Entry>;

/// One stripe on its own, as a whole table: a fresh index drawn for `e`.
fn insert(t: &mut Table, e: Entry) -> Result<u32, IndexError> {
    draw::<Scripted>(|i| t.insert_at(i, e))
}

#[test]
fn taken_index_is_redrawn() {
    let mut t = Table::stripe();
    script(&[5]);
    assert_eq!(insert(&mut t, Entry::Handshake(1)), Ok(5));
    script(&[5, 5, 7]);
    assert_eq!(insert(&mut t, Entry::Handshake(2)), Ok(7));
    assert_eq!(t.lookup(&5), Some(Entry::Handshake(1)));
    assert_eq!(t.lookup(&7), Some(Entry::Handshake(2)));
    assert_eq!(t.len(), 2);
}

#[test]
fn random_source_stuck_on_a_taken_index_gives_up() {
    let mut t = Table::stripe();
    script(&[9]);
    insert(&mut t, Entry::Keypair(1)).unwrap();
    script(&vec![9; MAX_DRAWS]);
    assert_eq!(
        insert(&mut t, Entry::Keypair(2)),
        Err(IndexError::IndexTaken)
    );
    assert_eq!(t.len(), 1);
    assert_eq!(t.lookup(&9), Some(Entry::Keypair(1)));
    SCRIPT.with(|s| assert!(s.borrow().is_empty()));
}

#[test]
fn bucket_collisions() {
    let mut t = Table::stripe();
    let b = BUCKETS as u32;
    let same_bucket = [3, 3 + b, 3 + 2 * b, 3 + 3 * b, u32::MAX - (b - 1) + 3];
    for (k, &i) in same_bucket.iter().enumerate() {
        script(&[i]);
        assert_eq!(insert(&mut t, Entry::Handshake(k as u32)), Ok(i));
    }
    for (k, &i) in same_bucket.iter().enumerate() {
        assert_eq!(t.lookup(&i), Some(Entry::Handshake(k as u32)));
    }
    assert_eq!(t.lookup(&(3 + 4 * b)), None);
    // Remove from the middle, the head and the tail of the chain.
    assert_eq!(t.remove(&(3 + 2 * b)), Some(Entry::Handshake(2)));
    assert_eq!(t.remove(&(3 + 2 * b)), None);
    assert_eq!(t.remove(&same_bucket[4]), Some(Entry::Handshake(4)));
    assert_eq!(t.remove(&3), Some(Entry::Handshake(0)));
    assert_eq!(t.lookup(&(3 + b)), Some(Entry::Handshake(1)));
    assert_eq!(t.lookup(&(3 + 3 * b)), Some(Entry::Handshake(3)));
    assert_eq!(t.len(), 2);
    // Freed slots are reused.
    script(&[3]);
    assert_eq!(insert(&mut t, Entry::Keypair(9)), Ok(3));
    assert_eq!(t.lookup(&3), Some(Entry::Keypair(9)));
}

#[test]
fn randomized_against_model() {
    let mut t = Table::stripe();
    let mut m: HashMap<u32, Entry> = HashMap::new();
    let mut rng = SplitMix(0x1234_5678_u64);
    let mut next = || rng.next();
    let mut live: Vec<u32> = Vec::new();
    for step in 0..100_000u32 {
        let r = next();
        match r % 10 {
            0..=3 => {
                // Small index space: plenty of collisions, of buckets and of indices.
                let i = (next() % 40_000) as u32;
                let e = Entry::Handshake(step);
                let expect = if m.contains_key(&i) {
                    Err(IndexError::IndexTaken)
                } else {
                    Ok(i)
                };
                // Every draw is `i`: taken, the insertion gives up.
                script(&[i; MAX_DRAWS]);
                assert_eq!(insert(&mut t, e), expect);
                SCRIPT.with(|s| s.borrow_mut().clear());
                if expect.is_ok() {
                    m.insert(i, e);
                    live.push(i);
                }
            }
            4..=5 if !live.is_empty() => {
                let i = live.swap_remove((next() % live.len() as u64) as usize);
                assert_eq!(t.remove(&i), m.remove(&i));
            }
            _ => {
                let i = (next() % 40_000) as u32;
                assert_eq!(t.lookup(&i), m.get(&i).copied(), "step {step}");
            }
        }
        assert_eq!(t.len(), m.len());
    }
}

/// The driver's arrangement (`session.rs`): a table per stripe, each behind
/// a lock of its own (here a `RefCell`), every index's stripe found by
/// `stripe` as the driver finds it, fresh ones by `draw` (each draw trying
/// its own stripe only).
struct Striped([RefCell<Table>; STRIPES]);

impl Striped {
    fn new() -> Self {
        Striped(std::array::from_fn(|_| RefCell::new(Table::stripe())))
    }
    fn insert(&self, e: Entry) -> Result<u32, IndexError> {
        draw::<Scripted>(|i| stripe(&self.0, i).borrow_mut().insert_at(i, e))
    }
    fn lookup(&self, i: u32) -> Option<Entry> {
        stripe(&self.0, i).borrow().lookup(&i)
    }
    fn remove(&self, i: u32) -> Option<Entry> {
        stripe(&self.0, i).borrow_mut().remove(&i)
    }
    fn len(&self) -> usize {
        self.0.iter().map(|t| t.borrow().len()).sum()
    }
    fn len_of(&self, s: usize) -> usize {
        self.0[s].borrow().len()
    }
}

/// The stripe of `i` worked out here: bits 13 to 18.
fn stripe_here(i: u32) -> usize {
    ((i >> 13) & 63) as usize
}

#[test]
fn stripes_use_bits_the_buckets_do_not() {
    assert_eq!(STRIPES * STRIPE_BUCKETS, BUCKETS);
    assert!(STRIPES.is_power_of_two() && STRIPE_BUCKETS.is_power_of_two());
    assert_eq!(stripe_of(0), 0);
    assert_eq!(stripe_of(u32::MAX), STRIPES - 1);
    // Every index of a whole table's bucket (the low 13 bits) keeps its
    // stripe whatever those bits are, and every stripe is reached by the
    // bits above them.
    for low in [0u32, 1, 127, 128, BUCKETS as u32 - 1] {
        for s in 0..STRIPES as u32 {
            let i = (s << BUCKETS.trailing_zeros()) | low;
            assert_eq!(stripe_of(i), s as usize);
            assert_eq!(stripe_of(i | 0xff00_0000), s as usize);
        }
    }
}

#[test]
fn a_stripe_allocates_at_its_first_insertion() {
    let mut t = Table::stripe();
    assert_eq!(t.bucket_count(), 0);
    assert_eq!(t.lookup(&5), None);
    assert_eq!(t.remove(&5), None);
    assert_eq!(t.insert_at(5, Entry::Handshake(1)), Ok(true));
    assert_eq!(t.bucket_count(), STRIPE_BUCKETS);
    assert_eq!(t.insert_at(5, Entry::Handshake(2)), Ok(false));
    assert_eq!(t.lookup(&5), Some(Entry::Handshake(1)));
    // Chains within the stripe: indices a stripe's bucket count apart.
    let b = STRIPE_BUCKETS as u32;
    for k in 1..5u32 {
        assert_eq!(t.insert_at(5 + k * b, Entry::Keypair(k)), Ok(true));
    }
    assert_eq!(t.remove(&(5 + 2 * b)), Some(Entry::Keypair(2)));
    assert_eq!(t.lookup(&(5 + 3 * b)), Some(Entry::Keypair(3)));
    assert_eq!(t.len(), 4);
}

#[test]
fn draw_goes_on_in_another_stripe() {
    let t = Striped::new();
    let shift = BUCKETS.trailing_zeros();
    let a = (3u32 << shift) | 9;
    let b = (40u32 << shift) | 9;
    script(&[a]);
    assert_eq!(t.insert(Entry::Handshake(1)), Ok(a));
    // `a` taken (in stripe 3): the next draw lands in stripe 40.
    script(&[a, b]);
    assert_eq!(t.insert(Entry::Handshake(2)), Ok(b));
    assert_eq!(t.len_of(3), 1);
    assert_eq!(t.len_of(40), 1);
    assert_eq!(t.lookup(a), Some(Entry::Handshake(1)));
    assert_eq!(t.lookup(b), Some(Entry::Handshake(2)));
    // The same low bits in a stripe that has none of them: not found.
    assert_eq!(t.lookup((7u32 << shift) | 9), None);
    // A stuck random source gives up, nothing changed.
    script(&vec![a; MAX_DRAWS]);
    assert_eq!(t.insert(Entry::Keypair(3)), Err(IndexError::IndexTaken));
    assert_eq!(t.len(), 2);
    SCRIPT.with(|s| assert!(s.borrow().is_empty()));
    assert_eq!(t.remove(a), Some(Entry::Handshake(1)));
    assert_eq!(t.lookup(a), None);
    assert_eq!(t.len(), 1);
}

#[test]
fn stripes_randomized_against_model() {
    let t = Striped::new();
    let mut m: HashMap<u32, Entry> = HashMap::new();
    let mut rng = SplitMix(0x9e37_79b9_u64);
    let mut next = || rng.next();
    let mut live: Vec<u32> = Vec::new();
    for step in 0..100_000u32 {
        // A small set of indices over every stripe: collisions of indices,
        // of buckets within a stripe, and of stripes.
        let pick = |r: u64| ((r % 64) as u32) << 13 | ((r >> 8) % 700) as u32;
        match next() % 10 {
            0..=3 => {
                // Up to three draws, each maybe taken: the first free one
                // is registered, in its own stripe; if all are, none is.
                let draws: Vec<u32> = (0..3).map(|_| pick(next())).collect();
                let e = Entry::Keypair(step);
                let expect = draws
                    .iter()
                    .copied()
                    .find(|i| !m.contains_key(i))
                    .ok_or(IndexError::IndexTaken);
                let mut script_words = draws.clone();
                script_words.resize(MAX_DRAWS, draws[2]);
                script(&script_words);
                assert_eq!(t.insert(e), expect, "step {step}");
                SCRIPT.with(|s| s.borrow_mut().clear());
                if let Ok(i) = expect {
                    m.insert(i, e);
                    live.push(i);
                }
            }
            4..=5 if !live.is_empty() => {
                let i = live.swap_remove((next() % live.len() as u64) as usize);
                assert_eq!(t.remove(i), m.remove(&i));
            }
            _ => {
                let i = pick(next());
                assert_eq!(t.lookup(i), m.get(&i).copied(), "step {step}");
            }
        }
        if step % 1000 == 0 {
            // Every entry in the stripe its bits name, worked out here.
            for s in 0..STRIPES {
                let want = m.keys().filter(|&&i| stripe_here(i) == s).count();
                assert_eq!(t.len_of(s), want, "step {step}, stripe {s}");
            }
        }
        assert_eq!(t.len(), m.len());
    }
}

#[test]
fn a_failed_allocation_changes_no_stripe() {
    use flaky_alloc::{Flaky, ALLOCS_LEFT};

    let mut t = IndexTable::<Flaky, Entry>::stripe();
    // The bucket array itself refused.
    ALLOCS_LEFT.with(|c| c.set(0));
    assert_eq!(t.insert_at(7, Entry::Handshake(1)), Err(AllocError));
    assert_eq!(t.bucket_count(), 0);
    assert_eq!((t.len(), t.lookup(&7)), (0, None));
    // The bucket array given, its first entry refused.
    ALLOCS_LEFT.with(|c| c.set(1));
    assert_eq!(t.insert_at(7, Entry::Handshake(1)), Err(AllocError));
    assert_eq!(t.bucket_count(), STRIPE_BUCKETS);
    assert_eq!((t.len(), t.lookup(&7)), (0, None));
    // Memory again: as if nothing had failed.
    ALLOCS_LEFT.with(|c| c.set(u64::MAX));
    assert_eq!(t.insert_at(7, Entry::Handshake(1)), Ok(true));
    assert_eq!(t.lookup(&7), Some(Entry::Handshake(1)));
    // Through `draw`, once the slots' spare room is used up: the failure is
    // NoMemory, and no index is taken.
    ALLOCS_LEFT.with(|c| c.set(0));
    let mut next = 100;
    while t.insert_at(next, Entry::Keypair(next)) == Ok(true) {
        next += 1;
    }
    let len = t.len();
    script(&[9, 9]);
    let r = draw::<Scripted>(|i| t.insert_at(i, Entry::Keypair(2)));
    ALLOCS_LEFT.with(|c| c.set(u64::MAX));
    SCRIPT.with(|s| s.borrow_mut().clear());
    assert_eq!(r, Err(IndexError::NoMemory));
    assert_eq!((t.len(), t.lookup(&9)), (len, None));
}

mod flaky_alloc;
mod splitmix;
use splitmix::SplitMix;

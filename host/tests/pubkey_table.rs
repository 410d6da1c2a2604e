//! Public-key table: forced bucket collisions (keys searched to share a
//! bucket under a known hash key), growth, and a model comparison.

use std::collections::HashMap;
use wg_proto::host::Host;
use wg_proto::proto::allowedips::PeerId;
use wg_proto::proto::pubkey_table::{PubkeyError, PubkeyTable, INITIAL_BUCKETS};
use wg_proto::proto::siphash::SipKey;

const HASH_KEY: SipKey<Host> = SipKey::new([0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210]);

fn key_from(n: u64) -> [u8; 32] {
    let mut k = [0u8; 32];
    k[..8].copy_from_slice(&n.to_le_bytes());
    k[31] = 0x42;
    k
}

#[test]
fn forced_bucket_collisions() {
    // Find keys that share a bucket under the (known, test-only) hash key.
    let bucket = |k: &[u8; 32]| HASH_KEY.hash(k) as usize & (INITIAL_BUCKETS - 1);
    let target = bucket(&key_from(0));
    let colliding: Vec<[u8; 32]> = (0..u64::MAX)
        .map(key_from)
        .filter(|k| bucket(k) == target)
        .take(6)
        .collect();
    let mut t = PubkeyTable::<Host, Host>::new(HASH_KEY).unwrap();
    for (p, k) in colliding.iter().enumerate() {
        t.insert(k, PeerId(p as u32)).unwrap();
    }
    for (p, k) in colliding.iter().enumerate() {
        assert_eq!(t.lookup(k), Some(PeerId(p as u32)));
    }
    // A key of the same bucket that is not registered.
    let stranger = (0..u64::MAX)
        .map(key_from)
        .filter(|k| bucket(k) == target)
        .nth(6)
        .unwrap();
    assert_eq!(t.lookup(&stranger), None);
    assert_eq!(t.remove(&stranger), None);
    // Middle, head (last inserted) and tail (first inserted) of the chain.
    assert_eq!(t.remove(&colliding[2]), Some(PeerId(2)));
    assert_eq!(t.remove(&colliding[5]), Some(PeerId(5)));
    assert_eq!(t.remove(&colliding[0]), Some(PeerId(0)));
    assert_eq!(t.remove(&colliding[0]), None);
    for p in [1, 3, 4] {
        assert_eq!(t.lookup(&colliding[p]), Some(PeerId(p as u32)));
    }
    assert_eq!(t.len(), 3);
    // Duplicate registration is refused and names the owner.
    assert_eq!(
        t.insert(&colliding[3], PeerId(77)),
        Err(PubkeyError::Exists(PeerId(3)))
    );
    // Reinsertion reuses a freed slot.
    t.insert(&colliding[0], PeerId(10)).unwrap();
    assert_eq!(t.lookup(&colliding[0]), Some(PeerId(10)));
}

#[test]
fn different_hash_keys_spread_differently() {
    let a = SipKey::<Host>::random();
    let b = SipKey::<Host>::random();
    assert!(a != b);
    let k = key_from(1);
    assert_ne!(a.hash(&k), b.hash(&k));
}

#[test]
fn growth_keeps_every_key() {
    let mut t = PubkeyTable::<Host, Host>::new(SipKey::<Host>::random()).unwrap();
    let n = 3 * 2 * INITIAL_BUCKETS;
    for i in 0..n {
        t.insert(&key_from(i as u64), PeerId(i as u32)).unwrap();
    }
    assert!(
        t.bucket_count() >= 2 * INITIAL_BUCKETS,
        "buckets {}",
        t.bucket_count()
    );
    for i in 0..n {
        assert_eq!(t.lookup(&key_from(i as u64)), Some(PeerId(i as u32)));
    }
    for i in (0..n).step_by(2) {
        assert_eq!(t.remove(&key_from(i as u64)), Some(PeerId(i as u32)));
    }
    for i in 0..n {
        assert_eq!(
            t.lookup(&key_from(i as u64)),
            (i % 2 == 1).then_some(PeerId(i as u32))
        );
    }
    assert_eq!(t.len(), n / 2);
}

#[test]
fn randomized_against_model() {
    let mut t = PubkeyTable::<Host, Host>::new(HASH_KEY).unwrap();
    let mut m: HashMap<[u8; 32], PeerId> = HashMap::new();
    let mut rng = SplitMix(0x9e37_79b9_u64);
    let mut next = || rng.next();
    for step in 0..60_000u32 {
        let k = key_from(next() % 6000);
        match next() % 4 {
            0 => {
                let expect = match m.get(&k) {
                    Some(&p) => Err(PubkeyError::Exists(p)),
                    None => Ok(()),
                };
                assert_eq!(t.insert(&k, PeerId(step)), expect);
                if expect.is_ok() {
                    m.insert(k, PeerId(step));
                }
            }
            1 => assert_eq!(t.remove(&k), m.remove(&k)),
            _ => assert_eq!(t.lookup(&k), m.get(&k).copied()),
        }
        assert_eq!(t.len(), m.len());
    }
}

mod flaky_alloc;
mod splitmix;
use splitmix::SplitMix;

#[test]
fn reserve_makes_the_next_inserts_infallible() {
    use flaky_alloc::{Flaky, ALLOCS_LEFT};

    let mut t = PubkeyTable::<Flaky, Host>::new(HASH_KEY).unwrap();
    let key = |i: u32| {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&i.to_le_bytes());
        k[31] = 0x5a;
        k
    };
    let mut next = 0u32;
    for round in 0..30u32 {
        let n = (round * 37 % 200) as usize;
        t.reserve(n).unwrap();
        // Removals in between only give entries back.
        if round % 3 == 0 && next > 10 {
            assert!(t.remove(&key(next - 5)).is_some());
        }
        ALLOCS_LEFT.with(|c| c.set(0));
        for _ in 0..n {
            t.insert(&key(next), PeerId(next % 1000))
                .unwrap_or_else(|e| {
                    panic!("round {round}: insert {next} after reserve({n}): {e:?}")
                });
            next += 1;
        }
        ALLOCS_LEFT.with(|c| c.set(u64::MAX));
    }
    // Use up the entries removals freed (allocations refused); then an
    // insert that needs a new entry fails and changes nothing.
    ALLOCS_LEFT.with(|c| c.set(0));
    while t.insert(&key(next), PeerId(1)).is_ok() {
        next += 1;
    }
    let len = t.len();
    assert!(t.insert(&key(next), PeerId(1)).is_err());
    ALLOCS_LEFT.with(|c| c.set(u64::MAX));
    assert!(t.lookup(&key(next)).is_none());
    assert_eq!(t.len(), len);
}

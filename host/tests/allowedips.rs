//! Allowed IPs: the upstream selftest (drivers/net/wireguard/selftest/allowedips.c)
//! by meaning, a randomized comparison against a naive longest-prefix model,
//! allocation failures, and determinism.

use std::collections::HashMap;
use wg_proto::host::Host;
use wg_proto::proto::allowedips::{AllowedIps, AllowedIpsError, PeerId, Prefix};

type Table = AllowedIps<Host>;

fn ip4(a: u8, b: u8, c: u8, d: u8) -> [u8; 4] {
    [a, b, c, d]
}

fn ip6(a: u32, b: u32, c: u32, d: u32) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, w) in [a, b, c, d].iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
    }
    out
}

const A: PeerId = PeerId(0);
const B: PeerId = PeerId(1);
const C: PeerId = PeerId(2);
const D: PeerId = PeerId(3);
const E: PeerId = PeerId(4);
const F: PeerId = PeerId(5);
const G: PeerId = PeerId(6);
const H: PeerId = PeerId(7);

#[test]
fn upstream_selftest_lookups() {
    let mut t = Table::new();
    let i4 = |t: &mut Table, p, a, b, c, d, cidr| t.insert_v4(ip4(a, b, c, d), cidr, p).unwrap();
    let i6 = |t: &mut Table, p, a, b, c, d, cidr| t.insert_v6(&ip6(a, b, c, d), cidr, p).unwrap();
    i4(&mut t, A, 192, 168, 4, 0, 24);
    i4(&mut t, B, 192, 168, 4, 4, 32);
    i4(&mut t, C, 192, 168, 0, 0, 16);
    i4(&mut t, D, 192, 95, 5, 64, 27);
    // Replaces the previous entry; host bits must be masked.
    i4(&mut t, C, 192, 95, 5, 65, 27);
    i6(&mut t, D, 0x26075300, 0x60006b00, 0, 0xc05f0543, 128);
    i6(&mut t, C, 0x26075300, 0x60006b00, 0, 0, 64);
    i4(&mut t, E, 0, 0, 0, 0, 0);
    i6(&mut t, E, 0, 0, 0, 0, 0);
    // Replaces the previous entry.
    i6(&mut t, F, 0, 0, 0, 0, 0);
    i6(&mut t, G, 0x24046800, 0, 0, 0, 32);
    // Host bits must be masked.
    i6(
        &mut t, H, 0x24046800, 0x40040800, 0xdeadbeef, 0xdeadbeef, 64,
    );
    i6(
        &mut t, A, 0x24046800, 0x40040800, 0xdeadbeef, 0xdeadbeef, 128,
    );
    i6(
        &mut t, C, 0x24446800, 0x40e40800, 0xdeaebeef, 0xdefbeef, 128,
    );
    i6(&mut t, B, 0x24446800, 0xf0e40800, 0xeeaebeef, 0, 98);
    i4(&mut t, G, 64, 15, 112, 0, 20);
    // Host bits must be masked.
    i4(&mut t, H, 64, 15, 123, 211, 25);
    i4(&mut t, A, 10, 0, 0, 0, 25);
    i4(&mut t, B, 10, 0, 0, 128, 25);
    i4(&mut t, A, 10, 1, 0, 0, 30);
    i4(&mut t, B, 10, 1, 0, 4, 30);
    i4(&mut t, C, 10, 1, 0, 8, 29);
    i4(&mut t, D, 10, 1, 0, 16, 29);
    t.check_invariants().unwrap();

    let l4 = |t: &Table, a, b, c, d| t.lookup_v4(ip4(a, b, c, d));
    let l6 = |t: &Table, a, b, c, d| t.lookup_v6(&ip6(a, b, c, d));
    assert_eq!(l4(&t, 192, 168, 4, 20), Some(A));
    assert_eq!(l4(&t, 192, 168, 4, 0), Some(A));
    assert_eq!(l4(&t, 192, 168, 4, 4), Some(B));
    assert_eq!(l4(&t, 192, 168, 200, 182), Some(C));
    assert_eq!(l4(&t, 192, 95, 5, 68), Some(C));
    assert_eq!(l4(&t, 192, 95, 5, 96), Some(E));
    assert_eq!(l6(&t, 0x26075300, 0x60006b00, 0, 0xc05f0543), Some(D));
    assert_eq!(l6(&t, 0x26075300, 0x60006b00, 0, 0xc02e01ee), Some(C));
    assert_eq!(l6(&t, 0x26075300, 0x60006b01, 0, 0), Some(F));
    assert_eq!(l6(&t, 0x24046800, 0x40040806, 0, 0x1006), Some(G));
    assert_eq!(l6(&t, 0x24046800, 0x40040806, 0x1234, 0x5678), Some(G));
    assert_eq!(l6(&t, 0x240467ff, 0x40040806, 0x1234, 0x5678), Some(F));
    assert_eq!(l6(&t, 0x24046801, 0x40040806, 0x1234, 0x5678), Some(F));
    assert_eq!(l6(&t, 0x24046800, 0x40040800, 0x1234, 0x5678), Some(H));
    assert_eq!(l6(&t, 0x24046800, 0x40040800, 0, 0), Some(H));
    assert_eq!(
        l6(&t, 0x24046800, 0x40040800, 0x10101010, 0x10101010),
        Some(H)
    );
    assert_eq!(
        l6(&t, 0x24046800, 0x40040800, 0xdeadbeef, 0xdeadbeef),
        Some(A)
    );
    assert_eq!(l4(&t, 64, 15, 116, 26), Some(G));
    assert_eq!(l4(&t, 64, 15, 127, 3), Some(G));
    assert_eq!(l4(&t, 64, 15, 123, 1), Some(G));
    assert_eq!(l4(&t, 64, 15, 123, 128), Some(H));
    assert_eq!(l4(&t, 64, 15, 123, 129), Some(H));
    assert_eq!(l4(&t, 10, 0, 0, 52), Some(A));
    assert_eq!(l4(&t, 10, 0, 0, 220), Some(B));
    assert_eq!(l4(&t, 10, 1, 0, 2), Some(A));
    assert_eq!(l4(&t, 10, 1, 0, 6), Some(B));
    assert_eq!(l4(&t, 10, 1, 0, 10), Some(C));
    assert_eq!(l4(&t, 10, 1, 0, 20), Some(D));

    for first in [1u8, 64, 128, 192, 255] {
        t.insert_v4(ip4(first, 0, 0, 0), 32, A).unwrap();
    }
    t.remove_by_peer(A);
    t.check_invariants().unwrap();
    for first in [1u8, 64, 128, 192, 255] {
        assert_ne!(l4(&t, first, 0, 0, 0), Some(A));
    }
    assert_eq!(t.prefix_count(A), 0);
    // Others are untouched by the removal.
    assert_eq!(l4(&t, 10, 1, 0, 20), Some(D));
    assert_eq!(l4(&t, 10, 0, 0, 52), Some(E));
    assert_eq!(
        l6(&t, 0x24046800, 0x40040800, 0xdeadbeef, 0xdeadbeef),
        Some(H)
    );
}

#[test]
fn upstream_selftest_nested_removal() {
    let mut t = Table::new();
    t.insert_v4(ip4(192, 168, 0, 0), 16, A).unwrap();
    t.insert_v4(ip4(192, 168, 0, 0), 24, A).unwrap();
    t.remove_by_peer(A);
    t.check_invariants().unwrap();
    assert_ne!(t.lookup_v4(ip4(192, 168, 0, 1)), Some(A));
    assert_eq!(t.node_counts(), (0, 0));
}

#[test]
fn upstream_selftest_deep_trie() {
    let mut t = Table::new();
    for i in 0..64u32 {
        let part = (!0u64 << i).to_be_bytes();
        let mut ip = [0xffu8; 16];
        ip[8..].copy_from_slice(&part);
        t.insert_v6(&ip, 128, A).unwrap();
        let mut ip = [0u8; 16];
        ip[..8].copy_from_slice(&part);
        t.insert_v6(&ip, 128, A).unwrap();
    }
    t.insert_v6(&[0; 16], 128, A).unwrap();
    t.check_invariants().unwrap();
    assert_eq!(t.prefix_count(A), 129);
    assert_eq!(t.lookup_v6(&[0xff; 16]), Some(A));
    assert_eq!(t.lookup_v6(&[0; 16]), Some(A));
    let mut almost = [0u8; 16];
    almost[15] = 1;
    assert_eq!(t.lookup_v6(&almost), None);
    t.remove_by_peer(A);
    t.check_invariants().unwrap();
    assert_eq!(t.node_counts(), (0, 0));
}

#[test]
fn upstream_selftest_walk() {
    let mut t = Table::new();
    t.insert_v4(ip4(192, 95, 5, 93), 27, A).unwrap();
    t.insert_v6(&ip6(0x26075300, 0x60006b00, 0, 0xc05f0543), 128, A)
        .unwrap();
    t.insert_v4(ip4(10, 1, 0, 20), 29, A).unwrap();
    t.insert_v6(&ip6(0x26075300, 0x6d8a6bf8, 0xdab1f1df, 0xc05f1523), 83, A)
        .unwrap();
    t.insert_v6(&ip6(0x26075300, 0x6d8a6bf8, 0xdab1f1df, 0xc05f1523), 21, A)
        .unwrap();
    let walk: Vec<Prefix> = t.peer_prefixes(A).collect();
    // The upstream test checks the set; the C list order is insertion order.
    assert_eq!(
        walk,
        vec![
            Prefix::V4 {
                addr: ip4(192, 95, 5, 64),
                cidr: 27
            },
            Prefix::V6 {
                addr: ip6(0x26075300, 0x60006b00, 0, 0xc05f0543),
                cidr: 128
            },
            Prefix::V4 {
                addr: ip4(10, 1, 0, 16),
                cidr: 29
            },
            Prefix::V6 {
                addr: ip6(0x26075300, 0x6d8a6bf8, 0xdab1e000, 0),
                cidr: 83
            },
            Prefix::V6 {
                addr: ip6(0x26075000, 0, 0, 0),
                cidr: 21
            },
        ]
    );
    // Inserting again moves to the end; reassigning moves to the other peer.
    t.insert_v4(ip4(192, 95, 5, 70), 27, A).unwrap();
    t.insert_v4(ip4(10, 1, 0, 16), 29, B).unwrap();
    let walk: Vec<Prefix> = t.peer_prefixes(A).collect();
    assert_eq!(
        walk.first(),
        Some(&Prefix::V6 {
            addr: ip6(0x26075300, 0x60006b00, 0, 0xc05f0543),
            cidr: 128
        })
    );
    assert_eq!(
        walk.last(),
        Some(&Prefix::V4 {
            addr: ip4(192, 95, 5, 64),
            cidr: 27
        })
    );
    assert_eq!(walk.len(), 4);
    assert_eq!(
        t.peer_prefixes(B).collect::<Vec<_>>(),
        vec![Prefix::V4 {
            addr: ip4(10, 1, 0, 16),
            cidr: 29
        }]
    );
    // Resuming a walk.
    let resumed: Vec<Prefix> = t.peer_prefixes_after(A, Some(&walk[1])).unwrap().collect();
    assert_eq!(resumed, walk[2..]);
    assert!(t.peer_prefixes_after(B, Some(&walk[1])).is_none());
    t.check_invariants().unwrap();
}

#[test]
fn remove_one_only_for_owner() {
    let mut t = Table::new();
    t.insert_v4(ip4(10, 0, 0, 0), 8, A).unwrap();
    t.insert_v4(ip4(10, 1, 0, 0), 16, B).unwrap();
    t.insert_v6(&ip6(0x20010db8, 0, 0, 0), 32, A).unwrap();
    let seq = t.seq();
    assert!(!t.remove_v4(ip4(10, 0, 0, 0), 8, B));
    assert!(!t.remove_v4(ip4(10, 0, 0, 0), 9, A));
    assert!(!t.remove_v4(ip4(10, 0, 0, 0), 33, A));
    assert!(!t.remove_v6(&ip6(0x20010db8, 0, 0, 0), 129, A));
    assert_eq!(t.seq(), seq);
    assert_eq!(t.lookup_v4(ip4(10, 2, 0, 0)), Some(A));
    // Host bits are ignored when removing too.
    assert!(t.remove_v4(ip4(10, 9, 9, 9), 8, A));
    assert_ne!(t.seq(), seq);
    assert_eq!(t.lookup_v4(ip4(10, 2, 0, 0)), None);
    assert_eq!(t.lookup_v4(ip4(10, 1, 2, 3)), Some(B));
    assert!(t.remove_v6(&ip6(0x20010db8, 0xffff, 0, 0), 32, A));
    assert_eq!(t.lookup_v6(&ip6(0x20010db8, 0, 0, 1)), None);
    assert_eq!(t.prefix_count(A), 0);
    t.check_invariants().unwrap();
}

#[test]
fn invalid_arguments() {
    let mut t = Table::new();
    assert_eq!(
        t.insert_v4(ip4(1, 2, 3, 4), 33, A),
        Err(AllowedIpsError::InvalidCidr)
    );
    assert_eq!(
        t.insert_v6(&[0; 16], 129, A),
        Err(AllowedIpsError::InvalidCidr)
    );
    assert_eq!(
        t.insert_v4(ip4(1, 2, 3, 4), 32, PeerId(PeerId::MAX + 1)),
        Err(AllowedIpsError::InvalidPeer)
    );
    t.insert_v4(ip4(1, 2, 3, 4), 32, PeerId(PeerId::MAX))
        .unwrap();
    assert_eq!(t.lookup_v4(ip4(1, 2, 3, 4)), Some(PeerId(PeerId::MAX)));
    // Peers never used.
    t.remove_by_peer(PeerId(12345));
    assert_eq!(t.peer_prefixes(PeerId(999)).count(), 0);
    assert_eq!(t.prefix_count(PeerId(u32::MAX)), 0);
    t.check_invariants().unwrap();
    t.clear();
    assert_eq!(t.lookup_v4(ip4(1, 2, 3, 4)), None);
    assert_eq!(t.node_counts(), (0, 0));
}

#[test]
fn send_sync_and_sizes() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Table>();
    let (v4, v6) = Table::NODE_BYTES;
    println!("bytes per node: IPv4 {v4}, IPv6 {v6}");
    // One node type for both families: the key is 128 bits wide.
    assert_eq!((v4, v6), (32 + 12, 32 + 12));
}

// ----------------------------------------------------------------------------
// Randomized comparison against a naive model.

mod splitmix;
use splitmix::SplitMix;

/// (is_v6, address as an integer, prefix length)
type Key = (bool, u128, u8);

fn bits(v6: bool) -> u8 {
    if v6 {
        128
    } else {
        32
    }
}

fn mask(v6: bool, addr: u128, cidr: u8) -> u128 {
    let b = u32::from(bits(v6));
    let full = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    if cidr == 0 {
        0
    } else {
        addr & (full << (b - u32::from(cidr))) & full
    }
}

fn to_prefix(k: Key) -> Prefix {
    let (v6, addr, cidr) = k;
    if v6 {
        Prefix::V6 {
            addr: addr.to_be_bytes(),
            cidr,
        }
    } else {
        Prefix::V4 {
            addr: (addr as u32).to_be_bytes(),
            cidr,
        }
    }
}

#[derive(Default)]
struct Model {
    owner: HashMap<Key, u32>,
    lists: Vec<Vec<Key>>,
}

impl Model {
    fn insert(&mut self, k: Key, peer: u32) {
        if let Some(old) = self.owner.insert(k, peer) {
            self.lists[old as usize].retain(|x| *x != k);
        }
        self.lists[peer as usize].push(k);
    }
    fn remove(&mut self, k: Key, peer: u32) -> bool {
        if self.owner.get(&k) == Some(&peer) {
            self.owner.remove(&k);
            self.lists[peer as usize].retain(|x| *x != k);
            true
        } else {
            false
        }
    }
    fn remove_by_peer(&mut self, peer: u32) {
        for k in std::mem::take(&mut self.lists[peer as usize]) {
            self.owner.remove(&k);
        }
    }
    fn lookup(&self, v6: bool, addr: u128) -> Option<PeerId> {
        (0..=bits(v6)).rev().find_map(|cidr| {
            self.owner
                .get(&(v6, mask(v6, addr, cidr), cidr))
                .map(|&p| PeerId(p))
        })
    }
}

fn t_insert(t: &mut Table, v6: bool, addr: u128, cidr: u8, peer: PeerId) {
    if v6 {
        t.insert_v6(&addr.to_be_bytes(), cidr, peer).unwrap()
    } else {
        t.insert_v4((addr as u32).to_be_bytes(), cidr, peer)
            .unwrap()
    }
}
fn t_remove(t: &mut Table, v6: bool, addr: u128, cidr: u8, peer: PeerId) -> bool {
    if v6 {
        t.remove_v6(&addr.to_be_bytes(), cidr, peer)
    } else {
        t.remove_v4((addr as u32).to_be_bytes(), cidr, peer)
    }
}
fn t_lookup(t: &Table, v6: bool, addr: u128) -> Option<PeerId> {
    if v6 {
        t.lookup_v6(&addr.to_be_bytes())
    } else {
        t.lookup_v4((addr as u32).to_be_bytes())
    }
}

const PEERS: u32 = 24;

/// Random address near one of a few bases, so that prefixes nest and share
/// long common parts.
fn near(rng: &mut SplitMix, bases: &[u128], v6: bool) -> u128 {
    let b = bits(v6);
    let base = bases[rng.below(bases.len() as u64) as usize];
    let keep = rng.below(u64::from(b) + 1) as u8;
    let noise = rng.u128();
    mask(v6, base, keep) | (noise & !mask(v6, u128::MAX, keep) & mask(v6, u128::MAX, b))
}

fn random_cidr(rng: &mut SplitMix, v6: bool) -> u8 {
    let b = bits(v6);
    match rng.below(8) {
        0 => b,
        1 => rng.below(9) as u8,
        _ => rng.below(u64::from(b) + 1) as u8,
    }
}

fn run_random(seed: u64, ops_per_family: usize) {
    let mut rng = SplitMix(seed);
    let mut t = Table::new();
    let mut m = Model {
        lists: vec![Vec::new(); PEERS as usize],
        ..Default::default()
    };
    let bases4: Vec<u128> = (0..12).map(|_| u128::from(rng.next() as u32)).collect();
    let bases6: Vec<u128> = (0..12).map(|_| rng.u128()).collect();
    let mut counts = [0usize; 6];
    for op in 0..2 * ops_per_family {
        let v6 = op % 2 == 1;
        let bases = if v6 { &bases6 } else { &bases4 };
        let peer = rng.below(u64::from(PEERS)) as u32;
        match rng.below(100) {
            0..=37 => {
                counts[0] += 1;
                let addr = near(&mut rng, bases, v6);
                let cidr = random_cidr(&mut rng, v6);
                t_insert(&mut t, v6, addr, cidr, PeerId(peer));
                m.insert((v6, mask(v6, addr, cidr), cidr), peer);
            }
            38..=49 => {
                counts[1] += 1;
                // Remove an existing prefix, usually with its owner, or a random one.
                let (addr, cidr, who) = if !m.owner.is_empty() && rng.below(4) != 0 {
                    let list = &m.lists[peer as usize];
                    if list.is_empty() {
                        let a = near(&mut rng, bases, v6);
                        (a, random_cidr(&mut rng, v6), peer)
                    } else {
                        let k = list[rng.below(list.len() as u64) as usize];
                        if k.0 != v6 {
                            (near(&mut rng, bases, v6), random_cidr(&mut rng, v6), peer)
                        } else {
                            // Unmasked host bits, sometimes the wrong peer.
                            let host = rng.u128()
                                & !mask(v6, u128::MAX, k.2)
                                & mask(v6, u128::MAX, bits(v6));
                            let who = if rng.below(4) == 0 {
                                (peer + 1) % PEERS
                            } else {
                                peer
                            };
                            (k.1 | host, k.2, who)
                        }
                    }
                } else {
                    (near(&mut rng, bases, v6), random_cidr(&mut rng, v6), peer)
                };
                let expect = m.remove((v6, mask(v6, addr, cidr), cidr), who);
                assert_eq!(
                    t_remove(&mut t, v6, addr, cidr, PeerId(who)),
                    expect,
                    "seed {seed} op {op} remove"
                );
            }
            50 if rng.below(4) == 0 => {
                counts[2] += 1;
                t.remove_by_peer(PeerId(peer));
                m.remove_by_peer(peer);
            }
            50..=95 => {
                counts[3] += 1;
                let addr = near(&mut rng, bases, v6);
                assert_eq!(
                    t_lookup(&t, v6, addr),
                    m.lookup(v6, addr),
                    "seed {seed} op {op} lookup {v6} {addr:x}"
                );
            }
            _ => {
                counts[4] += 1;
                let walk: Vec<Prefix> = t.peer_prefixes(PeerId(peer)).collect();
                let expect: Vec<Prefix> = m.lists[peer as usize]
                    .iter()
                    .copied()
                    .map(to_prefix)
                    .collect();
                assert_eq!(walk, expect, "seed {seed} op {op} walk of peer {peer}");
                // Resuming after any element gives the rest of the walk.
                if !walk.is_empty() {
                    let k = rng.below(walk.len() as u64) as usize;
                    let rest: Vec<Prefix> = t
                        .peer_prefixes_after(PeerId(peer), Some(&walk[k]))
                        .unwrap()
                        .collect();
                    assert_eq!(rest, walk[k + 1..], "seed {seed} op {op} resumed walk");
                }
                assert_eq!(t.prefix_count(PeerId(peer)), expect.len());
            }
        }
        if op % 4096 == 0 {
            t.check_invariants()
                .unwrap_or_else(|e| panic!("seed {seed} op {op}: {e}"));
        }
        counts[5] = counts[5].max(m.owner.len());
    }
    t.check_invariants().unwrap();
    for p in 0..PEERS {
        let walk: Vec<Prefix> = t.peer_prefixes(PeerId(p)).collect();
        let expect: Vec<Prefix> = m.lists[p as usize].iter().copied().map(to_prefix).collect();
        assert_eq!(walk, expect);
    }
    for p in 0..PEERS {
        t.remove_by_peer(PeerId(p));
    }
    t.check_invariants().unwrap();
    assert_eq!(t.node_counts(), (0, 0));
    println!(
        "seed {seed}: {} inserts, {} removes, {} peer removals, {} lookups, {} walks, at most {} prefixes",
        counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]
    );
}

#[test]
fn randomized_against_model() {
    // 100,000 operations on each family, interleaved in one table (the per-peer
    // lists span both families).
    run_random(1, 100_000);
}

#[test]
fn randomized_against_model_more_seeds() {
    for seed in 2..5 {
        run_random(seed, 10_000);
    }
}

#[test]
fn two_copies_stay_identical() {
    // Left-right: the same operations on two tables give the same state.
    let mut rng = SplitMix(77);
    let mut a = Table::new();
    let mut b = Table::new();
    let bases: Vec<u128> = (0..4).map(|_| u128::from(rng.next() as u32)).collect();
    // Give `b` a different allocation history first.
    for i in 0..100u8 {
        b.insert_v4([i, 1, 2, 3], 32, PeerId(3)).unwrap();
    }
    b.remove_by_peer(PeerId(3));
    for _ in 0..5000 {
        let addr = near(&mut rng, &bases, false) as u32;
        let cidr = random_cidr(&mut rng, false);
        let peer = PeerId(rng.below(5) as u32);
        match rng.below(10) {
            0..=6 => {
                a.insert_v4(addr.to_be_bytes(), cidr, peer).unwrap();
                b.insert_v4(addr.to_be_bytes(), cidr, peer).unwrap();
            }
            7..=8 => assert_eq!(
                a.remove_v4(addr.to_be_bytes(), cidr, peer),
                b.remove_v4(addr.to_be_bytes(), cidr, peer)
            ),
            _ => {
                a.remove_by_peer(peer);
                b.remove_by_peer(peer);
            }
        }
        let probe = near(&mut rng, &bases, false) as u32;
        assert_eq!(
            a.lookup_v4(probe.to_be_bytes()),
            b.lookup_v4(probe.to_be_bytes())
        );
    }
    for p in 0..5 {
        assert!(a.peer_prefixes(PeerId(p)).eq(b.peer_prefixes(PeerId(p))));
    }
    // `b` saw 100 inserts and one peer removal more.
    assert_eq!(b.seq() - a.seq(), 101);
}

// ----------------------------------------------------------------------------
// Allocation failures: a platform whose allocator fails on command.

mod flaky_alloc;
use flaky_alloc::{Flaky, ALLOCS_LEFT};

fn snapshot(
    t: &AllowedIps<Flaky>,
    probes: &[(bool, u128)],
) -> (u64, Vec<Vec<Prefix>>, Vec<Option<PeerId>>) {
    let walks = (0..8)
        .map(|p| t.peer_prefixes(PeerId(p)).collect())
        .collect();
    let looks = probes
        .iter()
        .map(|&(v6, a)| {
            if v6 {
                t.lookup_v6(&a.to_be_bytes())
            } else {
                t.lookup_v4((a as u32).to_be_bytes())
            }
        })
        .collect();
    (t.seq(), walks, looks)
}

#[test]
fn allocation_failure_leaves_table_unchanged() {
    let mut rng = SplitMix(5);
    let mut t = AllowedIps::<Flaky>::new();
    let bases4: Vec<u128> = (0..4).map(|_| u128::from(rng.next() as u32)).collect();
    let bases6: Vec<u128> = (0..4).map(|_| rng.u128()).collect();
    let probes: Vec<(bool, u128)> = (0..200)
        .map(|i| {
            let v6 = i % 2 == 0;
            (v6, near(&mut rng, if v6 { &bases6 } else { &bases4 }, v6))
        })
        .collect();
    let mut failures = 0;
    for _ in 0..3000 {
        let v6 = rng.below(2) == 0;
        let addr = near(&mut rng, if v6 { &bases6 } else { &bases4 }, v6);
        let cidr = random_cidr(&mut rng, v6);
        let peer = PeerId(rng.below(8) as u32);
        let before = snapshot(&t, &probes);
        ALLOCS_LEFT.with(|c| c.set(rng.below(3)));
        let r = if v6 {
            t.insert_v6(&addr.to_be_bytes(), cidr, peer)
        } else {
            t.insert_v4((addr as u32).to_be_bytes(), cidr, peer)
        };
        ALLOCS_LEFT.with(|c| c.set(u64::MAX));
        match r {
            Ok(()) => {}
            Err(e) => {
                assert_eq!(e, AllowedIpsError::NoMemory);
                failures += 1;
                assert_eq!(snapshot(&t, &probes), before);
            }
        }
        t.check_invariants().unwrap();
    }
    assert!(failures > 10, "{failures} failures injected");
    // Reserve, then insert with no memory at all: cannot fail.
    t.reserve(PeerId(7), 1).unwrap();
    ALLOCS_LEFT.with(|c| c.set(0));
    t.insert_v6(
        &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        77,
        PeerId(7),
    )
    .unwrap();
    t.insert_v4([203, 0, 113, 9], 31, PeerId(7)).unwrap();
    ALLOCS_LEFT.with(|c| c.set(u64::MAX));
    t.check_invariants().unwrap();
}

#[test]
fn memory_per_prefix() {
    // Node counts for typical tables: random /32s and /24s (IPv4), random
    // /128s and /48s (IPv6). Intermediate nodes never exceed prefixes - 1.
    let mut rng = SplitMix(11);
    for (v6, cidr) in [(false, 32u8), (false, 24), (true, 128), (true, 48)] {
        let mut t = Table::new();
        let n = 20_000u32;
        for i in 0..n {
            let addr = rng.u128();
            t_insert(&mut t, v6, addr, cidr, PeerId(i % 100));
        }
        let prefixes: usize = (0..100).map(|p| t.prefix_count(PeerId(p))).sum();
        let (n4, n6) = t.node_counts();
        let nodes = if v6 { n6 } else { n4 };
        let per_node = if v6 {
            Table::NODE_BYTES.1
        } else {
            Table::NODE_BYTES.0
        };
        assert!(nodes < 2 * prefixes);
        println!(
            "{} /{cidr}: {prefixes} prefixes, {nodes} nodes, {:.1} bytes per prefix (before vector slack)",
            if v6 { "IPv6" } else { "IPv4" },
            (nodes * per_node) as f64 / prefixes as f64
        );
    }
    println!(
        "ReplayWindow: {} bytes",
        std::mem::size_of::<wg_proto::proto::replay::ReplayWindow>()
    );
    println!(
        "PeerTimers: {} bytes",
        std::mem::size_of::<wg_proto::proto::timers::PeerTimers>()
    );
}

/// `cargo test --release --test allowedips -- --ignored --nocapture`
#[test]
#[ignore]
fn lookup_speed() {
    let mut rng = SplitMix(21);
    for (v6, n) in [
        (false, 1000u32),
        (false, 100_000),
        (true, 1000),
        (true, 100_000),
    ] {
        let mut t = Table::new();
        let mut addrs = Vec::new();
        for i in 0..n {
            let addr = rng.u128();
            let cidr = if v6 {
                48 + (i % 81) as u8
            } else {
                16 + (i % 17) as u8
            };
            t_insert(&mut t, v6, addr, cidr, PeerId(i % 1000));
            addrs.push(addr);
        }
        let probes: Vec<u128> = (0..1 << 20)
            .map(|i| addrs[i % addrs.len()] ^ (rng.next() as u128 & 0xff))
            .collect();
        let start = std::time::Instant::now();
        let mut hits = 0usize;
        for &a in &probes {
            hits += t_lookup(&t, v6, a).is_some() as usize;
        }
        let ns = start.elapsed().as_nanos() as f64 / probes.len() as f64;
        println!(
            "{} {n} prefixes: {ns:.1} ns per lookup ({hits} hits)",
            if v6 { "IPv6" } else { "IPv4" }
        );
    }
}

#[test]
fn reserve_nodes_makes_a_batch_of_inserts_infallible() {
    // A netlink SET message is prepared (every allocation) before it is
    // applied: after `reserve` for the peers and the batch's insertions,
    // the whole batch must succeed with the allocator refusing all.
    let mut rng = SplitMix(17);
    let mut t = AllowedIps::<Flaky>::new();
    for round in 0..20 {
        let (n4, n6) = (rng.below(300) as usize, rng.below(300) as usize);
        for p in 0..8 {
            t.reserve(PeerId(p), n4 + n6).unwrap();
        }
        ALLOCS_LEFT.with(|c| c.set(0));
        for i in 0..n4.max(n6) {
            let peer = PeerId(rng.below(8) as u32);
            if i < n4 {
                let a = rng.next() as u32;
                t.insert_v4(a.to_be_bytes(), random_cidr(&mut rng, false), peer)
                    .unwrap_or_else(|e| panic!("round {round}: v4 insert {i} of {n4}: {e:?}"));
            }
            if i < n6 {
                // Removals in between only give nodes back.
                if rng.below(4) == 0 {
                    t.remove_by_peer(PeerId(rng.below(8) as u32));
                }
                t.insert_v6(&rng.u128().to_be_bytes(), random_cidr(&mut rng, true), peer)
                    .unwrap_or_else(|e| panic!("round {round}: v6 insert {i} of {n6}: {e:?}"));
            }
        }
        ALLOCS_LEFT.with(|c| c.set(u64::MAX));
        t.check_invariants().unwrap();
    }
}

//! Rate limiter with a fake clock: the upstream selftest (selftest/ratelimiter.c)
//! by meaning, and the exact boundaries.

use std::collections::HashMap;
use wg_proto::host::Host;
use wg_proto::proto::constants::NSEC_PER_SEC;
use wg_proto::proto::ratelimiter::{RateLimiter, Source, PACKET_COST, TOKEN_MAX};
use wg_proto::proto::siphash::SipKey;

const MS: u64 = 1_000_000;
const T0: u64 = 1_000 * NSEC_PER_SEC;

fn limiter(size: usize) -> RateLimiter<Host, Host> {
    RateLimiter::new(size, SipKey::random()).unwrap()
}

fn v4(x: u32) -> Source {
    Source::V4(x.to_be_bytes())
}

fn v6(words: [u32; 4]) -> Source {
    let mut a = [0u8; 16];
    for (i, w) in words.iter().enumerate() {
        a[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
    }
    Source::V6(a)
}

#[test]
fn constants() {
    assert_eq!(PACKET_COST, NSEC_PER_SEC / 20);
    assert_eq!(TOKEN_MAX, 5 * PACKET_COST);
}

#[test]
fn upstream_timings() {
    // (expected, milliseconds to sleep before)
    let expected: [(bool, u64); 11] = [
        (true, 0),
        (true, 0),
        (true, 0),
        (true, 0),
        (true, 0),
        (false, 0),
        (true, 1000 / 20),
        (false, 0),
        (true, 1000 / 20 * 2),
        (true, 0),
        (false, 0),
    ];
    let mut r = limiter(8192);
    let mut now = T0;
    let base4 = 8182u32;
    for (i, &(result, sleep)) in expected.iter().enumerate() {
        let i = i as u32;
        now += sleep * MS;
        assert_eq!(r.allow(0, &v4(base4), now), result, "v4 step {i}");
        // Another address is unaffected.
        assert!(r.allow(0, &v4(base4 + i + 1), now), "other v4 step {i}");
        // IPv6: the lower 64 bits vary, the /64 is limited as one source.
        assert_eq!(
            r.allow(0, &v6([1212, 289188, i, i]), now),
            result,
            "v6 step {i}"
        );
        assert!(
            r.allow(0, &v6([1212 + i + 1, 289188, i, i]), now),
            "other v6 step {i}"
        );
    }
}

#[test]
fn exactly_the_burst() {
    let mut r = limiter(64);
    for n in 0..5 {
        assert!(r.allow(0, &v4(1), T0), "packet {n}");
    }
    assert!(!r.allow(0, &v4(1), T0));
    assert!(!r.allow(0, &v4(1), T0));
}

#[test]
fn refill_at_one_twentieth_second() {
    let mut r = limiter(64);
    for _ in 0..5 {
        assert!(r.allow(0, &v4(1), T0));
    }
    // 1 ns before a token is due: refused (and this does not reset the refill).
    assert!(!r.allow(0, &v4(1), T0 + PACKET_COST - 1));
    assert!(r.allow(0, &v4(1), T0 + PACKET_COST));
    assert!(!r.allow(0, &v4(1), T0 + PACKET_COST));
    // Two sources drained at once, probed 1 ns apart.
    for _ in 0..5 {
        assert!(r.allow(0, &v4(2), T0));
        assert!(r.allow(0, &v4(3), T0));
    }
    assert!(r.allow(0, &v4(2), T0 + PACKET_COST));
    assert!(!r.allow(0, &v4(3), T0 + PACKET_COST - 1));
    // Steady state: exactly 20 per second.
    let mut allowed = 0;
    let start = T0 + 10 * NSEC_PER_SEC;
    for _ in 0..5 {
        r.allow(0, &v4(4), start);
    }
    for k in 1..=2000u64 {
        if r.allow(0, &v4(4), start + k * NSEC_PER_SEC / 200) {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 200, "10 seconds at 20 per second");
}

#[test]
fn bucket_is_capped_at_the_burst() {
    let mut r = limiter(64);
    assert!(r.allow(0, &v4(9), T0));
    let later = T0 + 3600 * NSEC_PER_SEC;
    for _ in 0..5 {
        assert!(r.allow(0, &v4(9), later));
    }
    assert!(!r.allow(0, &v4(9), later));
}

#[test]
fn expiry_after_one_second() {
    let mut r = limiter(64);
    for _ in 0..6 {
        r.allow(0, &v4(7), T0);
    }
    assert!(!r.allow(0, &v4(7), T0));
    assert_eq!(r.gc(T0 + NSEC_PER_SEC), 0);
    assert_eq!(r.len(), 1);
    assert_eq!(r.gc(T0 + NSEC_PER_SEC + 1), 1);
    assert_eq!(r.len(), 0);
    // A forgotten source starts with a fresh burst.
    let t = T0 + NSEC_PER_SEC + 1;
    for _ in 0..5 {
        assert!(r.allow(0, &v4(7), t));
    }
    assert!(!r.allow(0, &v4(7), t));
}

#[test]
fn v6_slash64_grouping() {
    let mut r = limiter(64);
    for k in 0..5 {
        assert!(r.allow(0, &v6([0x20010db8, 0xaaaa, k, !k]), T0));
    }
    assert!(!r.allow(0, &v6([0x20010db8, 0xaaaa, 0xffff_ffff, 0]), T0));
    // Bit 63 differs: another /64.
    assert!(r.allow(0, &v6([0x20010db8, 0xaaab, 0, 0]), T0));
    // An IPv4 source whose 64-bit value equals an IPv6 /64 is another source.
    let mut r = limiter(64);
    for _ in 0..5 {
        assert!(r.allow(0, &v6([0, 1, 0, 0]), T0));
    }
    assert!(!r.allow(0, &v6([0, 1, 0, 0]), T0));
    assert!(r.allow(0, &v4(1), T0));
}

#[test]
fn clock_going_backwards_does_not_refill() {
    let mut r = limiter(64);
    for _ in 0..5 {
        assert!(r.allow(0, &v4(1), T0));
    }
    assert!(!r.allow(0, &v4(1), T0 - NSEC_PER_SEC));
    assert!(!r.allow(0, &v4(1), 0));
    // And from 0 on, time counts again.
    assert!(r.allow(0, &v4(1), PACKET_COST));
}

#[test]
fn colliding_keys_in_a_tiny_table_stay_independent() {
    // 16 sets of 8 slots, 32 sources under a fixed key (no set holds more
    // than 8 of them): every source tracked apart.
    let mut r = RateLimiter::<Host, Host>::new(1, SipKey::new([1, 2])).unwrap();
    assert_eq!(r.capacity(), 128);
    let src = |s: u32| v4(s.wrapping_mul(0x9e37_79b9));
    for round in 0..6 {
        for s in 0..32u32 {
            assert_eq!(
                r.allow(0, &src(s), T0),
                round < 5,
                "round {round} source {s}"
            );
        }
    }
    // Drain half the sources again a second later; the others expire, the
    // drained ones keep their (empty) buckets.
    for s in 0..16u32 {
        for k in 0..6 {
            assert_eq!(r.allow(0, &src(s), T0 + NSEC_PER_SEC), k < 5);
        }
    }
    assert_eq!(r.gc(T0 + NSEC_PER_SEC + 1), 16);
    for s in 0..32u32 {
        assert_eq!(
            r.allow(0, &src(s), T0 + NSEC_PER_SEC + 1),
            s >= 16,
            "source {s}"
        );
    }
}

/// Fills every slot of `r` with a distinct drained source (its burst used
/// up) at `now`; returns how many sources were used.
fn fill_with_drained_sources(r: &mut RateLimiter<Host, Host>, base: u32, now: u64) -> u32 {
    // Far more sources than slots, so that every set is full.
    let n = r.capacity() as u32 * 8;
    for i in 0..n {
        for _ in 0..5 {
            r.allow(0, &v4(base + i), now);
        }
    }
    assert_eq!(r.len(), r.capacity(), "every slot in use");
    n
}

#[test]
fn full_table_admits_new_sources() {
    let mut r = limiter(16);
    assert_eq!(r.capacity(), 16 * 8);
    // Every first packet of a new source is allowed, however many sources
    // came before.
    for i in 0..(r.capacity() as u32 * 20) {
        assert!(r.allow(0, &v4(i), T0), "source {i}");
    }
    assert_eq!(r.len(), r.capacity());
    // The table full of busy (drained) sources, at the same instant: a new
    // source still gets its burst, and then is limited.
    let mut r = limiter(16);
    fill_with_drained_sources(&mut r, 1 << 24, T0);
    for n in 0..5 {
        assert!(r.allow(0, &v4(7), T0), "new source, packet {n}");
    }
    assert!(!r.allow(0, &v4(7), T0));
    // The same with IPv6 sources.
    for n in 0..5 {
        assert!(
            r.allow(0, &v6([0x20010db8, 7, 0, n]), T0),
            "new v6 source, packet {n}"
        );
    }
    assert!(!r.allow(0, &v6([0x20010db8, 7, 1, 1]), T0));
}

#[test]
fn table_never_refuses_a_new_source() {
    // Random traffic from many more sources than slots, some sending in
    // bursts, at random times: the first packet of a source the limiter has
    // never seen is always allowed.
    let mut rng = SplitMix(11);
    let mut r = limiter(16);
    let mut seen = std::collections::HashSet::new();
    let mut now = T0;
    let mut next_new = 0u32;
    for step in 0..300_000 {
        now += rng.next() % (MS / 10);
        let s = if rng.next() % 4 == 0 {
            next_new += 1;
            next_new
        } else {
            (rng.next() % u64::from(next_new.max(1))) as u32
        };
        let allowed = r.allow(0, &v4(s), now);
        if seen.insert(s) {
            assert!(allowed, "step {step}: new source {s} refused");
        }
    }
    assert!(next_new as usize > 100 * r.capacity());
}

#[test]
fn per_source_limit_still_enforced_when_full() {
    let mut r = limiter(16);
    // A source drained, then the table filled with other drained sources:
    // the first source, still sending, is still limited (its own packets
    // keep it the most recently used of its set).
    for _ in 0..5 {
        assert!(r.allow(0, &v4(1), T0));
    }
    assert!(!r.allow(0, &v4(1), T0));
    let mut now = T0;
    for i in 0..r.capacity() as u32 * 8 {
        now += 1000;
        for _ in 0..5 {
            r.allow(0, &v4((1 << 24) + i), now);
        }
        // Probed every 8 new sources (16 sets): never 8 new ones in its set
        // in between, so never the least recently used when one comes.
        if i % 8 == 0 {
            assert!(!r.allow(0, &v4(1), now), "source 1 after {i} others");
        }
    }
    assert_eq!(r.len(), r.capacity());
    assert!(!r.allow(0, &v4(1), now));
    // It gets its tokens back at its rate (from T0, when it was drained),
    // not faster.
    assert!(now < T0 + PACKET_COST);
    assert!(!r.allow(0, &v4(1), T0 + PACKET_COST - 1));
    assert!(r.allow(0, &v4(1), T0 + PACKET_COST));
    assert!(!r.allow(0, &v4(1), T0 + PACKET_COST));
}

#[test]
fn cycling_attacker_cannot_push_a_steady_source_over_its_limit() {
    // A steady source sends 100 packets a second (5 times its rate) for 10
    // seconds; between two of its packets an attacker brings 4 sources it
    // never used before (4,000 in all: 30 times the table) and drains each.
    // The steady source gets its burst plus 20 a second, and no more.
    let mut r = RateLimiter::<Host, Host>::new(16, SipKey::new([3, 4])).unwrap();
    let steady = v6([0x20010db8, 1, 0, 1]);
    let mut allowed = 0u64;
    let mut attacker = 1u32 << 24;
    let mut attacker_refused = 0u64;
    for k in 0..1000u64 {
        let now = T0 + k * NSEC_PER_SEC / 100;
        if r.allow(0, &steady, now) {
            allowed += 1;
        }
        for _ in 0..4 {
            attacker += 1;
            // A new source: always let in, once.
            assert!(r.allow(0, &v4(attacker), now + 1));
            for _ in 0..5 {
                if !r.allow(0, &v4(attacker), now + 1) {
                    attacker_refused += 1;
                }
            }
        }
    }
    // 10 s at 20 a second, plus the burst (the first 5 at once), within 1.
    assert!(
        (200..=205).contains(&allowed),
        "steady source allowed {allowed}"
    );
    // The attacker's sources are limited too (each gets its burst only).
    assert_eq!(attacker_refused, 4000);
}

#[test]
fn gc_frees_idle_entries() {
    // A fixed key: with a random one, 100 sources overflow one of the 64
    // sets of 8 (and an entry is evicted) about 1 run in 600.
    let mut r = RateLimiter::<Host, Host>::new(64, SipKey::new([5, 6])).unwrap();
    for i in 0..100u32 {
        assert!(r.allow(0, &v4(i), T0));
    }
    assert_eq!(r.len(), 100);
    // Known sources still work.
    assert!(r.allow(0, &v4(0), T0 + 1));
    // After a second and a nanosecond of idleness, entries expire.
    assert_eq!(r.gc(T0 + NSEC_PER_SEC), 0);
    assert_eq!(r.gc(T0 + NSEC_PER_SEC + 1), 99);
    assert_eq!(r.gc(T0 + NSEC_PER_SEC + 1), 0);
    assert_eq!(r.gc(T0 + NSEC_PER_SEC + 2), 1);
    assert!(r.is_empty());
    r.allow(0, &v4(5000), T0);
    r.clear();
    assert!(r.is_empty());
}

#[test]
fn packets_collect_idle_entries_without_gc_calls() {
    // Nobody calls gc: the packets themselves sweep the table, one set per
    // packet, so sources gone for more than a second are forgotten after
    // as many packets as there are sets.
    let mut r = limiter(16);
    for i in 0..(r.capacity() as u32 * 4) {
        r.allow(0, &v4(i), T0);
    }
    assert_eq!(r.len(), r.capacity());
    let later = T0 + NSEC_PER_SEC + 1;
    for k in 0..16u64 {
        r.allow(0, &v4(1 << 30), later + k);
    }
    assert_eq!(r.len(), 1, "only the source still sending is left");
}

#[test]
fn scopes_are_independent() {
    let mut r = limiter(64);
    for _ in 0..5 {
        assert!(r.allow(1, &v4(9), T0));
    }
    assert!(!r.allow(1, &v4(9), T0));
    // The same address in another scope (namespace) has its own bucket.
    for _ in 0..5 {
        assert!(r.allow(2, &v4(9), T0));
    }
    assert!(!r.allow(2, &v4(9), T0));
    assert_eq!(r.len(), 2);
}

mod splitmix;
use splitmix::SplitMix;

#[test]
fn randomized_against_model() {
    // A table large enough that no set overflows with these 200 sources:
    // the limiter is then exactly a token bucket per source.
    let mut rng = SplitMix(3);
    let mut r = limiter(8192);
    // source -> (last, tokens)
    let mut m: HashMap<u32, (u64, u64)> = HashMap::new();
    let mut now = T0;
    for step in 0..200_000 {
        now += rng.next() % (3 * MS);
        if step % 5000 == 0 {
            r.gc(now);
            m.retain(|_, (last, _)| now - *last <= NSEC_PER_SEC);
            assert_eq!(r.len(), m.len());
        }
        let s = (rng.next() % 200) as u32;
        let expect = match m.get_mut(&s) {
            Some((last, tokens)) => {
                let t = (*tokens + (now - *last)).min(TOKEN_MAX);
                *last = now;
                let ok = t >= PACKET_COST;
                *tokens = if ok { t - PACKET_COST } else { t };
                ok
            }
            None => {
                m.insert(s, (now, TOKEN_MAX - PACKET_COST));
                true
            }
        };
        assert_eq!(r.allow(0, &v4(s), now), expect, "step {step}");
    }
}

#[test]
fn table_size_follows_memory_as_the_c_driver() {
    type R = RateLimiter<Host, Host>;
    assert_eq!(R::table_size_for_memory(64 << 30), 8192);
    assert_eq!(R::table_size_for_memory((1 << 30) + 1), 8192);
    assert_eq!(R::table_size_for_memory(1 << 30), 8192);
    assert_eq!(R::table_size_for_memory(512 << 20), 4096);
    assert_eq!(R::table_size_for_memory(100 << 20), 1024);
    assert_eq!(R::table_size_for_memory(1 << 20), 16);
    assert_eq!(R::table_size_for_memory(0), 16);
    let r = R::new(R::table_size_for_memory(64 << 30), SipKey::new([0, 0])).unwrap();
    assert_eq!(r.capacity(), 65_536);
}

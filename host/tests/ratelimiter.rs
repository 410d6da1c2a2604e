//! Rate limiter with a fake clock: the upstream selftest (selftest/ratelimiter.c)
//! by meaning, and the exact boundaries.

use std::collections::HashMap;
use wg_proto::host::Host;
use wg_proto::proto::constants::NSEC_PER_SEC;
use wg_proto::proto::ratelimiter::{RateLimiter, Source, PACKET_COST, TOKEN_MAX};
use wg_proto::proto::siphash::SipKey;

const MS: u64 = 1_000_000;
const T0: u64 = 1_000 * NSEC_PER_SEC;

fn limiter(size: usize) -> RateLimiter<Host> {
    RateLimiter::new(size, SipKey::random::<Host>()).unwrap()
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
        assert_eq!(r.allow(&v4(base4), now), result, "v4 step {i}");
        // Another address is unaffected.
        assert!(r.allow(&v4(base4 + i + 1), now), "other v4 step {i}");
        // IPv6: the lower 64 bits vary, the /64 is limited as one source.
        assert_eq!(
            r.allow(&v6([1212, 289188, i, i]), now),
            result,
            "v6 step {i}"
        );
        assert!(
            r.allow(&v6([1212 + i + 1, 289188, i, i]), now),
            "other v6 step {i}"
        );
    }
}

#[test]
fn upstream_capacity() {
    let mut r = limiter(16);
    assert!(r.is_empty());
    let max = r.capacity() as u32;
    assert_eq!(max, 16 * 8);
    for i in 0..=max {
        assert_eq!(r.allow(&v4(i), T0), i != max, "source {i}");
    }
    assert_eq!(r.len(), max as usize);
    // Known sources still work when full.
    assert!(r.allow(&v4(0), T0 + 1));
    // After a second and a nanosecond of idleness, entries expire.
    assert_eq!(r.gc(T0 + NSEC_PER_SEC), 0);
    assert_eq!(r.gc(T0 + NSEC_PER_SEC + 1), max as usize - 1);
    assert_eq!(r.gc(T0 + NSEC_PER_SEC + 1), 0);
    assert_eq!(r.gc(T0 + NSEC_PER_SEC + 2), 1);
    assert!(r.is_empty());
    for i in 0..max {
        assert!(r.allow(&v4(i + 1000), T0 + 2 * NSEC_PER_SEC));
    }
    assert!(!r.allow(&v4(5000), T0 + 2 * NSEC_PER_SEC));
    r.clear();
    assert!(r.is_empty());
    assert!(r.allow(&v4(5000), T0 + 2 * NSEC_PER_SEC));
}

#[test]
fn exactly_the_burst() {
    let mut r = limiter(64);
    for n in 0..5 {
        assert!(r.allow(&v4(1), T0), "packet {n}");
    }
    assert!(!r.allow(&v4(1), T0));
    assert!(!r.allow(&v4(1), T0));
}

#[test]
fn refill_at_one_twentieth_second() {
    let mut r = limiter(64);
    for _ in 0..5 {
        assert!(r.allow(&v4(1), T0));
    }
    // 1 ns before a token is due: refused (and this does not reset the refill).
    assert!(!r.allow(&v4(1), T0 + PACKET_COST - 1));
    assert!(r.allow(&v4(1), T0 + PACKET_COST));
    assert!(!r.allow(&v4(1), T0 + PACKET_COST));
    // Two sources drained at once, probed 1 ns apart.
    for _ in 0..5 {
        assert!(r.allow(&v4(2), T0));
        assert!(r.allow(&v4(3), T0));
    }
    assert!(r.allow(&v4(2), T0 + PACKET_COST));
    assert!(!r.allow(&v4(3), T0 + PACKET_COST - 1));
    // Steady state: exactly 20 per second.
    let mut allowed = 0;
    let start = T0 + 10 * NSEC_PER_SEC;
    for _ in 0..5 {
        r.allow(&v4(4), start);
    }
    for k in 1..=2000u64 {
        if r.allow(&v4(4), start + k * NSEC_PER_SEC / 200) {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 200, "10 seconds at 20 per second");
}

#[test]
fn bucket_is_capped_at_the_burst() {
    let mut r = limiter(64);
    assert!(r.allow(&v4(9), T0));
    let later = T0 + 3600 * NSEC_PER_SEC;
    for _ in 0..5 {
        assert!(r.allow(&v4(9), later));
    }
    assert!(!r.allow(&v4(9), later));
}

#[test]
fn expiry_after_one_second() {
    let mut r = limiter(64);
    for _ in 0..6 {
        r.allow(&v4(7), T0);
    }
    assert!(!r.allow(&v4(7), T0));
    assert_eq!(r.gc(T0 + NSEC_PER_SEC), 0);
    assert_eq!(r.len(), 1);
    assert_eq!(r.gc(T0 + NSEC_PER_SEC + 1), 1);
    assert_eq!(r.len(), 0);
    // A forgotten source starts with a fresh burst.
    let t = T0 + NSEC_PER_SEC + 1;
    for _ in 0..5 {
        assert!(r.allow(&v4(7), t));
    }
    assert!(!r.allow(&v4(7), t));
}

#[test]
fn v6_slash64_grouping() {
    let mut r = limiter(64);
    for k in 0..5 {
        assert!(r.allow(&v6([0x20010db8, 0xaaaa, k, !k]), T0));
    }
    assert!(!r.allow(&v6([0x20010db8, 0xaaaa, 0xffff_ffff, 0]), T0));
    // Bit 63 differs: another /64.
    assert!(r.allow(&v6([0x20010db8, 0xaaab, 0, 0]), T0));
    // An IPv4 source whose 64-bit value equals an IPv6 /64 is another source.
    let mut r = limiter(64);
    for _ in 0..5 {
        assert!(r.allow(&v6([0, 1, 0, 0]), T0));
    }
    assert!(!r.allow(&v6([0, 1, 0, 0]), T0));
    assert!(r.allow(&v4(1), T0));
}

#[test]
fn clock_going_backwards_does_not_refill() {
    let mut r = limiter(64);
    for _ in 0..5 {
        assert!(r.allow(&v4(1), T0));
    }
    assert!(!r.allow(&v4(1), T0 - NSEC_PER_SEC));
    assert!(!r.allow(&v4(1), 0));
    // And from 0 on, time counts again.
    assert!(r.allow(&v4(1), PACKET_COST));
}

#[test]
fn colliding_keys_in_a_tiny_table_stay_independent() {
    // 16 buckets, 128 sources: chains of about 8, every source tracked apart.
    let mut r = RateLimiter::<Host>::new(1, SipKey([1, 2])).unwrap();
    assert_eq!(r.capacity(), 128);
    for round in 0..6 {
        for s in 0..128u32 {
            assert_eq!(
                r.allow(&v4(s.wrapping_mul(0x9e37_79b9)), T0),
                round < 5,
                "round {round} source {s}"
            );
        }
    }
    // Drain half the sources again a second later; the others expire, the
    // drained ones keep their (empty) buckets.
    for s in 0..64u32 {
        for k in 0..6 {
            assert_eq!(
                r.allow(&v4(s.wrapping_mul(0x9e37_79b9)), T0 + NSEC_PER_SEC),
                k < 5
            );
        }
    }
    assert_eq!(r.gc(T0 + NSEC_PER_SEC + 1), 64);
    for s in 0..128u32 {
        assert_eq!(
            r.allow(&v4(s.wrapping_mul(0x9e37_79b9)), T0 + NSEC_PER_SEC + 1),
            s >= 64,
            "source {s}"
        );
    }
}

mod splitmix;
use splitmix::SplitMix;

#[test]
fn randomized_against_model() {
    let mut rng = SplitMix(3);
    let mut r = limiter(16);
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
        let full = m.len() >= r.capacity();
        let expect = match m.get_mut(&s) {
            Some((last, tokens)) => {
                let t = (*tokens + (now - *last)).min(TOKEN_MAX);
                *last = now;
                let ok = t >= PACKET_COST;
                *tokens = if ok { t - PACKET_COST } else { t };
                ok
            }
            None if !full => {
                m.insert(s, (now, TOKEN_MAX - PACKET_COST));
                true
            }
            None => false,
        };
        assert_eq!(r.allow(&v4(s), now), expect, "step {step}");
    }
}

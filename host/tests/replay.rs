//! Replay window: the upstream counter selftest (drivers/net/wireguard/selftest/counter.c)
//! case by case, and a randomized comparison against a naive model.

use std::collections::HashSet;
use wg_proto::proto::constants::REJECT_AFTER_MESSAGES;
use wg_proto::proto::replay::{ReplayWindow, WINDOW_SIZE};

#[test]
fn window_size_matches_c_driver() {
    // COUNTER_BITS_TOTAL - BITS_PER_LONG on 64-bit.
    assert_eq!(WINDOW_SIZE, 8192 - 64);
}

#[test]
fn upstream_selftest_sequence() {
    const LIM: u64 = WINDOW_SIZE + 1;
    let mut w = ReplayWindow::new();
    let cases: &[(u64, bool)] = &[
        (0, true),
        (1, true),
        (1, false),
        (9, true),
        (8, true),
        (7, true),
        (7, false),
        (LIM, true),
        (LIM - 1, true),
        (LIM - 1, false),
        (LIM - 2, true),
        (2, true),
        (2, false),
        (LIM + 16, true),
        (3, false),
        (LIM + 16, false),
        (LIM * 4, true),
        (LIM * 4 - (LIM - 1), true),
        (10, false),
        (LIM * 4 - LIM, false),
        (LIM * 4 - (LIM + 1), false),
        (LIM * 4 - (LIM - 2), true),
        (LIM * 4 + 1 - LIM, false),
        (0, false),
        (REJECT_AFTER_MESSAGES, false),
        (REJECT_AFTER_MESSAGES - 1, true),
        (REJECT_AFTER_MESSAGES, false),
        (REJECT_AFTER_MESSAGES - 1, false),
        (REJECT_AFTER_MESSAGES - 2, true),
        (REJECT_AFTER_MESSAGES + 1, false),
        (REJECT_AFTER_MESSAGES + 2, false),
        (REJECT_AFTER_MESSAGES - 2, false),
        (REJECT_AFTER_MESSAGES - 3, true),
        (0, false),
    ];
    for (n, &(counter, expect)) in cases.iter().enumerate() {
        assert_eq!(
            w.check_and_update(counter),
            expect,
            "selftest case {} (counter {counter})",
            n + 1
        );
    }
}

#[test]
fn upstream_full_window_ascending_then_zero() {
    let mut w = ReplayWindow::new();
    for i in 1..=WINDOW_SIZE {
        assert!(w.check_and_update(i), "{i}");
    }
    assert!(w.check_and_update(0));
    assert!(!w.check_and_update(0));
}

#[test]
fn upstream_window_from_two_then_one_then_zero_too_old() {
    let mut w = ReplayWindow::new();
    for i in 2..=WINDOW_SIZE + 1 {
        assert!(w.check_and_update(i), "{i}");
    }
    assert!(w.check_and_update(1));
    assert!(!w.check_and_update(0));
}

#[test]
fn upstream_descending_full_window() {
    let mut w = ReplayWindow::new();
    for i in (0..=WINDOW_SIZE).rev() {
        assert!(w.check_and_update(i), "{i}");
    }
}

#[test]
fn upstream_descending_from_window_plus_one_zero_too_old() {
    let mut w = ReplayWindow::new();
    for i in (1..=WINDOW_SIZE + 1).rev() {
        assert!(w.check_and_update(i), "{i}");
    }
    assert!(!w.check_and_update(0));
}

#[test]
fn upstream_descending_then_head_then_zero_too_old() {
    let mut w = ReplayWindow::new();
    for i in (1..=WINDOW_SIZE).rev() {
        assert!(w.check_and_update(i), "{i}");
    }
    assert!(w.check_and_update(WINDOW_SIZE + 1));
    assert!(!w.check_and_update(0));
}

#[test]
fn upstream_descending_then_zero_then_head() {
    let mut w = ReplayWindow::new();
    for i in (1..=WINDOW_SIZE).rev() {
        assert!(w.check_and_update(i), "{i}");
    }
    assert!(w.check_and_update(0));
    assert!(w.check_and_update(WINDOW_SIZE + 1));
}

#[test]
fn window_edges_exact() {
    let mut w = ReplayWindow::new();
    assert_eq!(w.max_counter(), None);
    let top = 100_000;
    assert!(w.check_and_update(top));
    assert_eq!(w.max_counter(), Some(top));
    // Exactly WINDOW_SIZE behind: accepted; one more: rejected.
    assert!(!w.check_and_update(top - WINDOW_SIZE - 1));
    assert!(w.check_and_update(top - WINDOW_SIZE));
    assert!(!w.check_and_update(top - WINDOW_SIZE));
    // A jump larger than the ring clears everything.
    assert!(w.check_and_update(top + 10 * 8192));
    assert!(w.check_and_update(top + 10 * 8192 - 1));
    assert!(!w.check_and_update(top));
    // The rejected ones do not move the window.
    assert_eq!(w.max_counter(), Some(top + 10 * 8192));
    assert!(!w.check_and_update(u64::MAX));
    assert_eq!(w.max_counter(), Some(top + 10 * 8192));
    let mut w = ReplayWindow::new();
    assert_eq!(w.max_counter(), None);
    assert!(w.check_and_update(0));
    assert!(w.check_and_update(top));
}

mod splitmix;
use splitmix::SplitMix;

/// The obvious implementation: remember every accepted counter.
struct Model {
    seen: HashSet<u64>,
    max: Option<u64>,
}
impl Model {
    fn check_and_update(&mut self, c: u64) -> bool {
        if c >= REJECT_AFTER_MESSAGES || self.seen.contains(&c) {
            return false;
        }
        if let Some(m) = self.max {
            if c < m && m - c > WINDOW_SIZE {
                return false;
            }
        }
        self.seen.insert(c);
        self.max = Some(self.max.map_or(c, |m| m.max(c)));
        true
    }
}

fn run_random(seed: u64, start: u64, ops: usize) {
    let mut rng = SplitMix(seed);
    let mut w = ReplayWindow::new();
    let mut m = Model {
        seen: HashSet::new(),
        max: None,
    };
    for op in 0..ops {
        let base = m.max.unwrap_or(start);
        let c = match rng.below(10) {
            // Around the edge of the window, behind.
            0..=2 => base.saturating_sub(WINDOW_SIZE - 3 + rng.below(8)),
            // Anywhere in the window, or slightly ahead (reordering).
            3..=6 => base
                .saturating_sub(rng.below(WINDOW_SIZE))
                .saturating_add(rng.below(40)),
            // Word-boundary region ahead.
            7 => base.saturating_add(rng.below(200)),
            // A jump of up to two ring sizes.
            8 => base.saturating_add(rng.below(2 * 8192 + 130)),
            // Near the rejection limit, or a replay of something recent.
            _ => {
                if rng.below(50) == 0 {
                    REJECT_AFTER_MESSAGES - 1 - rng.below(3 * 8192)
                } else {
                    base.saturating_sub(rng.below(64))
                }
            }
        };
        assert_eq!(
            w.check_and_update(c),
            m.check_and_update(c),
            "seed {seed} op {op} counter {c}"
        );
        assert_eq!(w.max_counter(), m.max);
    }
}

#[test]
fn randomized_against_model() {
    for seed in 0..8 {
        run_random(seed, 0, 25_000);
    }
    run_random(99, REJECT_AFTER_MESSAGES - 40_000, 25_000);
}

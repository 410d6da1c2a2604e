//! Which peers a configuration message creates (`proto::peerplan`), against
//! the C driver's rule: entries applied in order, a creation refused when it
//! finds the device at its peer limit.

use std::collections::BTreeSet;
use wg_proto::proto::peerplan::{creations, Entry};

const FULL: &str = "too many peers";

fn key(n: u8) -> [u8; 32] {
    [n; 32]
}

/// (key, remove, create) triples, as `Entry`s over `keys`.
fn entries<'a>(keys: &'a [[u8; 32]], spec: &[(usize, bool, bool)]) -> Vec<Entry<'a>> {
    spec.iter()
        .map(|&(k, remove, create)| Entry {
            key: &keys[k],
            remove,
            create,
        })
        .collect()
}

/// `creations` over `spec`, with the peers `existing` (indices into `keys`).
fn plan(
    keys: &[[u8; 32]],
    existing: &[usize],
    max: usize,
    spec: &[(usize, bool, bool)],
) -> Result<Vec<[u8; 32]>, &'static str> {
    let es = entries(keys, spec);
    let now: BTreeSet<[u8; 32]> = existing.iter().map(|&i| keys[i]).collect();
    let mut out = Vec::new();
    creations(
        es.iter().copied(),
        |k| now.contains(k),
        now.len(),
        max,
        FULL,
        |k| {
            out.push(*k);
            Ok(())
        },
    )?;
    Ok(out)
}

/// The C driver's in-order application, on a set.
fn model(
    keys: &[[u8; 32]],
    existing: &[usize],
    max: usize,
    spec: &[(usize, bool, bool)],
) -> Result<Vec<[u8; 32]>, &'static str> {
    let mut set: BTreeSet<[u8; 32]> = existing.iter().map(|&i| keys[i]).collect();
    let mut out = Vec::new();
    for &(k, remove, create) in spec {
        let k = keys[k];
        if remove {
            set.remove(&k);
        } else if !set.contains(&k) && create {
            if set.len() >= max {
                return Err(FULL);
            }
            set.insert(k);
            out.push(k);
        }
    }
    Ok(out)
}

const CREATE: (bool, bool) = (false, true);
const REMOVE: (bool, bool) = (true, false);

fn e(k: usize, (remove, create): (bool, bool)) -> (usize, bool, bool) {
    (k, remove, create)
}

#[test]
fn created_removed_created_again_counts_once() {
    // At the limit but for one: the key is alive once at any point. (The
    // module before counted each creating entry of a new key: 1 + 2 > 2.)
    let keys = [key(1), key(2)];
    let spec = [e(1, CREATE), e(1, REMOVE), e(1, CREATE)];
    assert_eq!(plan(&keys, &[0], 2, &spec), Ok(vec![key(2), key(2)]));
    assert_eq!(plan(&keys, &[0], 1, &spec), Err(FULL));
}

#[test]
fn a_removal_makes_room() {
    let keys = [key(1), key(2), key(3)];
    let spec = [e(0, REMOVE), e(2, CREATE)];
    assert_eq!(plan(&keys, &[0, 1], 2, &spec), Ok(vec![key(3)]));
    // In the other order the creation finds the device full, as in C.
    let spec = [e(2, CREATE), e(0, REMOVE)];
    assert_eq!(plan(&keys, &[0, 1], 2, &spec), Err(FULL));
}

#[test]
fn a_new_key_named_twice_is_created_once() {
    let keys = [key(1), key(2)];
    let spec = [e(1, CREATE), e(1, CREATE)];
    assert_eq!(plan(&keys, &[0], 2, &spec), Ok(vec![key(2)]));
}

#[test]
fn updates_and_update_only_create_nothing() {
    let keys = [key(1), key(2)];
    // An existing key, and a new one with WGPEER_F_UPDATE_ONLY (neither flag
    // nor creation).
    let spec = [e(0, CREATE), (1, false, false)];
    assert_eq!(plan(&keys, &[0], 1, &spec), Ok(vec![]));
    // Removing a key that does not exist changes nothing.
    let spec = [e(1, REMOVE), e(1, CREATE)];
    assert_eq!(plan(&keys, &[0], 1, &spec), Err(FULL));
}

#[test]
fn matches_in_order_application() {
    // Every message of up to 5 entries over 3 keys (each entry one of
    // create, remove, update-only), every starting set, limits 0 to 3.
    let keys = [key(1), key(2), key(3)];
    let kinds = [(false, true), (true, false), (false, false)];
    let mut checked = 0u32;
    for len in 0..=5u32 {
        for code in 0..9u32.pow(len) {
            let mut c = code;
            let spec: Vec<(usize, bool, bool)> = (0..len)
                .map(|_| {
                    let (k, kind) = ((c % 3) as usize, kinds[(c / 3 % 3) as usize]);
                    c /= 9;
                    (k, kind.0, kind.1)
                })
                .collect();
            for set in 0..8usize {
                let existing: Vec<usize> = (0..3).filter(|i| set & (1 << i) != 0).collect();
                for max in 0..=3 {
                    assert_eq!(
                        plan(&keys, &existing, max, &spec),
                        model(&keys, &existing, max, &spec),
                        "{spec:?} on {existing:?}, max {max}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1_000_000);
}

// SPDX-License-Identifier: GPL-2.0
//! Which peers a configuration message creates, worked out before anything
//! is applied (the driver's `Config::prepare` allocates for exactly those,
//! and refuses the message as a whole when one would not fit).
//!
//! The C driver applies a `WG_CMD_SET_DEVICE` message's peer entries in
//! order and refuses a creation that finds the device at its peer limit
//! (with `-ENOMEM` in 6.12, having applied the entries before it; the module
//! refuses the whole message with `ENOSPC`). So whether an entry creates its peer depends on the entries
//! before it: a key created, removed (`WGPEER_F_REMOVE_ME`) and created again
//! is created twice but alive once, and a removal makes room for a later
//! creation.

use super::platform::KEY_LEN;

/// One peer entry of a message, as far as creating and removing go.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// The peer's public key.
    pub key: &'a [u8; KEY_LEN],
    /// `WGPEER_F_REMOVE_ME`.
    pub remove: bool,
    /// Neither `WGPEER_F_REMOVE_ME` nor `WGPEER_F_UPDATE_ONLY`: creates the
    /// peer if it does not exist at that point.
    pub create: bool,
}

/// Walks `entries` in order as they will be applied and calls `created` for
/// each entry that creates its peer; `too_many` if a creation would find
/// `max` peers alive. `alive` is the number of peers before the first entry,
/// `exists` whether a key has a peer then (both after what the message does
/// first: replacing peers, a new private key). Public keys are not secret:
/// plain comparisons. O(n²) in the entries; a message holds at most a few
/// thousand (its peers attribute is at most 64 KiB).
pub fn creations<'a, E>(
    entries: impl Iterator<Item = Entry<'a>> + Clone,
    exists: impl Fn(&[u8; KEY_LEN]) -> bool,
    mut alive: usize,
    max: usize,
    too_many: E,
    mut created: impl FnMut(&'a [u8; KEY_LEN]) -> Result<(), E>,
) -> Result<(), E> {
    // Counted by hand: `enumerate` checks its count for overflow, a panic
    // site in the netlink path (tests/static/panic-sites.py).
    let mut i = 0usize;
    for p in entries.clone() {
        let mut present = exists(p.key);
        for q in entries.clone().take(i).filter(|q| q.key == p.key) {
            present = if present { !q.remove } else { q.create };
        }
        if present && p.remove {
            alive = alive.saturating_sub(1);
        } else if !present && p.create {
            if alive >= max {
                return Err(too_many);
            }
            alive = alive.saturating_add(1);
            created(p.key)?;
        }
        i = i.saturating_add(1);
    }
    Ok(())
}

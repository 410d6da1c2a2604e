// SPDX-License-Identifier: GPL-2.0
//! The WireGuard protocol core: plain Rust that depends only on `core` and on
//! the traits of [`platform`]. The same files build into the kernel module
//! (`src/wireguard_rs.rs` declares `mod proto`) and into the host crate in `host/`
//! that `cargo test` runs.
//!
//! Rules for every file below this directory (they are compiled into the
//! kernel, where a panic reachable from a packet is a remote denial of
//! service, and where the kernel build enables overflow checks):
//! - `core` only: no `std`, no `alloc`, no external crates, no `unsafe`;
//!   only stable Rust features (edition 2021).
//! - No `unwrap`, `expect`, `panic!`, unchecked indexing or slicing, and no
//!   arithmetic that can overflow on values derived from packets: use `get`,
//!   `split_at_checked`-style helpers, `checked_*`, `wrapping_*`, `saturating_*`.
//! - No allocation on the data path; handshake processing allocates only after
//!   the message authenticated.
//! - Secrets are zeroed on drop (`Crypto::zeroize`) and compared in constant time
//!   (`Crypto::ct_eq`).
//! - Small stack frames: the kernel stack is 16 KiB.

#![forbid(unsafe_code)]

pub mod allowedips;
pub mod constants;
pub mod cookie;
pub mod error;
pub mod handshake;
pub mod hashtable;
pub mod index_table;
pub mod kdf;
pub mod keypair;
pub mod messages;
pub mod noise;
pub mod peerplan;
pub mod platform;
pub mod pubkey_table;
pub mod ratelimiter;
pub mod replay;
pub mod secret;
pub mod selftest;
pub mod siphash;
pub mod tai64n;
pub mod timers;

// SPDX-License-Identifier: GPL-2.0
//! Protocol constants from the WireGuard paper (section 6) and the C driver's
//! limits. Times are in nanoseconds, as every clock value in the core.

/// One second in nanoseconds.
pub const NSEC_PER_SEC: u64 = 1_000_000_000;

/// After this many messages under one key, initiate a new handshake.
pub const REKEY_AFTER_MESSAGES: u64 = 1 << 60;
/// After this many messages under one key, refuse to use it.
pub const REJECT_AFTER_MESSAGES: u64 = u64::MAX - (1 << 13);
/// After a key is this old, the initiator starts a new handshake when sending.
pub const REKEY_AFTER_TIME: u64 = 120 * NSEC_PER_SEC;
/// After a key is this old, it is not used any more.
pub const REJECT_AFTER_TIME: u64 = 180 * NSEC_PER_SEC;
/// Retransmit a handshake initiation after this long without a response.
pub const REKEY_TIMEOUT: u64 = 5 * NSEC_PER_SEC;
/// Upper bound of the random jitter added to each retransmission (a third of a second).
pub const REKEY_TIMEOUT_JITTER_MAX: u64 = NSEC_PER_SEC / 3;
/// Send a keepalive after receiving data without sending any for this long.
pub const KEEPALIVE_TIMEOUT: u64 = 10 * NSEC_PER_SEC;
/// Give up retrying a handshake after this long.
pub const REKEY_ATTEMPT_TIME: u64 = 90 * NSEC_PER_SEC;
/// Number of retransmissions REKEY_ATTEMPT_TIME allows.
pub const MAX_TIMER_HANDSHAKES: u64 = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT;
/// Zero all keys of a peer after this long without a new handshake.
pub const ZERO_KEYS_AFTER: u64 = REJECT_AFTER_TIME * 3;
/// An initiator whose key is this close to REJECT_AFTER_TIME re-keys on receive.
pub const REKEY_ON_RECEIVE_AFTER: u64 = REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT;

/// Accept at most this many initiations per second from one peer (the flood rule).
pub const INITIATIONS_PER_SECOND: u64 = 50;
/// Minimum spacing of two accepted initiations from one peer.
pub const MIN_INITIATION_INTERVAL: u64 = NSEC_PER_SEC / INITIATIONS_PER_SECOND;

/// The cookie secret is replaced this often.
pub const COOKIE_SECRET_MAX_AGE: u64 = 2 * 60 * NSEC_PER_SEC;
/// A cookie received from a peer is used for this long (less a margin).
pub const COOKIE_SECRET_LATENCY: u64 = 5 * NSEC_PER_SEC;

/// Rate limiter: packets per second allowed from one source.
pub const RATELIMIT_PACKETS_PER_SECOND: u64 = 20;
/// Rate limiter: burst allowed from one source.
pub const RATELIMIT_PACKETS_BURSTABLE: u64 = 5;

/// Most packets staged per peer while waiting for a handshake.
pub const MAX_STAGED_PACKETS: usize = 128;
/// Most packets in one crypt queue.
pub const MAX_QUEUED_PACKETS: usize = 1024;
/// Most handshake messages queued for processing.
pub const MAX_QUEUED_INCOMING_HANDSHAKES: usize = 4096;

/// Data packets are padded to a multiple of this.
pub const MESSAGE_PADDING_MULTIPLE: usize = 16;

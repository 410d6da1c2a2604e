// SPDX-License-Identifier: GPL-2.0
//! TAI64N timestamps, the payload of handshake initiations.
//!
//! A timestamp is 8 bytes of big-endian `2^62 + 10 + seconds` followed by 4
//! bytes of big-endian nanoseconds, so that byte-wise comparison orders them
//! in time. As the C driver does, the nanoseconds are rounded down to a power
//! of two no larger than `NSEC_PER_SEC / INITIATIONS_PER_SECOND` (2^24 ns,
//! about 16.8 ms), so that the timestamp does not reveal the precise time of
//! the initiation.

use super::constants::{INITIATIONS_PER_SECOND, NSEC_PER_SEC};

/// Length of a TAI64N timestamp.
pub const TIMESTAMP_LEN: usize = 12;

/// TAI64 label of the Unix epoch (2^62 + 10 leap seconds, as the C driver uses).
const TAI64_EPOCH: u64 = 0x4000_0000_0000_000a;

/// The largest power of two not above `NSEC_PER_SEC / INITIATIONS_PER_SECOND`.
pub const NSEC_GRANULARITY: u32 = {
    let limit = NSEC_PER_SEC / INITIATIONS_PER_SECOND;
    let mut p: u64 = 1;
    while p * 2 <= limit {
        p *= 2;
    }
    p as u32
};

/// A TAI64N timestamp.
pub type Timestamp = [u8; TIMESTAMP_LEN];

/// The timestamp of wall-clock time `secs` and `nsecs` since the Unix epoch,
/// with the nanoseconds rounded down to [`NSEC_GRANULARITY`].
pub fn tai64n(secs: u64, nsecs: u32) -> Timestamp {
    let nsecs = nsecs - nsecs % NSEC_GRANULARITY;
    let mut out = [0u8; TIMESTAMP_LEN];
    let s = TAI64_EPOCH.wrapping_add(secs).to_be_bytes();
    let n = nsecs.to_be_bytes();
    for (d, b) in out.iter_mut().zip(s.iter().chain(n.iter())) {
        *d = *b;
    }
    out
}

// SPDX-License-Identifier: GPL-2.0
//! WireGuard's four message formats (paper section 5.4), parsed from untrusted
//! bytes into copy-out structs and encoded back. All integers are little
//! endian. The first four bytes of every message are the type as a 32-bit
//! little-endian integer (one type byte and three reserved zero bytes); a
//! message whose reserved bytes are not zero is refused, as the C driver does.
//!
//! Parsing never panics and never trusts a length: handshake messages and
//! cookie replies must have exactly their size, data messages at least a
//! header and a tag.

use super::error::Error;
use super::kdf::MAC_LEN;
use super::noise::ENCRYPTED_STATIC_LEN;
use super::platform::{KEY_LEN, TAG_LEN, XNONCE_LEN};
use super::tai64n::TIMESTAMP_LEN;

/// Type of a handshake initiation.
pub const MESSAGE_HANDSHAKE_INITIATION: u32 = 1;
/// Type of a handshake response.
pub const MESSAGE_HANDSHAKE_RESPONSE: u32 = 2;
/// Type of a cookie reply.
pub const MESSAGE_HANDSHAKE_COOKIE: u32 = 3;
/// Type of a data (transport) message.
pub const MESSAGE_DATA: u32 = 4;

/// Size of a handshake initiation.
pub const INITIATION_LEN: usize = 148;
/// Size of a handshake response.
pub const RESPONSE_LEN: usize = 92;
/// Size of a cookie reply.
pub const COOKIE_REPLY_LEN: usize = 64;
/// Size of a data message's header (type, receiver index, counter).
pub const DATA_HEADER_LEN: usize = 16;
/// Smallest data message: a header and the tag of an empty (keepalive) payload.
pub const DATA_MIN_LEN: usize = DATA_HEADER_LEN + TAG_LEN;
/// Encrypted timestamp in an initiation.
pub const ENCRYPTED_TIMESTAMP_LEN: usize = TIMESTAMP_LEN + TAG_LEN;
/// Encrypted cookie in a cookie reply.
pub const ENCRYPTED_COOKIE_LEN: usize = MAC_LEN + TAG_LEN;

/// A cursor over untrusted bytes; every read is checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (a, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*a)
    }
    fn u32(&mut self) -> Option<u32> {
        self.array::<4>().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.array::<8>().map(u64::from_le_bytes)
    }
    fn macs(&mut self) -> Option<Macs> {
        Some(Macs {
            mac1: self.array()?,
            mac2: self.array()?,
        })
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A cursor writing into a buffer of known size; every write is checked.
struct Writer<'a>(&'a mut [u8]);

impl<'a> Writer<'a> {
    fn put(&mut self, bytes: &[u8]) {
        let buf = core::mem::take(&mut self.0);
        if let Some((head, rest)) = buf.split_at_mut_checked(bytes.len()) {
            head.copy_from_slice(bytes);
            self.0 = rest;
        }
    }
    fn u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.put(&v.to_le_bytes());
    }
    fn macs(&mut self, m: &Macs) {
        self.put(&m.mac1);
        self.put(&m.mac2);
    }
}

/// Parses a message of type `ty` and exactly `len` bytes, whose fields after
/// the type `fields` reads, all of them.
fn parse_exact<T>(
    packet: &[u8],
    ty: u32,
    len: usize,
    fields: impl FnOnce(&mut Reader<'_>) -> Option<T>,
) -> Result<T, Error> {
    if packet.len() != len {
        return Err(Error::Malformed);
    }
    let mut r = Reader(packet);
    if r.u32() != Some(ty) {
        return Err(Error::Malformed);
    }
    match fields(&mut r) {
        Some(m) if r.is_empty() => Ok(m),
        _ => Err(Error::Malformed),
    }
}

/// Encodes a message of type `ty` and `N` bytes, whose fields after the type
/// `fields` writes.
fn encode_exact<const N: usize>(ty: u32, fields: impl FnOnce(&mut Writer<'_>)) -> [u8; N] {
    let mut out = [0u8; N];
    let mut w = Writer(&mut out);
    w.u32(ty);
    fields(&mut w);
    out
}

/// The trailing mac1 and mac2 of both handshake messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Macs {
    /// MAC keyed with the receiver's public key.
    pub mac1: [u8; MAC_LEN],
    /// MAC keyed with a cookie, or zero.
    pub mac2: [u8; MAC_LEN],
}

/// Handshake initiation (type 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initiation {
    /// The initiator's index for this handshake.
    pub sender_index: u32,
    /// The initiator's ephemeral public key.
    pub ephemeral: [u8; KEY_LEN],
    /// The initiator's static public key, encrypted.
    pub encrypted_static: [u8; ENCRYPTED_STATIC_LEN],
    /// The TAI64N timestamp, encrypted.
    pub encrypted_timestamp: [u8; ENCRYPTED_TIMESTAMP_LEN],
    /// mac1 and mac2.
    pub macs: Macs,
}

impl Initiation {
    /// Parses exactly [`INITIATION_LEN`] bytes.
    pub fn parse(packet: &[u8]) -> Result<Self, Error> {
        parse_exact(packet, MESSAGE_HANDSHAKE_INITIATION, INITIATION_LEN, |r| {
            Some(Self {
                sender_index: r.u32()?,
                ephemeral: r.array()?,
                encrypted_static: r.array()?,
                encrypted_timestamp: r.array()?,
                macs: r.macs()?,
            })
        })
    }

    /// The wire encoding.
    pub fn encode(&self) -> [u8; INITIATION_LEN] {
        encode_exact(MESSAGE_HANDSHAKE_INITIATION, |w| {
            w.u32(self.sender_index);
            w.put(&self.ephemeral);
            w.put(&self.encrypted_static);
            w.put(&self.encrypted_timestamp);
            w.macs(&self.macs);
        })
    }
}

/// Handshake response (type 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The responder's index for this session.
    pub sender_index: u32,
    /// The initiator's index (from the initiation).
    pub receiver_index: u32,
    /// The responder's ephemeral public key.
    pub ephemeral: [u8; KEY_LEN],
    /// The empty payload's tag.
    pub encrypted_nothing: [u8; TAG_LEN],
    /// mac1 and mac2.
    pub macs: Macs,
}

impl Response {
    /// Parses exactly [`RESPONSE_LEN`] bytes.
    pub fn parse(packet: &[u8]) -> Result<Self, Error> {
        parse_exact(packet, MESSAGE_HANDSHAKE_RESPONSE, RESPONSE_LEN, |r| {
            Some(Self {
                sender_index: r.u32()?,
                receiver_index: r.u32()?,
                ephemeral: r.array()?,
                encrypted_nothing: r.array()?,
                macs: r.macs()?,
            })
        })
    }

    /// The wire encoding.
    pub fn encode(&self) -> [u8; RESPONSE_LEN] {
        encode_exact(MESSAGE_HANDSHAKE_RESPONSE, |w| {
            w.u32(self.sender_index);
            w.u32(self.receiver_index);
            w.put(&self.ephemeral);
            w.put(&self.encrypted_nothing);
            w.macs(&self.macs);
        })
    }
}

/// Cookie reply (type 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieReply {
    /// The sender index of the handshake message this answers.
    pub receiver_index: u32,
    /// XChaCha20 nonce.
    pub nonce: [u8; XNONCE_LEN],
    /// The cookie, encrypted with the mac1 of the answered message as AD.
    pub encrypted_cookie: [u8; ENCRYPTED_COOKIE_LEN],
}

impl CookieReply {
    /// Parses exactly [`COOKIE_REPLY_LEN`] bytes.
    pub fn parse(packet: &[u8]) -> Result<Self, Error> {
        parse_exact(packet, MESSAGE_HANDSHAKE_COOKIE, COOKIE_REPLY_LEN, |r| {
            Some(Self {
                receiver_index: r.u32()?,
                nonce: r.array()?,
                encrypted_cookie: r.array()?,
            })
        })
    }

    /// The wire encoding.
    pub fn encode(&self) -> [u8; COOKIE_REPLY_LEN] {
        encode_exact(MESSAGE_HANDSHAKE_COOKIE, |w| {
            w.u32(self.receiver_index);
            w.put(&self.nonce);
            w.put(&self.encrypted_cookie);
        })
    }
}

/// The header of a data message (type 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataHeader {
    /// The receiver's keypair index.
    pub receiver_index: u32,
    /// The sender's counter, also the AEAD nonce.
    pub counter: u64,
}

impl DataHeader {
    /// Parses the header of a data message of at least [`DATA_MIN_LEN`] bytes.
    pub fn parse(packet: &[u8]) -> Result<Self, Error> {
        if packet.len() < DATA_MIN_LEN {
            return Err(Error::Malformed);
        }
        let mut r = Reader(packet);
        if r.u32() != Some(MESSAGE_DATA) {
            return Err(Error::Malformed);
        }
        match (r.u32(), r.u64()) {
            (Some(receiver_index), Some(counter)) => Ok(Self {
                receiver_index,
                counter,
            }),
            _ => Err(Error::Malformed),
        }
    }

    /// The wire encoding.
    pub fn encode(&self) -> [u8; DATA_HEADER_LEN] {
        encode_exact(MESSAGE_DATA, |w| {
            w.u32(self.receiver_index);
            w.u64(self.counter);
        })
    }
}

/// Splits a handshake message into the bytes covered by mac1, mac1, and mac2
/// (the last 32 bytes are the two MACs).
pub(crate) fn split_macs(packet: &[u8]) -> Option<(&[u8], &[u8; MAC_LEN], &[u8; MAC_LEN])> {
    let (rest, mac2) = packet.split_last_chunk::<MAC_LEN>()?;
    let (body, mac1) = rest.split_last_chunk::<MAC_LEN>()?;
    Some((body, mac1, mac2))
}

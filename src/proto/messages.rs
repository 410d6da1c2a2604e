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

/// A field of a message; every read and write is checked.
trait Field: Sized {
    /// All zero.
    const ZERO: Self;
    /// Reads the field from the front of `r` and advances it past the field.
    fn read(r: &mut &[u8]) -> Option<Self>;
    /// Writes the field to the front of `w` and advances it past the field.
    fn write(&self, w: &mut &mut [u8]);
}

impl<const N: usize> Field for [u8; N] {
    const ZERO: Self = [0; N];
    fn read(r: &mut &[u8]) -> Option<Self> {
        let (a, rest) = r.split_first_chunk::<N>()?;
        *r = rest;
        Some(*a)
    }
    fn write(&self, w: &mut &mut [u8]) {
        if let Some((head, rest)) = core::mem::take(w).split_first_chunk_mut::<N>() {
            *head = *self;
            *w = rest;
        }
    }
}

/// Little-endian integers are their bytes.
macro_rules! le_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            const ZERO: Self = 0;
            fn read(r: &mut &[u8]) -> Option<Self> {
                Field::read(r).map(<$t>::from_le_bytes)
            }
            fn write(&self, w: &mut &mut [u8]) {
                self.to_le_bytes().write(w);
            }
        }
    )*};
}
le_field!(u32, u64);

/// Defines the struct of a message of type `$ty` whose fields after the type
/// are the ones listed, in wire order, with `parse` (of a packet whose length
/// is in `$lens`) and `encode` (to `$len` bytes: the type and the fields).
macro_rules! message {
    ($(#[$doc:meta])* $name:ident = $ty:expr, $lens:expr, $len:expr,
     { $($(#[$fdoc:meta])* $field:ident: $fty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: $fty,)*
        }

        // The type and the fields fill the encoding exactly: `encode` writes
        // every byte, and `parse` of an exact-size message reads them all.
        const _: () = assert!(4 $(+ core::mem::size_of::<$fty>())* == $len);

        /// Every field zero, to be filled in.
        impl Default for $name {
            fn default() -> Self {
                Self { $($field: <$fty as Field>::ZERO,)* }
            }
        }

        impl $name {
            /// Parses a packet of a length in the range given above (checked
            /// first), beginning with the type.
            pub fn parse(packet: &[u8]) -> Result<Self, Error> {
                let mut r = packet;
                if !($lens).contains(&packet.len()) || u32::read(&mut r) != Some($ty) {
                    return Err(Error::Malformed);
                }
                Ok(Self {
                    $($field: Field::read(&mut r).ok_or(Error::Malformed)?,)*
                })
            }

            /// The wire encoding.
            pub fn encode(&self) -> [u8; $len] {
                let mut out = [0u8; $len];
                let mut w = &mut out[..];
                $ty.write(&mut w);
                $(self.$field.write(&mut w);)*
                out
            }
        }
    };
}

message! {
    /// Handshake initiation (type 1), exactly [`INITIATION_LEN`] bytes.
    Initiation = MESSAGE_HANDSHAKE_INITIATION, INITIATION_LEN..=INITIATION_LEN, INITIATION_LEN, {
        /// The initiator's index for this handshake.
        sender_index: u32,
        /// The initiator's ephemeral public key.
        ephemeral: [u8; KEY_LEN],
        /// The initiator's static public key, encrypted.
        encrypted_static: [u8; ENCRYPTED_STATIC_LEN],
        /// The TAI64N timestamp, encrypted.
        encrypted_timestamp: [u8; ENCRYPTED_TIMESTAMP_LEN],
        /// MAC keyed with the receiver's public key.
        mac1: [u8; MAC_LEN],
        /// MAC keyed with a cookie, or zero.
        mac2: [u8; MAC_LEN],
    }
}

message! {
    /// Handshake response (type 2), exactly [`RESPONSE_LEN`] bytes.
    Response = MESSAGE_HANDSHAKE_RESPONSE, RESPONSE_LEN..=RESPONSE_LEN, RESPONSE_LEN, {
        /// The responder's index for this session.
        sender_index: u32,
        /// The initiator's index (from the initiation).
        receiver_index: u32,
        /// The responder's ephemeral public key.
        ephemeral: [u8; KEY_LEN],
        /// The empty payload's tag.
        encrypted_nothing: [u8; TAG_LEN],
        /// As in an initiation.
        mac1: [u8; MAC_LEN],
        /// As in an initiation.
        mac2: [u8; MAC_LEN],
    }
}

message! {
    /// Cookie reply (type 3), exactly [`COOKIE_REPLY_LEN`] bytes.
    CookieReply = MESSAGE_HANDSHAKE_COOKIE, COOKIE_REPLY_LEN..=COOKIE_REPLY_LEN, COOKIE_REPLY_LEN, {
        /// The sender index of the handshake message this answers.
        receiver_index: u32,
        /// XChaCha20 nonce.
        nonce: [u8; XNONCE_LEN],
        /// The cookie, encrypted with the mac1 of the answered message as AD.
        encrypted_cookie: [u8; MAC_LEN],
        /// Its tag.
        cookie_tag: [u8; TAG_LEN],
    }
}

message! {
    /// The header of a data message (type 4), parsed from a message of at
    /// least [`DATA_MIN_LEN`] bytes and encoded to [`DATA_HEADER_LEN`].
    #[derive(Copy)]
    DataHeader = MESSAGE_DATA, DATA_MIN_LEN.., DATA_HEADER_LEN, {
        /// The receiver's keypair index.
        receiver_index: u32,
        /// The sender's counter, also the AEAD nonce.
        counter: u64,
    }
}

/// The receiver index of a data message of `len` bytes whose first eight
/// bytes are `head`, or `None` if it is not one (another type, reserved bytes
/// not zero, shorter than [`DATA_MIN_LEN`]): the key under which the outer
/// GRO coalesces datagrams (the data messages of one session, from one
/// source), read before anything is authenticated and deciding nothing else.
pub fn data_receiver_index(head: &[u8; 8], len: usize) -> Option<u32> {
    let (ty, index) = head.split_at(4);
    let ty = u32::from_le_bytes(ty.try_into().ok()?);
    let index = u32::from_le_bytes(index.try_into().ok()?);
    (ty == MESSAGE_DATA && len >= DATA_MIN_LEN).then_some(index)
}

/// Splits a handshake message into the bytes covered by mac1, mac1, and mac2
/// (the last 32 bytes are the two MACs).
pub(crate) fn split_macs(packet: &[u8]) -> Option<(&[u8], &[u8; MAC_LEN], &[u8; MAC_LEN])> {
    let (rest, mac2) = packet.split_last_chunk::<MAC_LEN>()?;
    let (body, mac1) = rest.split_last_chunk::<MAC_LEN>()?;
    Some((body, mac1, mac2))
}

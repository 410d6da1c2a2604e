// SPDX-License-Identifier: GPL-2.0
//! WireGuard's handshake (paper section 5.4.2 and 5.4.3) on top of the
//! Noise_IKpsk2 layer of [`super::noise`]: creation and consumption of
//! initiations and responses, the TAI64N replay check and the flood rule.
//!
//! Bytes and times go in, messages and session keys come out; nothing here
//! sends, allocates, or reads a clock. mac1/mac2 are added and checked by
//! [`super::cookie`]: the created messages carry zero MACs, and the consumed
//! messages must have been checked by the caller first.
//!
//! Receiving an initiation is in two steps, because the peer is only known
//! once the static key is decrypted: [`read_initiation`] (needs only the
//! device's identity) gives the initiator's static key, the caller finds the
//! peer, then [`PeerHandshake::consume_initiation`] finishes. Both steps work
//! on copies: nothing changes unless the whole message authenticated.

use super::constants::MIN_INITIATION_INTERVAL;
use super::error::Error;
use super::kdf;
use super::keypair::SessionKeys;
use super::messages::{Initiation, Response, INITIATION_LEN, RESPONSE_LEN};
use super::noise::{self, SymmetricState};
use super::platform::{Crypto, HASH_LEN, KEY_LEN};
use super::secret::Key;
use super::tai64n::{self, Timestamp, TIMESTAMP_LEN};

/// The Noise protocol name WireGuard uses.
pub const CONSTRUCTION: &[u8] = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/// WireGuard's Noise prologue.
pub const IDENTIFIER: &[u8] = b"WireGuard v1 zx2c4 Jason@zx2c4.com";

/// `HASH(CONSTRUCTION)`: every handshake's initial chaining key (the C
/// driver's `handshake_init_chaining_key`; the self-test recomputes it).
pub const INITIAL_CHAINING_KEY: [u8; HASH_LEN] = [
    0x60, 0xe2, 0x6d, 0xae, 0xf3, 0x27, 0xef, 0xc0, 0x2e, 0xc3, 0x35, 0xe2, 0xa0, 0x25, 0xd2, 0xd0,
    0x16, 0xeb, 0x42, 0x06, 0xf8, 0x72, 0x77, 0xf5, 0x2d, 0x38, 0xd1, 0x98, 0x8b, 0x78, 0xcd, 0x36,
];
/// `HASH(INITIAL_CHAINING_KEY || IDENTIFIER)`: every handshake's hash before
/// the responder's static key is mixed in (the C driver's
/// `handshake_init_hash`; the self-test recomputes it).
pub const INITIAL_HASH: [u8; HASH_LEN] = [
    0x22, 0x11, 0xb3, 0x61, 0x08, 0x1a, 0xc5, 0x66, 0x69, 0x12, 0x43, 0xdb, 0x45, 0x8a, 0xd5, 0x32,
    0x2d, 0x9c, 0x6c, 0x66, 0x22, 0x93, 0xe8, 0xb7, 0x0e, 0xe1, 0x9c, 0x65, 0xba, 0x07, 0x9e, 0xf3,
];

/// The device's static key pair.
pub struct StaticIdentity<C: Crypto> {
    pub(crate) private: Key<C>,
    public: [u8; KEY_LEN],
    /// The hash after the pre-message `<- s` of the handshakes we answer
    /// (`HASH(INITIAL_HASH || public)`), computed once per key. With
    /// [`INITIAL_CHAINING_KEY`] it makes the symmetric state every such
    /// handshake starts from (what the host tests' `ik_init(CONSTRUCTION,
    /// IDENTIFIER, responder)` computes).
    responder_hash: [u8; HASH_LEN],
}

impl<C: Crypto> StaticIdentity<C> {
    /// The identity of a private key (X25519 clamping is applied by the DH).
    pub fn new(private: Key<C>) -> Self {
        let public = noise::public_key::<C>(&private);
        Self {
            private,
            public,
            responder_hash: kdf::hash::<C>(&INITIAL_HASH, &public),
        }
    }

    /// The public key.
    pub fn public_key(&self) -> &[u8; KEY_LEN] {
        &self.public
    }
}

/// A handshake in flight: its Noise state and what the next message needs,
/// one variant per state (no state can hold another one's fields).
pub(crate) enum InFlight<C: Crypto> {
    /// We sent an initiation and wait for the response: the state and our
    /// ephemeral private key.
    Initiation(SymmetricState<C>, Key<C>),
    /// We accepted an initiation and may answer it: the state, the
    /// initiator's ephemeral public key and its index.
    Consumed(SymmetricState<C>, [u8; KEY_LEN], u32),
}

/// A handshake initiation whose static key decrypted: the peer is named, but
/// nothing of it is authenticated yet. Pass it to the peer's
/// [`PeerHandshake::consume_initiation`].
pub struct InitiationStatic<C: Crypto> {
    remote_static: [u8; KEY_LEN],
    /// The message: its timestamp is decrypted by the second step.
    pub(crate) msg: Initiation,
    sym: SymmetricState<C>,
}

impl<C: Crypto> InitiationStatic<C> {
    /// The initiator's claimed static public key, to look the peer up with.
    pub fn remote_static(&self) -> &[u8; KEY_LEN] {
        &self.remote_static
    }
}

/// First step of receiving an initiation: decrypts the initiator's static key.
/// The message's mac1 (and mac2 if under load) must have been checked.
pub fn read_initiation<C: Crypto>(
    identity: &StaticIdentity<C>,
    msg: &Initiation,
) -> Result<InitiationStatic<C>, Error> {
    let mut sym = SymmetricState::from_parts(INITIAL_CHAINING_KEY, identity.responder_hash);
    let remote_static = noise::ik_read_msg1_static(
        &mut sym,
        &identity.private,
        &msg.ephemeral,
        &msg.encrypted_static,
    )?;
    Ok(InitiationStatic {
        remote_static,
        msg: msg.clone(),
        sym,
    })
}

/// The handshake with one peer: its static key, the precomputed static-static
/// DH, the preshared key, and the state of the handshake in flight.
pub struct PeerHandshake<C: Crypto> {
    pub(crate) remote_static: [u8; KEY_LEN],
    /// As [`StaticIdentity`]'s, of the handshakes we initiate.
    responder_hash: [u8; HASH_LEN],
    static_static: Key<C>,
    /// All zero: none. The module's dump reports it (`wg show`).
    pub(crate) psk: Key<C>,
    /// Replaced as a whole: the old one is dropped (zeroed) in place.
    pub(crate) in_flight: Option<InFlight<C>>,
    local_index: Option<u32>,
    pub(crate) latest_timestamp: Timestamp,
    last_initiation_consumption: Option<u64>,
}

impl<C: Crypto> PeerHandshake<C> {
    /// A peer with static key `remote_static` and optional preshared key (an
    /// all-zero key is the same as none). `identity` is the device's key pair,
    /// if it has one. A low-order `remote_static` is accepted here, but every
    /// handshake with it fails, as in the C driver.
    pub fn new(
        identity: Option<&StaticIdentity<C>>,
        remote_static: [u8; KEY_LEN],
        psk: Option<&[u8; KEY_LEN]>,
    ) -> Self {
        let mut hs = Self {
            remote_static,
            responder_hash: kdf::hash::<C>(&INITIAL_HASH, &remote_static),
            static_static: Key::zero(),
            psk: Key::zero(),
            in_flight: None,
            local_index: None,
            latest_timestamp: [0; TIMESTAMP_LEN],
            last_initiation_consumption: None,
        };
        hs.set_identity(identity);
        hs.set_preshared_key(psk);
        hs
    }

    /// Recomputes the static-static DH for a new device key (or none), and
    /// abandons any handshake in flight. Returns the index the abandoned
    /// handshake held, for the caller to unregister.
    pub fn set_identity(&mut self, identity: Option<&StaticIdentity<C>>) -> Option<u32> {
        self.static_static = identity
            .and_then(|id| noise::dh::<C>(&id.private, &self.remote_static))
            .unwrap_or_else(Key::zero);
        self.clear()
    }

    /// Sets or removes the preshared key.
    pub fn set_preshared_key(&mut self, psk: Option<&[u8; KEY_LEN]>) {
        self.psk = psk.map_or_else(Key::zero, |k| Key::new(*k));
    }

    /// The index (registered by the caller) that names this handshake: the
    /// last one given to [`Self::create_initiation_with_ephemeral`], until the handshake
    /// completes or is cleared. A response must be addressed to it.
    pub fn local_index(&self) -> Option<u32> {
        self.local_index
    }

    /// Abandons the handshake in flight (keeps the replay and flood records).
    /// Returns the index it held, for the caller to unregister.
    pub fn clear(&mut self) -> Option<u32> {
        self.in_flight = None;
        self.local_index.take()
    }

    /// Creates an initiation with a fresh ephemeral key, under our index
    /// `local_index`, stamped with wall-clock time `wall` (seconds and
    /// nanoseconds since the Unix epoch). The MACs are zero: add them with
    /// [`super::cookie::CookieMaker::add_macs`].
    ///
    /// The caller registers `local_index` for this peer's handshake; an index
    /// the handshake held before (see [`Self::local_index`]) names nothing any
    /// more and is to be unregistered.
    ///
    /// The ephemeral private key is given: the module passes `Key::random()`,
    /// tests a fixed one (the tests' `create_initiation` passes a random one).
    pub fn create_initiation_with_ephemeral(
        &mut self,
        identity: &StaticIdentity<C>,
        local_index: u32,
        wall: (u64, u32),
        ephemeral_private: Key<C>,
    ) -> Result<[u8; INITIATION_LEN], Error> {
        let mut sym = SymmetricState::from_parts(INITIAL_CHAINING_KEY, self.responder_hash);
        let mut msg = Initiation {
            sender_index: local_index,
            ..Default::default()
        };
        if let Some((ts, _tag)) = msg.encrypted_timestamp.split_first_chunk_mut() {
            *ts = tai64n::tai64n(wall.0, wall.1);
        }
        noise::ik_write_msg1(
            &mut sym,
            &identity.public,
            &ephemeral_private,
            &self.remote_static,
            &self.static_static,
            &mut msg.ephemeral,
            &mut msg.encrypted_static,
            &mut msg.encrypted_timestamp,
        )?;
        self.in_flight = Some(InFlight::Initiation(sym, ephemeral_private));
        self.local_index = Some(local_index);
        Ok(msg.encode())
    }

    /// Second step of receiving an initiation: checks that it names this peer,
    /// decrypts the timestamp, and applies the replay check (the timestamp
    /// must be strictly newer than the last accepted one) and the flood rule
    /// (at least MIN_INITIATION_INTERVAL since the last accepted initiation,
    /// by the monotonic clock `now_ns`). On success the handshake may be
    /// answered ([`Self::create_response_with_ephemeral`]; our index, if we
    /// had an initiation in flight, is kept until then); on failure nothing
    /// changed.
    pub fn consume_initiation(
        &mut self,
        init: InitiationStatic<C>,
        now_ns: u64,
    ) -> Result<(), Error> {
        if !C::ct_eq(&init.remote_static, &self.remote_static) {
            return Err(Error::WrongPeer);
        }
        let mut sym = init.sym;
        let mut ts = [0u8; TIMESTAMP_LEN];
        noise::ik_read_msg1_payload(
            &mut sym,
            &self.static_static,
            &init.msg.encrypted_timestamp,
            &mut ts,
        )?;
        // Byte-wise order is chronological for TAI64N.
        if ts <= self.latest_timestamp {
            return Err(Error::Replay);
        }
        let too_soon = |last: u64| last.saturating_add(MIN_INITIATION_INTERVAL) > now_ns;
        if self.last_initiation_consumption.is_some_and(too_soon) {
            return Err(Error::Flood);
        }
        self.latest_timestamp = ts;
        // Not later than `now_ns`: a later one would have been too soon.
        self.last_initiation_consumption = Some(now_ns);
        let msg = &init.msg;
        self.in_flight = Some(InFlight::Consumed(sym, msg.ephemeral, msg.sender_index));
        Ok(())
    }

    /// Answers the consumed initiation with the ephemeral private key given
    /// (the module's a fresh `Key::random()`, the tests' `create_response`
    /// too), under our
    /// index `local_index`. Returns the response (MACs zero) and the new
    /// session's keys (the responder's keypair, which goes to the `next` slot);
    /// nothing is in flight any more. `local_index` now
    /// names the keypair; an index the handshake held before (an initiation
    /// of ours that this exchange supersedes) names nothing any more.
    pub fn create_response_with_ephemeral(
        &mut self,
        local_index: u32,
        ephemeral_private: Key<C>,
    ) -> Result<([u8; RESPONSE_LEN], SessionKeys<C>), Error> {
        let Some(InFlight::Consumed(sym, remote_ephemeral, remote_index)) = &self.in_flight else {
            return Err(Error::UnexpectedMessage);
        };
        // Worked on as a copy: nothing changes unless the response is made.
        let mut sym = sym.duplicate();
        let mut msg = Response {
            sender_index: local_index,
            receiver_index: *remote_index,
            ..Default::default()
        };
        noise::ik_write_msg2(
            &mut sym,
            &ephemeral_private,
            remote_ephemeral,
            &self.remote_static,
            &self.psk,
            &mut msg.ephemeral,
            &mut msg.encrypted_nothing,
        )?;
        let (initiator_to_responder, responder_to_initiator) = sym.split();
        let keys = SessionKeys {
            sending: responder_to_initiator,
            receiving: initiator_to_responder,
            local_index,
            remote_index: *remote_index,
            initiator: false,
        };
        self.clear();
        Ok((msg.encode(), keys))
    }

    /// Consumes a response to our initiation (the caller found this peer by
    /// the response's receiver index, and checked its mac1). Returns the new
    /// session's keys (the initiator's keypair, usable at once, named by the
    /// handshake's index); nothing is in flight any more. On failure nothing
    /// changed.
    pub fn consume_response(
        &mut self,
        identity: &StaticIdentity<C>,
        msg: &Response,
    ) -> Result<SessionKeys<C>, Error> {
        let Some(InFlight::Initiation(sym, ephemeral_private)) = &self.in_flight else {
            return Err(Error::UnexpectedMessage);
        };
        if self.local_index != Some(msg.receiver_index) {
            return Err(Error::UnexpectedMessage);
        }
        let mut sym = sym.duplicate();
        noise::ik_read_msg2(
            &mut sym,
            &identity.private,
            ephemeral_private,
            &self.psk,
            &msg.ephemeral,
            &msg.encrypted_nothing,
            &mut [],
        )?;
        let (initiator_to_responder, responder_to_initiator) = sym.split();
        let keys = SessionKeys {
            sending: initiator_to_responder,
            receiving: responder_to_initiator,
            local_index: msg.receiver_index,
            remote_index: msg.sender_index,
            initiator: true,
        };
        self.clear();
        Ok(keys)
    }
}

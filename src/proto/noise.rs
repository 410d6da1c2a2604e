// SPDX-License-Identifier: GPL-2.0
//! A Noise_IKpsk2 layer over X25519, ChaCha20-Poly1305 and BLAKE2s, generic in
//! its protocol name, prologue and payloads (so that the Noise test vectors
//! drive it), on which `handshake` builds WireGuard's framing.
//!
//! The pattern:
//! ```text
//! IKpsk2:
//!   <- s
//!   ...
//!   -> e, es, s, ss
//!   <- e, ee, se, psk
//! ```
//! Because the pattern has a `psk` token, every `e` token also does
//! `MixKey(e.public_key)`, as the Noise specification requires (and as
//! WireGuard does).
//!
//! Message 1 is `e (32) || encrypted s (32 + 16) || encrypted payload (n + 16)`,
//! message 2 is `e (32) || encrypted payload (n + 16)`. Functions take the
//! fields separately so that callers lay them out as they wish.

use super::error::Error;
use super::kdf;
use super::platform::{Crypto, HASH_LEN, KEY_LEN, TAG_LEN};
use super::secret::{Key, Secret};

/// Length of the encrypted static key in message 1.
pub const ENCRYPTED_STATIC_LEN: usize = KEY_LEN + TAG_LEN;

/// Noise's SymmetricState with its CipherState: chaining key, handshake hash,
/// and the current key (none before the first `MixKey`). IK encrypts (or
/// decrypts) once under each key: the nonce is always 0, and encrypting uses
/// the key up, so that a second encryption under it cannot happen.
pub struct SymmetricState<C: Crypto> {
    ck: Key<C>,
    /// The handshake hash (the tests and the self-test compare it).
    pub(crate) h: Secret<C, HASH_LEN>,
    k: Option<Key<C>>,
}

impl<C: Crypto> SymmetricState<C> {
    /// The state `InitializeSymmetric(protocol_name)` and `MixHash` calls
    /// reached, from its chaining key and hash computed ahead of time (no key
    /// mixed in yet; the handshake precomputes them for WireGuard's name).
    pub fn from_parts(ck: [u8; HASH_LEN], h: [u8; HASH_LEN]) -> Self {
        Self {
            ck: Key::new(ck),
            h: Secret::new(h),
            k: None,
        }
    }

    /// An explicit copy, to work on tentatively.
    pub fn duplicate(&self) -> Self {
        Self {
            ck: self.ck.duplicate(),
            h: self.h.duplicate(),
            k: self.k.as_ref().map(Key::duplicate),
        }
    }

    /// `MixHash(a || b)`.
    pub fn mix_hash(&mut self, a: &[u8], b: &[u8]) {
        let mut out = [0u8; HASH_LEN];
        C::blake2s(&mut out, &[], &[self.h.as_bytes(), a, b]);
        self.h = Secret::take_from(&mut out);
    }

    /// `MixKey(ikm)`.
    pub fn mix_key(&mut self, ikm: &[u8]) {
        let (ck, k) = kdf::kdf2::<C>(self.ck.as_bytes(), ikm);
        self.ck = ck;
        self.k = Some(k);
    }

    /// `Ck := Kdf1(Ck, ikm)`: the chaining key alone, where WireGuard takes
    /// no key (the `e` token, message 2's `ee` and `se`: the key those would
    /// make is never used, as the C driver's `kdf` with one output).
    pub fn mix_chain(&mut self, ikm: &[u8]) {
        self.ck = kdf::kdf1::<C>(self.ck.as_bytes(), ikm);
    }

    /// `MixKey(DH(private, public))`; fails on a low-order `public`.
    pub fn mix_dh(&mut self, private: &Key<C>, public: &[u8; KEY_LEN]) -> Result<(), Error> {
        self.mix_key(checked_dh(dh::<C>(private, public).as_ref())?.as_bytes());
        Ok(())
    }

    /// [`Self::mix_chain`] of `DH(private, public)`; fails on a low-order `public`.
    pub fn mix_dh_chain(&mut self, private: &Key<C>, public: &[u8; KEY_LEN]) -> Result<(), Error> {
        self.mix_chain(checked_dh(dh::<C>(private, public).as_ref())?.as_bytes());
        Ok(())
    }

    /// `MixKey(shared)` with a precomputed DH result; fails if it is all zero
    /// (the precomputation met a low-order key).
    pub fn mix_precomputed_dh(&mut self, shared: &Key<C>) -> Result<(), Error> {
        self.mix_key(checked_dh(Some(shared))?.as_bytes());
        Ok(())
    }

    /// `MixKeyAndHash(psk)`.
    pub fn mix_key_and_hash(&mut self, psk: &[u8]) {
        let (ck, temp_h, k) = kdf::kdf3::<C>(self.ck.as_bytes(), psk);
        self.ck = ck;
        self.mix_hash(temp_h.as_bytes(), &[]);
        self.k = Some(k);
    }

    /// `EncryptAndHash`: `buf` holds the plaintext followed by `TAG_LEN` bytes
    /// of room for the tag; on return it holds the ciphertext and tag. Fails
    /// (instead of sending plaintext) if no key was mixed in yet.
    pub fn encrypt_and_hash(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        // Noise would send the plaintext as is before the first key; IK
        // always has a key here, so refuse rather than send plaintext.
        let k = self.k.as_ref().ok_or(Error::UnexpectedMessage)?;
        let (body, tag) = buf
            .split_last_chunk_mut::<TAG_LEN>()
            .ok_or(Error::BufferSize)?;
        *tag = C::aead_seal(k.as_bytes(), 0, self.h.as_bytes(), body);
        // Each key is used once (nonce 0): dropped in place, which zeroes
        // it (`take` would move a copy out and leave the bytes behind).
        self.k = None;
        self.mix_hash(buf, &[]);
        Ok(())
    }

    /// `DecryptAndHash`: `input` is ciphertext and tag, `out` receives the
    /// plaintext (`input.len() - TAG_LEN` bytes), and the key is used up as
    /// by [`Self::encrypt_and_hash`]. On failure `self` is unchanged and
    /// `out` is zeroed.
    pub fn decrypt_and_hash(&mut self, input: &[u8], out: &mut [u8]) -> Result<(), Error> {
        let k = self.k.as_ref().ok_or(Error::UnexpectedMessage)?;
        let (body, tag) = input
            .split_last_chunk::<TAG_LEN>()
            .ok_or(Error::Malformed)?;
        if out.len() != body.len() {
            return Err(Error::BufferSize);
        }
        out.copy_from_slice(body);
        if !C::aead_open(k.as_bytes(), 0, self.h.as_bytes(), out, tag) {
            C::zeroize(out);
            return Err(Error::Decrypt);
        }
        self.k = None;
        self.mix_hash(input, &[]);
        Ok(())
    }

    /// `Split()`: the initiator-to-responder and responder-to-initiator keys.
    pub fn split(&self) -> (Key<C>, Key<C>) {
        kdf::kdf2::<C>(self.ck.as_bytes(), &[])
    }
}

/// A DH result fit to mix: present and not all zero (a low-order key).
fn checked_dh<C: Crypto>(shared: Option<&Key<C>>) -> Result<&Key<C>, Error> {
    shared.filter(|s| !s.is_zero()).ok_or(Error::LowOrderKey)
}

/// The public key of `private`.
pub fn public_key<C: Crypto>(private: &Key<C>) -> [u8; KEY_LEN] {
    let mut p = [0u8; KEY_LEN];
    C::x25519_base(&mut p, private.as_bytes());
    p
}

/// `DH(private, public)`, or `None` for a low-order `public`.
pub fn dh<C: Crypto>(private: &Key<C>, public: &[u8; KEY_LEN]) -> Option<Key<C>> {
    let mut shared = Key::<C>::zero();
    C::x25519(shared.as_mut_bytes(), private.as_bytes(), public).then_some(shared)
}

/// The `e` token, sending side: writes the ephemeral public key.
fn write_e<C: Crypto>(st: &mut SymmetricState<C>, e_priv: &Key<C>, e_out: &mut [u8; KEY_LEN]) {
    *e_out = public_key::<C>(e_priv);
    read_e(st, e_out);
}

/// The `e` token, receiving side.
fn read_e<C: Crypto>(st: &mut SymmetricState<C>, e: &[u8; KEY_LEN]) {
    st.mix_hash(e, &[]);
    st.mix_chain(e);
}

/// Initiator writes message 1: `-> e, es, s, ss` and the payload.
///
/// `s_static_shared` is `DH(s, rs)` computed ahead of time (WireGuard keeps it
/// per peer). `payload` holds the plaintext followed by `TAG_LEN` bytes of room.
#[allow(clippy::too_many_arguments)]
pub fn ik_write_msg1<C: Crypto>(
    st: &mut SymmetricState<C>,
    s_pub: &[u8; KEY_LEN],
    e_priv: &Key<C>,
    rs: &[u8; KEY_LEN],
    static_static: &Key<C>,
    e_out: &mut [u8; KEY_LEN],
    s_out: &mut [u8; ENCRYPTED_STATIC_LEN],
    payload: &mut [u8],
) -> Result<(), Error> {
    write_e(st, e_priv, e_out);
    st.mix_dh(e_priv, rs)?;
    let (s_plain, _tag) = s_out
        .split_first_chunk_mut::<KEY_LEN>()
        .ok_or(Error::BufferSize)?;
    *s_plain = *s_pub;
    st.encrypt_and_hash(s_out)?;
    st.mix_precomputed_dh(static_static)?;
    st.encrypt_and_hash(payload)
}

/// Responder reads the first half of message 1 (`e, es, s`): returns the
/// initiator's static key, which the caller uses to find the peer (and its
/// precomputed `DH(s, rs)`) before [`ik_read_msg1_payload`].
pub fn ik_read_msg1_static<C: Crypto>(
    st: &mut SymmetricState<C>,
    s_priv: &Key<C>,
    e: &[u8; KEY_LEN],
    encrypted_static: &[u8; ENCRYPTED_STATIC_LEN],
) -> Result<[u8; KEY_LEN], Error> {
    read_e(st, e);
    st.mix_dh(s_priv, e)?;
    let mut rs = [0u8; KEY_LEN];
    st.decrypt_and_hash(encrypted_static, &mut rs)?;
    Ok(rs)
}

/// Responder reads the rest of message 1 (`ss` and the payload).
pub fn ik_read_msg1_payload<C: Crypto>(
    st: &mut SymmetricState<C>,
    static_static: &Key<C>,
    encrypted_payload: &[u8],
    payload_out: &mut [u8],
) -> Result<(), Error> {
    st.mix_precomputed_dh(static_static)?;
    st.decrypt_and_hash(encrypted_payload, payload_out)
}

/// Responder writes message 2: `<- e, ee, se, psk` and the payload.
/// `payload` holds the plaintext followed by `TAG_LEN` bytes of room.
pub fn ik_write_msg2<C: Crypto>(
    st: &mut SymmetricState<C>,
    e_priv: &Key<C>,
    re: &[u8; KEY_LEN],
    rs: &[u8; KEY_LEN],
    psk: &Key<C>,
    e_out: &mut [u8; KEY_LEN],
    payload: &mut [u8],
) -> Result<(), Error> {
    write_e(st, e_priv, e_out);
    st.mix_dh_chain(e_priv, re)?;
    st.mix_dh_chain(e_priv, rs)?;
    st.mix_key_and_hash(psk.as_bytes());
    st.encrypt_and_hash(payload)
}

/// Initiator reads message 2.
pub fn ik_read_msg2<C: Crypto>(
    st: &mut SymmetricState<C>,
    s_priv: &Key<C>,
    e_priv: &Key<C>,
    psk: &Key<C>,
    e: &[u8; KEY_LEN],
    encrypted_payload: &[u8],
    payload_out: &mut [u8],
) -> Result<(), Error> {
    read_e(st, e);
    st.mix_dh_chain(e_priv, e)?;
    st.mix_dh_chain(s_priv, e)?;
    st.mix_key_and_hash(psk.as_bytes());
    st.decrypt_and_hash(encrypted_payload, payload_out)
}

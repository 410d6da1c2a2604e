// SPDX-License-Identifier: GPL-2.0
//! mac1, mac2 and cookies: WireGuard's defence against handshake floods
//! (paper section 5.3 and 5.4.7).
//!
//! Every handshake message ends with `mac1 = MAC(HASH("mac1----" || Spub_receiver), msg)`
//! and `mac2 = MAC(cookie, msg || mac1)` (or zero without a cookie). A
//! responder under load answers a message without a valid mac2 by a cookie
//! reply instead of processing it; the cookie is `MAC(secret, source address
//! and port)`, with a secret replaced every COOKIE_SECRET_MAX_AGE, sent
//! encrypted with XChaCha20-Poly1305 under `HASH("cookie--" || Spub_responder)`
//! with the mac1 of the refused message as additional data.
//!
//! [`CookieChecker`] is the device's (receiving) side, [`CookieMaker`] the
//! per-peer (sending) side.

use super::constants::{
    COOKIE_SECRET_LATENCY, COOKIE_SECRET_MAX_AGE, MAX_QUEUED_INCOMING_HANDSHAKES, NSEC_PER_SEC,
};
use super::error::Error;
use super::kdf::{self, MacKey, MAC_LEN};
use super::keypair::has_expired;
use super::messages::{split_macs, CookieReply, COOKIE_REPLY_LEN};
use super::platform::{Crypto, KEY_LEN};
use super::secret::{Key, Secret};

/// Label of the mac1 key.
pub const LABEL_MAC1: &[u8] = b"mac1----";
/// Label of the cookie encryption key.
pub const LABEL_COOKIE: &[u8] = b"cookie--";
/// A cookie (as long as a MAC: it is one).
pub type Cookie<C> = Secret<C, MAC_LEN>;

/// The verdict on an incoming handshake message's MACs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacCheck {
    /// mac1 is wrong: drop the message silently.
    Invalid,
    /// mac1 is right and we are not under load: process the message.
    Valid,
    /// mac1 and mac2 are right (we are under load): process the message if the
    /// per-source rate limiter allows it.
    ValidWithCookie,
    /// mac1 is right but we are under load and mac2 is not: answer with a
    /// cookie reply ([`CookieChecker::create_reply`]) and drop the message.
    NeedsCookie,
}

/// Whether a handshake queue of `queue_len` messages is loaded now: at least
/// an eighth of MAX_QUEUED_INCOMING_HANDSHAKES (the C driver's threshold).
pub fn queue_loaded(queue_len: usize) -> bool {
    queue_len >= MAX_QUEUED_INCOMING_HANDSHAKES / 8
}

/// Whether the device is under load, the C driver's rule: the handshake queue
/// holds at least an eighth of MAX_QUEUED_INCOMING_HANDSHAKES, or did less
/// than a second ago. `last_under_load` is the time the queue was last found
/// that long (the caller keeps it); returns the verdict and the new value.
pub fn under_load(
    queue_len: usize,
    now_ns: u64,
    last_under_load: Option<u64>,
) -> (bool, Option<u64>) {
    if queue_loaded(queue_len) {
        return (true, Some(now_ns));
    }
    let recent = last_under_load.filter(|&t| !has_expired(t, NSEC_PER_SEC, now_ns));
    (recent.is_some(), recent)
}

/// The device's side: checks MACs of incoming handshake messages and makes
/// cookie replies.
pub struct CookieChecker<C: Crypto> {
    pub(crate) mac1_key: MacKey<C>,
    cookie_encryption_key: [u8; KEY_LEN],
    /// The cookie secret, as the key of the MAC that makes cookies.
    secret: MacKey<C>,
    secret_birthdate: Option<u64>,
}

impl<C: Crypto> CookieChecker<C> {
    /// A checker for a device whose public key is `public` (`None` without a
    /// private key: then no mac1 verifies).
    pub fn new(public: Option<&[u8; KEY_LEN]>) -> Self {
        let (mac1_key, cookie_encryption_key) = Self::keys_of(public);
        Self {
            mac1_key,
            cookie_encryption_key,
            // Replaced before its first use (no birthdate).
            secret: MacKey::new(&[0; KEY_LEN]),
            secret_birthdate: None,
        }
    }

    /// Recomputes the keys after the device's key changed.
    pub fn set_public_key(&mut self, public: Option<&[u8; KEY_LEN]>) {
        (self.mac1_key, self.cookie_encryption_key) = Self::keys_of(public);
    }

    /// The mac1 and cookie encryption keys of the public key `public`.
    fn keys_of(public: Option<&[u8; KEY_LEN]>) -> (MacKey<C>, [u8; KEY_LEN]) {
        match public {
            Some(p) => (
                MacKey::new(&kdf::hash::<C>(LABEL_MAC1, p)),
                kdf::hash::<C>(LABEL_COOKIE, p),
            ),
            None => {
                // A random key nobody knows: nothing verifies.
                let mut mac1 = [0; KEY_LEN];
                let mut cookie = [0; KEY_LEN];
                C::random_bytes(&mut mac1);
                C::random_bytes(&mut cookie);
                (MacKey::new(&mac1), cookie)
            }
        }
    }

    /// The keys as they are now, for checking MACs and making cookie replies
    /// without holding the checker (a device-wide lock under a flood of
    /// handshake messages): the mac1 and cookie keys (derived from the
    /// public key), and a copy of the cookie secret, which is first replaced
    /// if it is older than COOKIE_SECRET_MAX_AGE (a rotation depends on time
    /// only, never on a message). The copy is wiped when dropped.
    pub fn keys(&mut self, now_ns: u64) -> CheckerKeys<C> {
        let expired = self
            .secret_birthdate
            .is_none_or(|b| has_expired(b, COOKIE_SECRET_MAX_AGE, now_ns));
        if expired {
            self.secret = MacKey::new(Key::<C>::random().as_bytes());
            self.secret_birthdate = Some(now_ns);
        }
        CheckerKeys {
            mac1_key: self.mac1_key.clone(),
            cookie_encryption_key: self.cookie_encryption_key,
            secret: self.secret.clone(),
        }
    }
}

/// Whether `mac` is `MAC(key, a || b)`. Constant time; the computed MAC is
/// wiped.
pub(crate) fn mac_ok<C: Crypto>(key: &[u8], a: &[u8], b: &[u8], mac: &[u8; MAC_LEN]) -> bool {
    let mut computed = kdf::mac::<C>(key, a, b);
    let ok = C::ct_eq(&computed, mac);
    C::zeroize(&mut computed);
    ok
}

/// A [`CookieChecker`]'s keys at one moment ([`CookieChecker::keys`]).
pub struct CheckerKeys<C: Crypto> {
    mac1_key: MacKey<C>,
    cookie_encryption_key: [u8; KEY_LEN],
    secret: MacKey<C>,
}

impl<C: Crypto> CheckerKeys<C> {
    /// The cookie of source `src`: its address bytes (4 or 16) and UDP port
    /// (network order), hashed one after the other as the C driver does.
    fn cookie(&self, src: (&[u8], &[u8])) -> Cookie<C> {
        let mut c = self.secret.mac(src.0, src.1);
        Cookie::take_from(&mut c)
    }

    /// Checks the MACs of a handshake message from `src` (see
    /// [`Self::cookie`] for its format), mac2 only when `under_load`.
    pub fn check(&self, packet: &[u8], src: (&[u8], &[u8]), under_load: bool) -> MacCheck {
        let Some((body, mac1, mac2)) = split_macs(packet) else {
            return MacCheck::Invalid;
        };
        if !self.mac1_key.verify(body, &[], mac1) {
            return MacCheck::Invalid;
        }
        if !under_load {
            return MacCheck::Valid;
        }
        if mac_ok::<C>(self.cookie(src).as_bytes(), body, mac1, mac2) {
            MacCheck::ValidWithCookie
        } else {
            MacCheck::NeedsCookie
        }
    }

    /// A cookie reply to the handshake message `packet` (whose mac1 verified)
    /// from `src`, addressed to the message's `sender_index`.
    pub fn create_reply(
        &self,
        packet: &[u8],
        sender_index: u32,
        src: (&[u8], &[u8]),
    ) -> Result<[u8; COOKIE_REPLY_LEN], Error> {
        let (_, mac1, _) = split_macs(packet).ok_or(Error::Malformed)?;
        let mut reply = CookieReply {
            receiver_index: sender_index,
            // Encrypted in place below.
            encrypted_cookie: *self.cookie(src).as_bytes(),
            ..Default::default()
        };
        C::random_bytes(&mut reply.nonce);
        let key = &self.cookie_encryption_key;
        reply.cookie_tag = C::xaead_seal(key, &reply.nonce, mac1, &mut reply.encrypted_cookie);
        Ok(reply.encode())
    }
}

/// The per-peer side: adds mac1/mac2 to our handshake messages and keeps the
/// cookie the peer sent us.
pub struct CookieMaker<C: Crypto> {
    mac1_key: MacKey<C>,
    cookie_decryption_key: [u8; KEY_LEN],
    cookie: Cookie<C>,
    cookie_birthdate: Option<u64>,
    last_mac1_sent: Option<[u8; MAC_LEN]>,
}

impl<C: Crypto> CookieMaker<C> {
    /// The maker for messages to the peer whose static key is `peer_public`.
    pub fn new(peer_public: &[u8; KEY_LEN]) -> Self {
        Self {
            mac1_key: MacKey::new(&kdf::hash::<C>(LABEL_MAC1, peer_public)),
            cookie_decryption_key: kdf::hash::<C>(LABEL_COOKIE, peer_public),
            cookie: Cookie::zero(),
            cookie_birthdate: None,
            last_mac1_sent: None,
        }
    }

    /// Whether a cookie is held and young enough to use at `now_ns`
    /// (COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY).
    pub fn has_cookie(&self, now_ns: u64) -> bool {
        self.cookie_birthdate
            .is_some_and(|b| !has_expired(b, COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY, now_ns))
    }

    /// Fills in mac1, and mac2 if a cookie is held (else zero), of a handshake
    /// message created by `handshake` (its last 32 bytes are the MACs).
    /// Remembers mac1 to accept a cookie reply to it.
    pub fn add_macs(&mut self, packet: &mut [u8], now_ns: u64) -> Result<(), Error> {
        let (rest, mac2) = packet
            .split_last_chunk_mut::<MAC_LEN>()
            .ok_or(Error::BufferSize)?;
        let (body, mac1) = rest
            .split_last_chunk_mut::<MAC_LEN>()
            .ok_or(Error::BufferSize)?;
        *mac1 = self.mac1_key.mac(body, &[]);
        self.last_mac1_sent = Some(*mac1);
        *mac2 = if self.has_cookie(now_ns) {
            kdf::mac::<C>(self.cookie.as_bytes(), body, mac1)
        } else {
            [0; MAC_LEN]
        };
        Ok(())
    }

    /// Takes the cookie from a cookie reply (the caller found this peer by the
    /// reply's receiver index). Accepted only if it answers the last mac1 we
    /// sent, and only once; on failure nothing changes.
    pub fn consume_reply(&mut self, reply: &CookieReply, now_ns: u64) -> Result<(), Error> {
        let mac1 = self.last_mac1_sent.ok_or(Error::NoCookieExpected)?;
        let mut cookie = reply.encrypted_cookie;
        let key = &self.cookie_decryption_key;
        if !C::xaead_open(key, &reply.nonce, &mac1, &mut cookie, &reply.cookie_tag) {
            C::zeroize(&mut cookie);
            return Err(Error::Decrypt);
        }
        self.cookie = Cookie::take_from(&mut cookie);
        self.cookie_birthdate = Some(now_ns);
        self.last_mac1_sent = None;
        Ok(())
    }
}

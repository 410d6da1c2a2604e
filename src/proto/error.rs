// SPDX-License-Identifier: GPL-2.0
//! The error type of the cryptographic protocol core.

/// Why a message was refused or could not be produced. Every refusal of an
/// incoming message leaves all protocol state unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The bytes do not have the length or header of the expected message.
    Malformed,
    /// A buffer given by the caller is too small or of the wrong length.
    BufferSize,
    /// A Diffie-Hellman result was all zero (a low-order public key).
    LowOrderKey,
    /// An AEAD tag did not verify.
    Decrypt,
    /// The message does not fit the handshake state (e.g. a response with no
    /// initiation outstanding, or for another index).
    UnexpectedMessage,
    /// The initiation's static key is not this peer's.
    WrongPeer,
    /// The initiation's timestamp is not newer than the last accepted one.
    Replay,
    /// The initiation came less than MIN_INITIATION_INTERVAL after the last one.
    Flood,
    /// mac1 did not verify (host tests: the module drops such messages).
    #[cfg(feature = "testing")]
    InvalidMac,
    /// A cookie reply arrived with no mac1 outstanding.
    NoCookieExpected,
    /// The keypair is no longer valid (expired, exhausted or invalidated).
    KeyExpired,
    /// The counter is at or past REJECT_AFTER_MESSAGES.
    CounterExhausted,
    /// A data packet's counter was already seen or is too old (host tests:
    /// the module checks the replay window itself).
    #[cfg(feature = "testing")]
    CounterReplay,
    /// A Noise transport cipher's nonce would wrap (host tests: the module
    /// uses no Noise transport cipher).
    #[cfg(feature = "testing")]
    NonceExhausted,
}

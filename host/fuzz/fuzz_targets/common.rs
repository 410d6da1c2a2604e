//! Fixed keys and helpers shared by the fuzz targets.
#![allow(dead_code)]

use wg_proto::host::Host;
use wg_proto::proto::handshake::StaticIdentity;
use wg_proto::proto::secret::Key;

pub fn identity(seed: u8) -> StaticIdentity<Host> {
    let mut k = [0u8; 32];
    for (i, b) in k.iter_mut().enumerate() {
        *b = seed.wrapping_mul(29).wrapping_add(i as u8) ^ 0xa5;
    }
    StaticIdentity::new(Key::new(k))
}

/// Applies fuzzer bytes to a valid message: the first byte chooses between
/// replacing the message with the input and XOR-ing the input over it (so
/// that mutations of well-formed messages are explored too).
pub fn shape(valid: &[u8], input: &[u8]) -> Vec<u8> {
    match input.split_first() {
        Some((mode, rest)) if mode & 1 == 1 => {
            let mut m = valid.to_vec();
            for (d, s) in m.iter_mut().zip(rest.iter()) {
                *d ^= *s;
            }
            m
        }
        Some((_, rest)) => rest.to_vec(),
        None => Vec::new(),
    }
}

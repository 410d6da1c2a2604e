//! The responder's path for an initiation fed arbitrary bytes (or a valid
//! initiation with arbitrary bit flips): MAC check, parse, static key
//! decryption, peer match, timestamp decryption, replay and flood checks,
//! response creation. A refused message must leave the handshake unchanged.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use wg_proto::host::Host;
use wg_proto::proto::cookie::{CookieChecker, CookieMaker};
use wg_proto::proto::handshake::{read_initiation, PeerHandshake};
use wg_proto::proto::messages::{Initiation, INITIATION_LEN};
use wg_proto::testing::HandshakeState;

#[path = "common.rs"]
mod common;

fn valid_initiation() -> [u8; INITIATION_LEN] {
    let initiator = common::identity(1);
    let responder = common::identity(2);
    let mut ihs = PeerHandshake::<Host>::new(Some(&initiator), *responder.public_key(), None);
    let mut valid = ihs
        .create_initiation(&initiator, 77, (1_700_000_000, 0))
        .unwrap();
    CookieMaker::<Host>::new(responder.public_key())
        .add_macs(&mut valid, 0)
        .unwrap();
    valid
}

static VALID: OnceLock<[u8; INITIATION_LEN]> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let initiator = common::identity(1);
    let responder = common::identity(2);
    let msg = common::shape(VALID.get_or_init(valid_initiation), data);

    let mut checker = CookieChecker::<Host>::new(Some(responder.public_key()));
    let _ = checker.check(&msg, &[127, 0, 0, 1, 0, 1], 5, data.first() == Some(&3));

    let mut rhs = PeerHandshake::<Host>::new(Some(&responder), *initiator.public_key(), None);
    let Ok(parsed) = Initiation::parse(&msg) else {
        return;
    };
    let Ok(partial) = read_initiation(&responder, &parsed) else {
        return;
    };
    let before = *rhs.latest_timestamp();
    match rhs.consume_initiation(partial, 1_000_000_000) {
        Ok(()) => {
            assert_eq!(rhs.state(), HandshakeState::ConsumedInitiation);
            assert!(rhs.create_response(5).is_ok());
        }
        Err(_) => {
            assert_eq!(rhs.state(), HandshakeState::Zeroed);
            assert_eq!(rhs.latest_timestamp(), &before);
        }
    }
});

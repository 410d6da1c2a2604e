//! The initiator's path for a response fed arbitrary bytes (or a valid
//! response with bit flips): MAC check, parse, index match, Noise
//! decryption. A refused response must leave the handshake in flight.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use wg_proto::host::Host;
use wg_proto::proto::cookie::{CookieChecker, CookieMaker};
use wg_proto::proto::handshake::{read_initiation, PeerHandshake, StaticIdentity};
use wg_proto::proto::keypair::Keypair;
use wg_proto::proto::messages::{Initiation, Response, INITIATION_LEN, RESPONSE_LEN};
use wg_proto::proto::secret::Key;
use wg_proto::testing::HandshakeState;

#[path = "common.rs"]
mod common;

const PSK: [u8; 32] = [9; 32];

/// The initiator's handshake in flight, always the same (fixed ephemeral).
fn initiator_in_flight(
    initiator: &StaticIdentity<Host>,
    responder: &StaticIdentity<Host>,
) -> (PeerHandshake<Host>, [u8; INITIATION_LEN]) {
    let mut ihs = PeerHandshake::<Host>::new(Some(initiator), *responder.public_key(), Some(&PSK));
    let init = ihs
        .create_initiation_with_ephemeral(initiator, 77, (1_700_000_000, 0), Key::new([0x33; 32]))
        .unwrap();
    (ihs, init)
}

fn valid_response() -> [u8; RESPONSE_LEN] {
    let initiator = common::identity(1);
    let responder = common::identity(2);
    let (_, init) = initiator_in_flight(&initiator, &responder);
    let mut rhs = PeerHandshake::<Host>::new(Some(&responder), *initiator.public_key(), Some(&PSK));
    let partial = read_initiation(&responder, &Initiation::parse(&init).unwrap()).unwrap();
    rhs.consume_initiation(partial, 0).unwrap();
    let (mut valid, _) = rhs.create_response(88).unwrap();
    CookieMaker::<Host>::new(initiator.public_key())
        .add_macs(&mut valid, 0)
        .unwrap();
    valid
}

static VALID: OnceLock<[u8; RESPONSE_LEN]> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let initiator = common::identity(1);
    let responder = common::identity(2);
    let (mut ihs, _) = initiator_in_flight(&initiator, &responder);
    let msg = common::shape(VALID.get_or_init(valid_response), data);

    let checker = CookieChecker::<Host>::new(Some(initiator.public_key()));
    let _ = checker.check_mac1(&msg);

    let Ok(parsed) = Response::parse(&msg) else {
        return;
    };
    match ihs.consume_response(&initiator, &parsed) {
        Ok(keys) => {
            assert_eq!(parsed.receiver_index, 77);
            let kp = Keypair::<Host>::new(keys, 0);
            assert!(kp.reserve_send(0).is_ok());
        }
        Err(_) => assert_eq!(ihs.state(), HandshakeState::CreatedInitiation),
    }
});

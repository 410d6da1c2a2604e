//! Data messages fed arbitrary bytes (or a valid message with bit flips) to
//! a keypair's decryption, and arbitrary lengths and MTUs to encryption.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use wg_proto::host::Host;
use wg_proto::proto::handshake::{read_initiation, PeerHandshake};
use wg_proto::proto::keypair::{Keypair, SessionKeys};
use wg_proto::proto::messages::{DataHeader, Initiation, Response};
use wg_proto::testing::LocalKeypair;

#[path = "common.rs"]
mod common;

type Keys = (SessionKeys<Host>, SessionKeys<Host>);

fn session() -> Keys {
    let initiator = common::identity(1);
    let responder = common::identity(2);
    let mut ihs = PeerHandshake::<Host>::new(Some(&initiator), *responder.public_key(), None);
    let mut rhs = PeerHandshake::<Host>::new(Some(&responder), *initiator.public_key(), None);
    let init = ihs
        .create_initiation(&initiator, 77, (1_700_000_000, 0))
        .unwrap();
    rhs.consume_initiation(
        read_initiation(&responder, &Initiation::parse(&init).unwrap()).unwrap(),
        0,
    )
    .unwrap();
    let (resp, rkeys) = rhs.create_response(88).unwrap();
    let ikeys = ihs
        .consume_response(&initiator, &Response::parse(&resp).unwrap())
        .unwrap();
    (ikeys, rkeys)
}

static KEYS: OnceLock<Keys> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (ikeys, rkeys) = KEYS.get_or_init(session);
    let sender = Keypair::<Host>::new(ikeys.duplicate(), 0);
    let mut receiver = LocalKeypair::<Host>::new(rkeys.duplicate(), 0);

    // Encryption with lengths and MTU taken from the input.
    let len = data.first().map_or(0, |b| *b as usize * 7);
    let mtu = data.get(1).map_or(0, |b| *b as usize * 11);
    let mut buf = vec![0u8; 16 + len + 16 + 16];
    let valid = match sender.encrypt_packet(0, &mut buf, len, mtu) {
        Ok(n) => {
            assert!(n <= buf.len());
            assert!((n - 32) % 16 == 0 || mtu != 0);
            buf[..n].to_vec()
        }
        Err(_) => return,
    };
    let mut msg = common::shape(&valid, data.get(2..).unwrap_or(&[]));
    let before = DataHeader::parse(&msg);
    match receiver.decrypt_packet(0, &mut msg) {
        Ok((counter, n)) => {
            assert_eq!(Ok(counter), before.map(|h| h.counter));
            assert!(n + 32 <= msg.len());
            // A second delivery is a replay.
            let mut again = common::shape(&valid, data.get(2..).unwrap_or(&[]));
            assert!(receiver.decrypt_packet(0, &mut again).is_err());
        }
        Err(_) => {
            // Nothing was recorded: the genuine message still decrypts.
            let mut genuine = valid.clone();
            assert!(receiver.decrypt_packet(0, &mut genuine).is_ok());
        }
    }
});

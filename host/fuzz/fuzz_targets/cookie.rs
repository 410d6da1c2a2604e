//! Cookie replies fed arbitrary bytes (or a valid reply with bit flips) to
//! the per-peer cookie maker, and arbitrary handshake-sized bytes to the
//! device's MAC checker under load.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wg_proto::host::Host;
use wg_proto::proto::cookie::{CookieChecker, CookieMaker, MacCheck};
use wg_proto::proto::messages::{CookieReply, INITIATION_LEN};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let responder = common::identity(2);
    let src = [10, 0, 0, 1, 0x12, 0x34];
    let mut checker = CookieChecker::<Host>::new(Some(responder.public_key()));
    let mut maker = CookieMaker::<Host>::new(responder.public_key());
    let mut msg = [0u8; INITIATION_LEN];
    msg[0] = 1;
    maker.add_macs(&mut msg, 0).unwrap();
    let valid = checker.create_reply(&msg, 1, &src, 0).unwrap();
    let reply = common::shape(&valid, data);

    let had = maker.has_cookie(0);
    match CookieReply::parse(&reply) {
        Ok(r) => {
            if maker.consume_reply(&r, 0).is_ok() {
                assert!(maker.has_cookie(0));
                // The cookie it took yields mac2 the checker accepts.
                maker.add_macs(&mut msg, 0).unwrap();
                let v = CookieReply::parse(&valid).unwrap();
                if (r.encrypted_cookie, r.cookie_tag) == (v.encrypted_cookie, v.cookie_tag) {
                    assert_eq!(
                        checker.check(&msg, &src, 0, true),
                        MacCheck::ValidWithCookie
                    );
                }
            } else {
                assert_eq!(maker.has_cookie(0), had);
            }
        }
        Err(_) => assert!(!maker.has_cookie(0)),
    }
    // Arbitrary bytes through the checker.
    let _ = checker.check(data, &src, 1, true);
    let _ = checker.check(data, data, 2, false);
});

//! Unit tests of the pieces: message parsing, TAI64N, padding, KDF, low-order
//! keys, keypair lifetimes.
mod common;
use common::*;
use wg_proto::host::Host;
use wg_proto::proto::constants::*;
use wg_proto::proto::cookie::CookieMaker;
use wg_proto::proto::error::Error;
use wg_proto::proto::handshake::{read_initiation, PeerHandshake, StaticIdentity};
use wg_proto::proto::kdf;
use wg_proto::proto::keypair::{padding_len, Keypair, Keypairs};
use wg_proto::proto::messages::*;
use wg_proto::proto::replay::ReplayWindow;
use wg_proto::proto::secret::Key;
use wg_proto::proto::tai64n;
use wg_proto::testing::{message_type, HandshakeState, MessageType};

#[test]
fn message_type_by_header_and_length() {
    let cases = [
        (1u8, INITIATION_LEN, MessageType::Initiation),
        (2, RESPONSE_LEN, MessageType::Response),
        (3, COOKIE_REPLY_LEN, MessageType::CookieReply),
    ];
    for (t, len, ty) in cases {
        for n in 0..200 {
            let mut p = vec![0u8; n];
            if n > 0 {
                p[0] = t;
            }
            let expect = if n == len { Some(ty) } else { None };
            assert_eq!(message_type(&p), expect, "type {t} len {n}");
        }
        // Reserved bytes must be zero.
        for r in 1..4 {
            let mut p = vec![0u8; len];
            p[0] = t;
            p[r] = 1;
            assert_eq!(message_type(&p), None);
        }
    }
    for n in 0..100 {
        let mut p = vec![0u8; n];
        if n > 0 {
            p[0] = 4;
        }
        assert_eq!(
            message_type(&p),
            (n >= DATA_MIN_LEN).then_some(MessageType::Data)
        );
        assert_eq!(DataHeader::parse(&p).is_ok(), n >= DATA_MIN_LEN);
    }
    for t in [0u8, 5, 255] {
        assert_eq!(message_type(&[t, 0, 0, 0].repeat(37)), None);
    }
}

#[test]
fn data_receiver_index_only_of_data_messages() {
    let h = DataHeader {
        receiver_index: 0xdead_beef,
        counter: 7,
    }
    .encode();
    let head: [u8; 8] = h[..8].try_into().unwrap();
    for len in 0..100 {
        let want = (len >= DATA_MIN_LEN).then_some(0xdead_beef);
        assert_eq!(data_receiver_index(&head, len), want, "len {len}");
    }
    // Another type, or reserved bytes set: never.
    for (i, v) in [(0, 1u8), (0, 3), (0, 5), (1, 1), (2, 1), (3, 0x80)] {
        let mut bad = head;
        bad[i] = if i == 0 { v } else { bad[i] | v };
        assert_eq!(data_receiver_index(&bad, 1400), None, "byte {i} = {v}");
    }
    for len in [INITIATION_LEN, RESPONSE_LEN, COOKIE_REPLY_LEN] {
        let mut hs = head;
        hs[0] = 1;
        assert_eq!(data_receiver_index(&hs, len), None);
    }
}

#[test]
fn parse_and_encode_roundtrip() {
    let mut bytes = [0u8; INITIATION_LEN];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = i as u8;
    }
    bytes[..4].copy_from_slice(&[1, 0, 0, 0]);
    let m = Initiation::parse(&bytes).unwrap();
    assert_eq!(m.sender_index, u32::from_le_bytes([4, 5, 6, 7]));
    assert_eq!(m.ephemeral[0], 8);
    assert_eq!(m.mac2[15], 147);
    assert_eq!(m.encode(), bytes);
    assert!(Initiation::parse(&bytes[..147]).is_err());
    assert!(Response::parse(&bytes).is_err());

    let mut r = [0u8; RESPONSE_LEN];
    r[0] = 2;
    r[8] = 0xaa;
    let m = Response::parse(&r).unwrap();
    assert_eq!(m.receiver_index, 0xaa);
    assert_eq!(m.encode(), r);

    let mut c = [0u8; COOKIE_REPLY_LEN];
    c[0] = 3;
    c[63] = 9;
    let m = CookieReply::parse(&c).unwrap();
    assert_eq!(m.cookie_tag[15], 9);
    assert_eq!(m.encode(), c);

    let h = DataHeader {
        receiver_index: 0x01020304,
        counter: 0x1122334455667788,
    };
    let mut d = h.encode().to_vec();
    assert_eq!(&d[..4], &[4, 0, 0, 0]);
    assert_eq!(&d[4..8], &[4, 3, 2, 1]);
    d.extend_from_slice(&[0; 16]);
    assert_eq!(DataHeader::parse(&d).unwrap(), h);
}

#[test]
fn tai64n_format_and_rounding() {
    assert_eq!(tai64n::NSEC_GRANULARITY, 1 << 24);
    let t = tai64n::tai64n(0, 0);
    assert_eq!(t, [0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0]);
    let t = tai64n::tai64n(1, (1 << 24) + 5);
    assert_eq!(&t[8..], &(1u32 << 24).to_be_bytes());
    assert_eq!(&t[..8], &0x400000000000000bu64.to_be_bytes());
    // Within a granule: equal; across: newer; seconds dominate.
    assert_eq!(tai64n::tai64n(5, 1), tai64n::tai64n(5, (1 << 24) - 1));
    assert!(tai64n::tai64n(5, 1 << 24) > tai64n::tai64n(5, 0));
    assert!(tai64n::tai64n(6, 0) > tai64n::tai64n(5, 999_999_999));
    assert!(tai64n::tai64n(5, 0) <= tai64n::tai64n(5, 0));
}

#[test]
fn padding_as_the_c_driver() {
    assert_eq!(padding_len(0, 1420), 0);
    assert_eq!(padding_len(1, 1420), 15);
    assert_eq!(padding_len(16, 1420), 0);
    assert_eq!(padding_len(17, 1420), 15);
    assert_eq!(padding_len(1400, 1420), 8);
    assert_eq!(padding_len(1410, 1420), 10, "capped at the MTU");
    assert_eq!(padding_len(1415, 1420), 5, "capped at the MTU");
    assert_eq!(padding_len(1420, 1420), 0);
    assert_eq!(
        padding_len(1421, 1420),
        15,
        "over the MTU: padded as len % mtu"
    );
    assert_eq!(padding_len(1419, 0), 5, "no MTU: plain alignment");
    assert_eq!(padding_len(1425, 0), 15);
    assert_eq!(padding_len(usize::MAX, 0), 0);
    assert_eq!(
        padding_len(usize::MAX, 1420),
        padding_len(usize::MAX % 1420, 1420)
    );
}

#[test]
fn hmac_and_kdf_match_rfc2104() {
    use blake2::Blake2s256;
    use hmac::{Mac, SimpleHmac};
    let key = [0x0bu8; 32];
    let data = b"Hi There";
    let mut m = <SimpleHmac<Blake2s256> as Mac>::new_from_slice(&key).unwrap();
    m.update(data);
    let expect: [u8; 32] = m.finalize().into_bytes().into();
    assert_eq!(kdf::hmac::<Host>(&key, data, &[]).as_bytes(), &expect);
    // Long keys are hashed.
    let long = [7u8; 100];
    let mut m = <SimpleHmac<Blake2s256> as Mac>::new_from_slice(&long).unwrap();
    m.update(data);
    let expect: [u8; 32] = m.finalize().into_bytes().into();
    assert_eq!(
        kdf::hmac::<Host>(&long, &data[..3], &data[3..]).as_bytes(),
        &expect
    );
    // Kdf chain: t1 = HMAC(t0, 1), t2 = HMAC(t0, t1 || 2), t3 = HMAC(t0, t2 || 3).
    let t0 = kdf::hmac::<Host>(&key, data, &[]);
    let t1 = kdf::hmac::<Host>(t0.as_bytes(), &[1], &[]);
    let t2 = kdf::hmac::<Host>(t0.as_bytes(), t1.as_bytes(), &[2]);
    let t3 = kdf::hmac::<Host>(t0.as_bytes(), t2.as_bytes(), &[3]);
    let (a, b, c) = kdf::kdf3::<Host>(&key, data);
    assert_eq!(
        (a.as_bytes(), b.as_bytes(), c.as_bytes()),
        (t1.as_bytes(), t2.as_bytes(), t3.as_bytes())
    );
    let (a2, b2) = kdf::kdf2::<Host>(&key, data);
    assert_eq!(
        (a2.as_bytes(), b2.as_bytes()),
        (t1.as_bytes(), t2.as_bytes())
    );
    assert_eq!(kdf::kdf1::<Host>(&key, data).as_bytes(), t1.as_bytes());
}

/// Points of small order on Curve25519 (their DH result is all zero).
const LOW_ORDER: [&str; 3] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
];

#[test]
fn low_order_keys_are_refused() {
    let me = StaticIdentity::<Host>::new(Key::new(key(1)));
    let them = StaticIdentity::<Host>::new(Key::new(key(2)));
    for lo in LOW_ORDER {
        let lo = arr32(&hex(lo));
        // A peer configured with a low-order static key: no initiation.
        let mut hs = PeerHandshake::<Host>::new(Some(&me), lo, None);
        assert_eq!(
            hs.create_initiation(&me, 1, (100, 0)),
            Err(Error::LowOrderKey)
        );
        assert_eq!(hs.state(), HandshakeState::Zeroed);

        // An initiation with a low-order ephemeral key.
        let mut hs = PeerHandshake::<Host>::new(Some(&me), *them.public_key(), None);
        let mut m = Initiation::parse(&hs.create_initiation(&me, 1, (100, 0)).unwrap()).unwrap();
        m.ephemeral = lo;
        assert_eq!(read_initiation(&them, &m).err(), Some(Error::LowOrderKey));

        // A response with a low-order ephemeral key: refused, state kept.
        let mut responder = PeerHandshake::<Host>::new(Some(&them), *me.public_key(), None);
        let init = Initiation::parse(&hs.create_initiation(&me, 7, (200, 0)).unwrap()).unwrap();
        responder
            .consume_initiation(read_initiation(&them, &init).unwrap(), 0)
            .unwrap();
        let (resp, _) = responder.create_response(9).unwrap();
        let mut resp = Response::parse(&resp).unwrap();
        resp.ephemeral = lo;
        assert_eq!(
            hs.consume_response(&me, &resp).err(),
            Some(Error::LowOrderKey)
        );
        assert_eq!(hs.state(), HandshakeState::CreatedInitiation);
    }
}

#[test]
fn no_identity_means_no_handshake() {
    let me = StaticIdentity::<Host>::new(Key::new(key(1)));
    let them = StaticIdentity::<Host>::new(Key::new(key(2)));
    // A peer set up before the device had a key: the static-static DH is
    // missing, so no initiation can be made until set_identity.
    let mut hs = PeerHandshake::<Host>::new(None, *them.public_key(), None);
    assert_eq!(
        hs.create_initiation(&me, 1, (100, 0)),
        Err(Error::LowOrderKey)
    );
    hs.set_identity(Some(&me));
    assert!(hs.create_initiation(&me, 1, (100, 0)).is_ok());
    // Changing the identity abandons the handshake in flight.
    hs.set_identity(Some(&me));
    assert_eq!(hs.state(), HandshakeState::Zeroed);
}

#[test]
fn response_needs_matching_state_and_index() {
    let me = StaticIdentity::<Host>::new(Key::new(key(1)));
    let them = StaticIdentity::<Host>::new(Key::new(key(2)));
    let mut i = PeerHandshake::<Host>::new(Some(&me), *them.public_key(), None);
    let mut r = PeerHandshake::<Host>::new(Some(&them), *me.public_key(), None);
    assert_eq!(r.create_response(3).err(), Some(Error::UnexpectedMessage));
    let init = Initiation::parse(&i.create_initiation(&me, 5, (100, 0)).unwrap()).unwrap();
    r.consume_initiation(read_initiation(&them, &init).unwrap(), 0)
        .unwrap();
    assert_eq!(r.state(), HandshakeState::ConsumedInitiation);
    let (resp, rkeys) = r.create_response(6).unwrap();
    let mut resp = Response::parse(&resp).unwrap();
    assert_eq!(resp.receiver_index, 5);
    assert_eq!(resp.sender_index, 6);
    // Wrong receiver index: refused, state kept.
    resp.receiver_index = 4;
    assert_eq!(
        i.consume_response(&me, &resp).err(),
        Some(Error::UnexpectedMessage)
    );
    resp.receiver_index = 5;
    // Tampered tag: refused, state kept; then the genuine one works once.
    let mut bad = resp.clone();
    bad.encrypted_nothing[0] ^= 1;
    assert_eq!(i.consume_response(&me, &bad).err(), Some(Error::Decrypt));
    let ikeys = i.consume_response(&me, &resp).unwrap();
    assert_eq!(ikeys.sending_key(), rkeys.receiving_key());
    assert_eq!(ikeys.local_index, 5);
    assert_eq!(ikeys.remote_index, 6);
    assert!(ikeys.initiator && !rkeys.initiator);
    assert_eq!(
        i.consume_response(&me, &resp).err(),
        Some(Error::UnexpectedMessage)
    );
}

/// The upstream fix "noise: reject response consumption after intermediate
/// initiation": a response to an initiation that a later one of ours
/// superseded is refused and changes nothing, whether the later initiation
/// took a new index (the driver's case) or, by chance, the same one again
/// (its ephemeral key differs, so the response cannot authenticate); the
/// response to the current initiation still completes it. The whole check
/// and the commit are one `&mut self` call, made under the peer's handshake
/// lock by the driver: no other initiation can slip in between them.
#[test]
fn response_to_superseded_initiation_is_refused() {
    let me = StaticIdentity::<Host>::new(Key::new(key(1)));
    let them = StaticIdentity::<Host>::new(Key::new(key(2)));
    let answer = |init: &[u8; INITIATION_LEN], ts: u64| {
        let mut r = PeerHandshake::<Host>::new(Some(&them), *me.public_key(), None);
        let init = Initiation::parse(init).unwrap();
        r.consume_initiation(read_initiation(&them, &init).unwrap(), ts)
            .unwrap();
        let (resp, keys) = r.create_response(9).unwrap();
        (Response::parse(&resp).unwrap(), keys)
    };
    for same_index in [false, true] {
        let mut i = PeerHandshake::<Host>::new(Some(&me), *them.public_key(), None);
        let first = i.create_initiation(&me, 5, (100, 0)).unwrap();
        let (old_resp, _) = answer(&first, 0);
        // An intermediate initiation before the response arrives.
        let second_index = if same_index { 5 } else { 6 };
        let second = i.create_initiation(&me, second_index, (101, 0)).unwrap();
        assert_eq!(i.local_index(), Some(second_index));
        let want = if same_index {
            Error::Decrypt
        } else {
            Error::UnexpectedMessage
        };
        assert_eq!(i.consume_response(&me, &old_resp).err(), Some(want));
        // Nothing changed: the second initiation still completes.
        assert_eq!(i.state(), HandshakeState::CreatedInitiation);
        assert_eq!(i.local_index(), Some(second_index));
        let (new_resp, rkeys) = answer(&second, 0);
        let ikeys = i.consume_response(&me, &new_resp).unwrap();
        assert_eq!(ikeys.sending_key(), rkeys.receiving_key());
        assert_eq!(ikeys.local_index, second_index);
        assert_eq!(i.state(), HandshakeState::Zeroed);
        // And the old response cannot complete anything afterwards either.
        assert_eq!(
            i.consume_response(&me, &old_resp).err(),
            Some(Error::UnexpectedMessage)
        );
    }
}

fn keypair_pair(now: u64) -> (Keypair<Host>, Keypair<Host>) {
    let me = StaticIdentity::<Host>::new(Key::new(key(1)));
    let them = StaticIdentity::<Host>::new(Key::new(key(2)));
    let mut i = PeerHandshake::<Host>::new(Some(&me), *them.public_key(), None);
    let mut r = PeerHandshake::<Host>::new(Some(&them), *me.public_key(), None);
    let init = Initiation::parse(&i.create_initiation(&me, 5, (100, 0)).unwrap()).unwrap();
    r.consume_initiation(read_initiation(&them, &init).unwrap(), now)
        .unwrap();
    let (resp, rkeys) = r.create_response(6).unwrap();
    let ikeys = i
        .consume_response(&me, &Response::parse(&resp).unwrap())
        .unwrap();
    (Keypair::new(ikeys, now), Keypair::new(rkeys, now))
}

#[test]
fn keypair_lifetime() {
    let t = 1000 * NSEC_PER_SEC;
    let (ki, kr) = keypair_pair(t);
    let mut w = ReplayWindow::new();
    let mut buf = vec![0u8; 64];
    // Sending works until REJECT_AFTER_TIME.
    let n = ki
        .encrypt_packet(t + REJECT_AFTER_TIME - 1, &mut buf, 20, 1420)
        .unwrap();
    assert_eq!(n, DATA_HEADER_LEN + 32 + 16);
    let mut pkt = buf[..n].to_vec();
    assert!(kr
        .decrypt_packet(t + REJECT_AFTER_TIME - 1, &mut pkt.clone(), &mut w)
        .is_ok());
    assert_eq!(
        kr.decrypt_packet(t + REJECT_AFTER_TIME, &mut pkt, &mut ReplayWindow::new()),
        Err(Error::KeyExpired)
    );
    assert_eq!(
        ki.encrypt_packet(t + REJECT_AFTER_TIME, &mut buf, 20, 1420),
        Err(Error::KeyExpired)
    );
    assert!(!ki.can_send(t));
    // Rekey rules.
    let (ki, kr) = keypair_pair(t);
    assert!(!ki.needs_rekey_on_send(t + REKEY_AFTER_TIME - 1));
    assert!(ki.needs_rekey_on_send(t + REKEY_AFTER_TIME));
    assert!(!kr.needs_rekey_on_send(t + REKEY_AFTER_TIME));
    assert!(!ki.needs_rekey_on_receive(t + REKEY_ON_RECEIVE_AFTER - 1));
    assert!(ki.needs_rekey_on_receive(t + REKEY_ON_RECEIVE_AFTER));
    assert!(!kr.needs_rekey_on_receive(t + REKEY_ON_RECEIVE_AFTER));
    // A buffer too small uses no counter.
    let mut small = vec![0u8; 40];
    assert_eq!(
        ki.encrypt_packet(t, &mut small, 20, 1420),
        Err(Error::BufferSize)
    );
    assert_eq!(ki.sending_counter(), 0);
    // Scatter-gather style: reserve, then seal with the key.
    let counter = ki.reserve_send(t).unwrap();
    assert_eq!(counter, 0);
    let mut body = *b"0123456789abcdef";
    let tag = <Host as wg_proto::proto::platform::Crypto>::aead_seal(
        ki.sending_key(),
        counter,
        &[],
        &mut body,
    );
    let receiver_index = ki.remote_index();
    let mut msg = DataHeader {
        receiver_index,
        counter,
    }
    .encode()
    .to_vec();
    msg.extend_from_slice(&body);
    msg.extend_from_slice(&tag);
    let (c, len) = kr
        .decrypt_packet(t, &mut msg, &mut ReplayWindow::new())
        .unwrap();
    assert_eq!((c, len), (0, 16));
    assert_eq!(&msg[16..32], b"0123456789abcdef");
}

#[test]
fn keypairs_expire_and_clear() {
    let t = 1000 * NSEC_PER_SEC;
    let (ki, kr) = keypair_pair(t);
    let mut kps: Keypairs<Host, Box<Keypair<Host>>> = Keypairs::new();
    assert!(kps.insert(Box::new(kr)).iter().all(|x| x.is_none()));
    assert!(kps.next().is_some());
    assert!(kps.insert(Box::new(ki)).iter().all(|x| x.is_none()));
    // The initiator keypair with a pending next: next demoted to previous.
    assert!(kps.next().is_none());
    assert!(kps.previous().is_some());
    kps.expire_sending();
    assert!(!kps.current().unwrap().can_send(t));
    assert!(kps.get_mut(5).is_some());
    assert!(kps.get_mut(6).is_some());
    assert!(kps.get_mut(7).is_none());
    assert!(!kps.received_with(6).0, "only next is confirmed");
    let all = kps.clear();
    assert_eq!(all.iter().flatten().count(), 2);
    assert!(kps.current().is_none());
}

#[test]
fn cookie_maker_needs_room_for_macs() {
    let mut m = CookieMaker::<Host>::new(&[9; 32]);
    assert_eq!(m.add_macs(&mut [0u8; 31], 0), Err(Error::BufferSize));
    assert!(m.add_macs(&mut [0u8; 32], 0).is_ok());
}

#[test]
fn handshake_index_ownership() {
    let me = StaticIdentity::<Host>::new(Key::new(key(1)));
    let them = StaticIdentity::<Host>::new(Key::new(key(2)));
    let mut a = PeerHandshake::<Host>::new(Some(&me), *them.public_key(), None);
    let mut b = PeerHandshake::<Host>::new(Some(&them), *me.public_key(), None);
    assert_eq!(a.local_index(), None);
    let ia = Initiation::parse(&a.create_initiation(&me, 10, (100, 0)).unwrap()).unwrap();
    assert_eq!(a.local_index(), Some(10));
    // A retransmission under a new index: the new one names the handshake.
    let _ = a.create_initiation(&me, 11, (101, 0)).unwrap();
    assert_eq!(a.local_index(), Some(11));
    // Crossing initiations: a consumes b's while its own is in flight; the
    // index stays registered until a's response supersedes it.
    let ib = Initiation::parse(&b.create_initiation(&them, 20, (100, 0)).unwrap()).unwrap();
    a.consume_initiation(read_initiation(&me, &ib).unwrap(), 0)
        .unwrap();
    assert_eq!(a.local_index(), Some(11));
    let (_, keys) = a.create_response(12).unwrap();
    assert_eq!(keys.local_index, 12);
    assert_eq!(a.local_index(), None);
    // clear() and set_identity() hand back the index they drop.
    let _ = ia;
    let _ = a.create_initiation(&me, 13, (102, 0)).unwrap();
    assert_eq!(a.clear(), Some(13));
    assert_eq!(a.clear(), None);
    let _ = a.create_initiation(&me, 14, (103, 0)).unwrap();
    assert_eq!(a.set_identity(Some(&me)), Some(14));
}

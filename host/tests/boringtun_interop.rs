//! Live interoperability with boringtun's `noise::Tunn`, in memory: handshakes
//! in both roles, data both ways, rekeying, cookie replies under load in both
//! directions, with and without a preshared key, and refusal of wrong keys.
mod common;
use boringtun::noise::rate_limiter::RateLimiter;
use boringtun::noise::{Tunn, TunnResult};
use boringtun::x25519::{PublicKey, StaticSecret};
use common::*;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use wg_proto::proto::constants::*;
use wg_proto::proto::error::Error;
use wg_proto::proto::messages::*;
use wg_proto::testing::{message_type, MessageType};

/// Where the boringtun side sends from, as our cookie checker sees it.
const BT_SRC: [u8; 6] = [127, 0, 0, 2, 0xca, 0x6c];
/// Where our side sends from, as boringtun sees it.
const OUR_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

struct Bt {
    tunn: Tunn,
    public: [u8; 32],
}

/// A boringtun peer with private key `key(20)` that believes our public key is
/// `our_public`; `limit` is its rate limiter's handshake budget (0: always
/// under load).
fn boringtun(our_public: [u8; 32], psk: Option<[u8; 32]>, limit: u64) -> Bt {
    let secret = StaticSecret::from(key(20));
    let public = PublicKey::from(&secret);
    let rl = Arc::new(RateLimiter::new(&public, limit));
    let tunn = Tunn::new(secret, PublicKey::from(our_public), psk, None, 7, Some(rl));
    Bt {
        tunn,
        public: *public.as_bytes(),
    }
}

fn bt_public() -> [u8; 32] {
    *PublicKey::from(&StaticSecret::from(key(20))).as_bytes()
}

/// Feeds a datagram to boringtun; returns what it wants to send, if anything.
fn bt_recv(bt: &mut Bt, datagram: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut dst = vec![0u8; 2048];
    match bt.tunn.decapsulate(Some(OUR_ADDR), datagram, &mut dst) {
        TunnResult::WriteToNetwork(p) => Ok(Some(p.to_vec())),
        TunnResult::Done => Ok(None),
        TunnResult::Err(e) => Err(format!("{e:?}")),
        other => Err(format!("unexpected {other:?}")),
    }
}

/// Feeds a data message to boringtun; returns the decrypted IP packet.
fn bt_recv_data(bt: &mut Bt, datagram: &[u8]) -> Vec<u8> {
    let mut dst = vec![0u8; 2048];
    match bt.tunn.decapsulate(Some(OUR_ADDR), datagram, &mut dst) {
        TunnResult::WriteToTunnelV4(p, _) => p.to_vec(),
        other => panic!("expected a tunnel packet, got {other:?}"),
    }
}

fn bt_send(bt: &mut Bt, packet: &[u8]) -> Vec<u8> {
    let mut dst = vec![0u8; 2048];
    match bt.tunn.encapsulate(packet, &mut dst) {
        TunnResult::WriteToNetwork(p) => p.to_vec(),
        other => panic!("expected a data message, got {other:?}"),
    }
}

fn bt_initiate(bt: &mut Bt, force: bool) -> Vec<u8> {
    let mut dst = vec![0u8; 2048];
    match bt.tunn.format_handshake_initiation(&mut dst, force) {
        TunnResult::WriteToNetwork(p) => p.to_vec(),
        other => panic!("expected an initiation, got {other:?}"),
    }
}

fn reply(o: Result<Option<Outcome>, Error>) -> Vec<u8> {
    match o {
        Ok(Some(Outcome::Reply(r))) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn data(o: Result<Option<Outcome>, Error>) -> Vec<u8> {
    match o {
        Ok(Some(Outcome::Data(d))) => d,
        other => panic!("expected data, got {other:?}"),
    }
}

fn ours(psk: Option<[u8; 32]>) -> Node {
    Node::new(key(10), bt_public(), psk)
}

/// Data both ways, several sizes; checks the receiver indices in use.
fn exchange(node: &mut Node, bt: &mut Bt, seed: u8) {
    for (i, n) in [20usize, 21, 100, 1000, 1420].into_iter().enumerate() {
        let p = ipv4_packet(n, seed.wrapping_add(i as u8));
        let m = node.send(&p).unwrap();
        assert_eq!(
            DataHeader::parse(&m).unwrap().receiver_index,
            node.keypairs.current().unwrap().remote_index()
        );
        assert_eq!(bt_recv_data(bt, &m), p, "ours -> boringtun, {n} bytes");
        let m = bt_send(bt, &p);
        assert_eq!(
            trim_ipv4(&data(node.receive(&m, &BT_SRC))),
            &p[..],
            "boringtun -> ours, {n} bytes"
        );
    }
}

/// We initiate; boringtun responds; our keepalive confirms.
fn we_initiate(node: &mut Node, bt: &mut Bt) {
    let init = node.initiate();
    let resp = bt_recv(bt, &init).unwrap().expect("a response");
    assert_eq!(message_type(&resp), Some(MessageType::Response));
    let keepalive = reply(node.receive(&resp, &BT_SRC));
    assert_eq!(bt_recv(bt, &keepalive), Ok(None));
}

/// boringtun initiates; we respond; its keepalive confirms our next keypair.
fn bt_initiates(node: &mut Node, bt: &mut Bt, force: bool) {
    let init = bt_initiate(bt, force);
    let resp = reply(node.receive(&init, &BT_SRC));
    assert!(node.keypairs.next().is_some());
    let keepalive = bt_recv(bt, &resp).unwrap().expect("a keepalive");
    assert_eq!(data(node.receive(&keepalive, &BT_SRC)), Vec::<u8>::new());
    assert!(
        node.keypairs.next().is_none(),
        "the keepalive confirmed the keypair"
    );
}

#[test]
fn we_initiate_then_data_and_rekey() {
    for psk in [None, Some([0x42u8; 32])] {
        let mut node = ours(psk);
        let mut bt = boringtun(node.public(), psk, 100);
        assert_eq!(bt.public, node.hs.remote_static().to_owned());
        we_initiate(&mut node, &mut bt);
        exchange(&mut node, &mut bt, 1);
        let first = node.keypairs.current().unwrap().local_index();

        // Rekey from our side.
        node.advance(REKEY_AFTER_TIME);
        assert!(node
            .keypairs
            .current()
            .unwrap()
            .needs_rekey_on_send(node.now));
        we_initiate(&mut node, &mut bt);
        let second = node.keypairs.current().unwrap().local_index();
        assert_ne!(first, second);
        assert_eq!(node.keypairs.previous().unwrap().local_index(), first);
        exchange(&mut node, &mut bt, 2);

        // Rekey from boringtun's side.
        node.advance(NSEC_PER_SEC);
        bt_initiates(&mut node, &mut bt, true);
        let third = node.keypairs.current().unwrap().local_index();
        assert_ne!(third, second);
        exchange(&mut node, &mut bt, 3);
    }
}

#[test]
fn boringtun_initiates_then_data_and_rekey() {
    for psk in [None, Some([0x17u8; 32])] {
        let mut node = ours(psk);
        let mut bt = boringtun(node.public(), psk, 100);
        bt_initiates(&mut node, &mut bt, false);
        exchange(&mut node, &mut bt, 4);
        let first = node.keypairs.current().unwrap().local_index();
        // boringtun rekeys.
        node.advance(NSEC_PER_SEC);
        std::thread::sleep(std::time::Duration::from_millis(2));
        bt_initiates(&mut node, &mut bt, true);
        assert_ne!(node.keypairs.current().unwrap().local_index(), first);
        assert_eq!(node.keypairs.previous().unwrap().local_index(), first);
        exchange(&mut node, &mut bt, 5);
        // We rekey.
        node.advance(NSEC_PER_SEC);
        we_initiate(&mut node, &mut bt);
        exchange(&mut node, &mut bt, 6);
    }
}

#[test]
fn boringtun_under_load_sends_us_a_cookie() {
    for psk in [None, Some([3u8; 32])] {
        let mut node = ours(psk);
        // Limit 0: boringtun is under load for every handshake message.
        let mut bt = boringtun(node.public(), psk, 0);
        let init = node.initiate();
        let cookie = bt_recv(&mut bt, &init).unwrap().expect("a cookie reply");
        assert_eq!(message_type(&cookie), Some(MessageType::CookieReply));
        assert_eq!(
            node.receive(&cookie, &BT_SRC),
            Ok(Some(Outcome::CookieTaken))
        );
        assert!(node.maker.has_cookie(node.now));
        // The retransmission carries mac2, and boringtun answers it.
        node.advance(REKEY_TIMEOUT);
        we_initiate(&mut node, &mut bt);
        exchange(&mut node, &mut bt, 7);
        // A second cookie reply (replayed) is refused: no mac1 outstanding.
        assert_eq!(
            node.receive(&cookie, &BT_SRC),
            Err(Error::UnexpectedMessage)
        );
    }
}

#[test]
fn we_under_load_send_boringtun_a_cookie() {
    for psk in [None, Some([4u8; 32])] {
        let mut node = ours(psk);
        let mut bt = boringtun(node.public(), psk, 100);
        node.under_load = true;
        let init = bt_initiate(&mut bt, false);
        let cookie = reply(node.receive(&init, &BT_SRC));
        assert_eq!(message_type(&cookie), Some(MessageType::CookieReply));
        assert!(
            node.keypairs.next().is_none(),
            "nothing processed without mac2"
        );
        assert_eq!(bt_recv(&mut bt, &cookie), Ok(None));
        // boringtun's retransmission carries mac2: we process it.
        node.advance(REKEY_TIMEOUT);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let init2 = bt_initiate(&mut bt, true);
        assert_ne!(&init2[132..], &[0u8; 16], "boringtun added mac2");
        let resp = reply(node.receive(&init2, &BT_SRC));
        assert_eq!(message_type(&resp), Some(MessageType::Response));
        let keepalive = bt_recv(&mut bt, &resp).unwrap().expect("a keepalive");
        assert_eq!(data(node.receive(&keepalive, &BT_SRC)), Vec::<u8>::new());
        exchange(&mut node, &mut bt, 8);
        // From another source port the cookie does not fit.
        node.advance(NSEC_PER_SEC);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let init3 = bt_initiate(&mut bt, true);
        let mut other = BT_SRC;
        other[5] ^= 1;
        let r = reply(node.receive(&init3, &other));
        assert_eq!(message_type(&r), Some(MessageType::CookieReply));
    }
}

#[test]
fn wrong_keys_are_refused_without_reply() {
    // boringtun believes our public key is someone else's: mac1 fails here.
    let mut node = ours(None);
    let stranger = Node::new(key(11), bt_public(), None).public();
    let mut bt = boringtun(stranger, None, 100);
    let init = bt_initiate(&mut bt, false);
    assert_eq!(node.receive(&init, &BT_SRC), Err(Error::InvalidMac));
    // We believe boringtun's key is someone else's: boringtun refuses.
    let mut node = Node::new(key(10), stranger, None);
    let mut bt = boringtun(node.public(), None, 100);
    let init = node.initiate();
    assert!(bt_recv(&mut bt, &init).is_err());
    // boringtun knows us but our record of it is another key: refused after
    // the static key decrypted, no response.
    let init = bt_initiate(&mut bt, false);
    assert_eq!(node.receive(&init, &BT_SRC), Err(Error::WrongPeer));
    assert!(node.keypairs.next().is_none());
}

#[test]
fn wrong_preshared_key_is_refused_without_reply() {
    for (our_psk, bt_psk) in [
        (Some([1u8; 32]), Some([2u8; 32])),
        (None, Some([2u8; 32])),
        (Some([1u8; 32]), None),
    ] {
        // We initiate: boringtun answers (the initiation does not depend on
        // the PSK), we refuse the response and send nothing.
        let mut node = ours(our_psk);
        let mut bt = boringtun(node.public(), bt_psk, 100);
        let init = node.initiate();
        let resp = bt_recv(&mut bt, &init).unwrap().expect("a response");
        assert_eq!(node.receive(&resp, &BT_SRC), Err(Error::Decrypt));
        assert!(node.keypairs.current().is_none());
        // boringtun initiates: we answer, boringtun refuses and sends nothing;
        // our keypair is never confirmed.
        let mut node = ours(our_psk);
        let mut bt = boringtun(node.public(), bt_psk, 100);
        let init = bt_initiate(&mut bt, false);
        let resp = reply(node.receive(&init, &BT_SRC));
        assert!(bt_recv(&mut bt, &resp).is_err());
        assert!(node.keypairs.current().is_none());
    }
}

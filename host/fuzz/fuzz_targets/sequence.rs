//! Two peers of the protocol core driven through an arbitrary sequence of
//! events: initiations from either side, deliveries, drops, replays and
//! corruptions of packets in flight, clock jumps, load on either side, data.
//! Checks that nothing panics, that whatever both sides derived for the same
//! session agrees, and that every data message that is accepted carries what
//! was sent.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use wg_proto::host::Host;
use wg_proto::proto::cookie::{self, CookieChecker, CookieMaker, MacCheck};
use wg_proto::proto::handshake::{read_initiation, PeerHandshake, StaticIdentity};
use wg_proto::proto::keypair::Keypairs;
use wg_proto::proto::messages::*;
use wg_proto::testing::LocalKeypair;
use wg_proto::testing::{message_type, MessageType};

#[path = "common.rs"]
mod common;

struct Side {
    id: StaticIdentity<Host>,
    hs: PeerHandshake<Host>,
    maker: CookieMaker<Host>,
    checker: CookieChecker<Host>,
    kps: Keypairs<Host, Box<LocalKeypair<Host>>>,
    now: u64,
    wall: u64,
    load: bool,
    next_index: u32,
    src: [u8; 6],
}

impl Side {
    fn new(
        id: StaticIdentity<Host>,
        peer: [u8; 32],
        psk: &[u8; 32],
        base: u32,
        src: [u8; 6],
    ) -> Self {
        let checker = CookieChecker::new(Some(id.public_key()));
        Side {
            hs: PeerHandshake::new(Some(&id), peer, Some(psk)),
            maker: CookieMaker::new(&peer),
            checker,
            kps: Keypairs::new(),
            id,
            now: 1_000_000_000_000,
            wall: 1_700_000_000,
            load: false,
            next_index: base,
            src,
        }
    }

    fn index(&mut self) -> u32 {
        self.next_index = self.next_index.wrapping_add(1);
        self.next_index
    }

    fn initiate(&mut self) -> Option<Vec<u8>> {
        let i = self.index();
        let mut m = self
            .hs
            .create_initiation(&self.id, i, (self.wall, 0))
            .ok()?;
        self.maker.add_macs(&mut m, self.now).ok()?;
        Some(m.to_vec())
    }

    fn send(&mut self, tag: u8, len: usize) -> Option<Vec<u8>> {
        let kp = self.kps.current()?;
        let mut buf = vec![tag; 16 + len + 32];
        let n = kp.encrypt_packet(self.now, &mut buf, len, 1420).ok()?;
        buf.truncate(n);
        Some(buf)
    }

    /// Processes a packet from the peer (whose address is `from`); returns
    /// what to send back.
    fn receive(&mut self, p: &[u8], from: &[u8]) -> Option<Vec<u8>> {
        match message_type(p)? {
            t @ (MessageType::Initiation | MessageType::Response) => {
                match self.checker.check(p, from, self.now, self.load) {
                    MacCheck::Invalid => return None,
                    MacCheck::NeedsCookie => {
                        let sender = match t {
                            MessageType::Initiation => Initiation::parse(p).ok()?.sender_index,
                            _ => Response::parse(p).ok()?.sender_index,
                        };
                        return self
                            .checker
                            .create_reply(p, sender, from, self.now)
                            .ok()
                            .map(|r| r.to_vec());
                    }
                    MacCheck::Valid | MacCheck::ValidWithCookie => {}
                }
                if t == MessageType::Initiation {
                    let m = Initiation::parse(p).ok()?;
                    let partial = read_initiation(&self.id, &m).ok()?;
                    assert_eq!(
                        partial.remote_static(),
                        self.hs.remote_static(),
                        "only one peer exists"
                    );
                    self.hs.consume_initiation(partial, self.now).ok()?;
                    let i = self.index();
                    let (mut r, keys) = self.hs.create_response(i).ok()?;
                    self.kps.insert(Box::new(LocalKeypair::new(keys, self.now)));
                    self.maker.add_macs(&mut r, self.now).ok()?;
                    Some(r.to_vec())
                } else {
                    let m = Response::parse(p).ok()?;
                    if self.hs.local_index() != Some(m.receiver_index) {
                        return None;
                    }
                    let keys = self.hs.consume_response(&self.id, &m).ok()?;
                    self.kps.insert(Box::new(LocalKeypair::new(keys, self.now)));
                    self.send(0, 0)
                }
            }
            MessageType::CookieReply => {
                let r = CookieReply::parse(p).ok()?;
                if self.hs.local_index() == Some(r.receiver_index) {
                    let _ = self.maker.consume_reply(&r, self.now);
                }
                None
            }
            MessageType::Data => {
                let h = DataHeader::parse(p).ok()?;
                let now = self.now;
                let kp = self.kps.get_mut(h.receiver_index)?;
                let mut buf = p.to_vec();
                let (counter, len) = kp.decrypt_packet(now, &mut buf).ok()?;
                assert_eq!(counter, h.counter);
                // Plaintext is `tag` repeated, then zero padding.
                let body = &buf[16..16 + len];
                let tag = body.first().copied().unwrap_or(0);
                let end = body.iter().rposition(|b| *b == tag).map_or(0, |i| i + 1);
                assert!(body[end..].iter().all(|b| *b == 0), "padding is zero");
                assert!(
                    body[..end].iter().all(|b| *b == tag),
                    "accepted data is what was sent"
                );
                self.kps.received_with(h.receiver_index);
                None
            }
        }
    }
}

/// Keys of the same session agree on both sides.
fn check_agreement(a: &Side, b: &Side) {
    for ka in [a.kps.current(), a.kps.previous(), a.kps.next()]
        .into_iter()
        .flatten()
    {
        for kb in [b.kps.current(), b.kps.previous(), b.kps.next()]
            .into_iter()
            .flatten()
        {
            if ka.remote_index() == kb.local_index() && kb.remote_index() == ka.local_index() {
                assert_eq!(ka.sending_key(), kb.receiving_key());
                assert_eq!(ka.receiving_key(), kb.sending_key());
                assert_ne!(ka.is_initiator(), kb.is_initiator());
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (ia, ib) = (common::identity(1), common::identity(2));
    let (pa, pb) = (*ia.public_key(), *ib.public_key());
    let psk = [data.first().map_or(0, |b| b & 1); 32];
    let mut sides = [
        Side::new(ia, pb, &psk, 0x1000, [10, 0, 0, 1, 0, 1]),
        Side::new(ib, pa, &psk, 0x2000, [10, 0, 0, 2, 0, 2]),
    ];
    // In-flight packets towards side 0 and side 1.
    let mut wire: [VecDeque<Vec<u8>>; 2] = [VecDeque::new(), VecDeque::new()];
    let mut last: [Option<Vec<u8>>; 2] = [None, None];
    for op in data.chunks(2).take(64) {
        let (code, arg) = (op[0], op.get(1).copied().unwrap_or(0));
        let s = (code & 1) as usize; // the side concerned
        let o = 1 - s;
        match (code >> 1) % 9 {
            0 => {
                if let Some(m) = sides[s].initiate() {
                    wire[o].push_back(m);
                }
            }
            1 | 2 => {
                if let Some(p) = wire[s].pop_front() {
                    let from = sides[o].src;
                    if let Some(r) = sides[s].receive(&p, &from) {
                        wire[o].push_back(r);
                    }
                    last[s] = Some(p);
                }
            }
            3 => {
                // Replay the last packet delivered.
                if let Some(p) = last[s].clone() {
                    let from = sides[o].src;
                    if let Some(r) = sides[s].receive(&p, &from) {
                        wire[o].push_back(r);
                    }
                }
            }
            4 => {
                wire[s].pop_front();
            }
            5 => {
                if let Some(p) = wire[s].front_mut() {
                    let i = arg as usize % p.len().max(1);
                    if let Some(b) = p.get_mut(i) {
                        *b ^= 1 << (code >> 5);
                    }
                }
            }
            6 => {
                let ns = (arg as u64) * (arg as u64) * 10_000_000;
                for side in sides.iter_mut() {
                    side.now += ns;
                    side.wall += ns / 1_000_000_000 + 1;
                }
            }
            7 => {
                let (l, _) = cookie::under_load(arg as usize * 8, sides[s].now, None);
                sides[s].load = l;
            }
            _ => {
                if let Some(m) = sides[s].send(arg | 1, arg as usize * 5) {
                    wire[o].push_back(m);
                }
            }
        }
        if wire[0].len() > 16 || wire[1].len() > 16 {
            wire[0].pop_front();
            wire[1].pop_front();
        }
        check_agreement(&sides[0], &sides[1]);
    }
});

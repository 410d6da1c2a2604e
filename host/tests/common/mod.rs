//! Helpers shared by the protocol tests.
#![allow(dead_code)]

use wg_proto::host::Host;
use wg_proto::proto::secret::Key;

pub type K = Key<Host>;

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn arr32(v: &[u8]) -> [u8; 32] {
    v.try_into().expect("32 bytes")
}

/// A deterministic "random" private key for tests.
pub fn key(seed: u8) -> [u8; 32] {
    let mut k = [0u8; 32];
    for (i, b) in k.iter_mut().enumerate() {
        *b = seed.wrapping_mul(31).wrapping_add(i as u8).wrapping_mul(7) ^ 0x5a;
    }
    k
}

use wg_proto::proto::cookie::{CookieChecker, CookieMaker, MacCheck};
use wg_proto::proto::error::Error;
use wg_proto::proto::handshake::{read_initiation, PeerHandshake, StaticIdentity};
use wg_proto::proto::keypair::Keypairs;
use wg_proto::proto::messages::{CookieReply, DataHeader, Initiation, Response, DATA_HEADER_LEN};
use wg_proto::testing::{message_type, LocalKeypair, MessageType};

/// What a node did with a received message.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Send these bytes back (a response, a cookie reply, a keepalive).
    Reply(Vec<u8>),
    /// A data message decrypted to this plaintext (padding included).
    Data(Vec<u8>),
    /// A cookie reply was taken.
    CookieTaken,
}

/// A minimal one-peer device built from the protocol core, driven like the
/// kernel glue drives it (receive.c / send.c), with a fake clock.
pub struct Node {
    pub identity: StaticIdentity<Host>,
    pub checker: CookieChecker<Host>,
    pub hs: PeerHandshake<Host>,
    pub maker: CookieMaker<Host>,
    pub keypairs: Keypairs<Host, Box<LocalKeypair<Host>>>,
    /// Monotonic fake clock.
    pub now: u64,
    /// Wall clock (seconds, nanoseconds).
    pub wall: (u64, u32),
    pub under_load: bool,
    pub next_index: u32,
    /// Indices retired from the keypair slots (the glue would unregister them).
    pub retired: Vec<u32>,
    pub mtu: usize,
}

impl Node {
    pub fn new(private: [u8; 32], peer_public: [u8; 32], psk: Option<[u8; 32]>) -> Self {
        let identity = StaticIdentity::<Host>::new(Key::new(private));
        let checker = CookieChecker::new(Some(identity.public_key()));
        let hs = PeerHandshake::new(Some(&identity), peer_public, psk.as_ref());
        let wall_now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        Self {
            identity,
            checker,
            hs,
            maker: CookieMaker::new(&peer_public),
            keypairs: Keypairs::new(),
            now: 1_000 * 1_000_000_000,
            wall: (wall_now.as_secs(), wall_now.subsec_nanos()),
            under_load: false,
            next_index: 0x1000,
            retired: Vec::new(),
            mtu: 1420,
        }
    }

    pub fn public(&self) -> [u8; 32] {
        *self.identity.public_key()
    }

    /// Advances both clocks.
    pub fn advance(&mut self, ns: u64) {
        self.now += ns;
        let total = self.wall.1 as u64 + ns % 1_000_000_000;
        self.wall.0 += ns / 1_000_000_000 + total / 1_000_000_000;
        self.wall.1 = (total % 1_000_000_000) as u32;
    }

    fn fresh_index(&mut self) -> u32 {
        self.next_index += 1;
        self.next_index
    }

    fn install(&mut self, kp: LocalKeypair<Host>) {
        for old in self.keypairs.insert(Box::new(kp)).into_iter().flatten() {
            self.retired.push(old.keypair.local_index());
        }
    }

    /// A handshake initiation with MACs.
    pub fn initiate(&mut self) -> Vec<u8> {
        let idx = self.fresh_index();
        let mut msg = self
            .hs
            .create_initiation(&self.identity, idx, self.wall)
            .unwrap();
        self.maker.add_macs(&mut msg, self.now).unwrap();
        msg.to_vec()
    }

    /// Encrypts an IP packet (or a keepalive if empty) under the current keypair.
    pub fn send(&mut self, payload: &[u8]) -> Result<Vec<u8>, Error> {
        let kp = self.keypairs.current().ok_or(Error::KeyExpired)?;
        let mut buf = vec![0u8; DATA_HEADER_LEN + payload.len() + 16 + 16];
        buf[DATA_HEADER_LEN..DATA_HEADER_LEN + payload.len()].copy_from_slice(payload);
        let n = kp.encrypt_packet(self.now, &mut buf, payload.len(), self.mtu)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Processes a UDP payload from `src` (address bytes and port).
    pub fn receive(&mut self, packet: &[u8], src: &[u8]) -> Result<Option<Outcome>, Error> {
        match message_type(packet).ok_or(Error::Malformed)? {
            ty @ (MessageType::Initiation | MessageType::Response) => {
                match self.checker.check(packet, src, self.now, self.under_load) {
                    MacCheck::Invalid => return Err(Error::InvalidMac),
                    MacCheck::NeedsCookie => {
                        let sender = match ty {
                            MessageType::Initiation => Initiation::parse(packet)?.sender_index,
                            _ => Response::parse(packet)?.sender_index,
                        };
                        let reply = self.checker.create_reply(packet, sender, src, self.now)?;
                        return Ok(Some(Outcome::Reply(reply.to_vec())));
                    }
                    MacCheck::Valid | MacCheck::ValidWithCookie => {}
                }
                if ty == MessageType::Initiation {
                    let msg = Initiation::parse(packet)?;
                    let init = read_initiation(&self.identity, &msg)?;
                    // Peer lookup by static key (one peer here).
                    if init.remote_static() != self.hs.remote_static() {
                        return Err(Error::WrongPeer);
                    }
                    self.hs.consume_initiation(init, self.now)?;
                    let idx = self.fresh_index();
                    let (mut resp, keys) = self.hs.create_response(idx)?;
                    self.install(LocalKeypair::new(keys, self.now));
                    self.maker.add_macs(&mut resp, self.now)?;
                    Ok(Some(Outcome::Reply(resp.to_vec())))
                } else {
                    let msg = Response::parse(packet)?;
                    if self.hs.local_index() != Some(msg.receiver_index) {
                        return Err(Error::UnexpectedMessage);
                    }
                    let keys = self.hs.consume_response(&self.identity, &msg)?;
                    self.install(LocalKeypair::new(keys, self.now));
                    // Confirm the session to the responder with a keepalive.
                    Ok(Some(Outcome::Reply(self.send(&[])?)))
                }
            }
            MessageType::CookieReply => {
                let reply = CookieReply::parse(packet)?;
                if self.hs.local_index() != Some(reply.receiver_index) {
                    return Err(Error::UnexpectedMessage);
                }
                self.maker.consume_reply(&reply, self.now)?;
                Ok(Some(Outcome::CookieTaken))
            }
            MessageType::Data => {
                let header = DataHeader::parse(packet)?;
                let now = self.now;
                let kp = self
                    .keypairs
                    .get_mut(header.receiver_index)
                    .ok_or(Error::UnexpectedMessage)?;
                let mut buf = packet.to_vec();
                let (_, len) = kp.decrypt_packet(now, &mut buf)?;
                let (_, dropped) = self.keypairs.received_with(header.receiver_index);
                if let Some(d) = dropped {
                    self.retired.push(d.keypair.local_index());
                }
                Ok(Some(Outcome::Data(
                    buf[DATA_HEADER_LEN..DATA_HEADER_LEN + len].to_vec(),
                )))
            }
        }
    }
}

/// A minimal IPv4 packet of `total` bytes (header + pattern payload).
pub fn ipv4_packet(total: usize, seed: u8) -> Vec<u8> {
    assert!((20..=65535).contains(&total));
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&[10, 0, 0, 1]);
    p[16..20].copy_from_slice(&[10, 0, 0, 2]);
    for (i, b) in p[20..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(13).wrapping_add(seed);
    }
    p
}

/// Trims a decrypted IPv4 packet to its total length (drops the padding).
pub fn trim_ipv4(p: &[u8]) -> &[u8] {
    let total = u16::from_be_bytes([p[2], p[3]]) as usize;
    &p[..total]
}

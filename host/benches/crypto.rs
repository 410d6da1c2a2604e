//! Benchmarks of the cryptographic protocol on the host platform: a full
//! handshake round (initiation and response, created and consumed, MACs
//! included) and sealing/opening 1420-byte data messages.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use wg_proto::host::Host;
use wg_proto::proto::constants::MIN_INITIATION_INTERVAL;
use wg_proto::proto::cookie::{CookieChecker, CookieMaker, MacCheck};
use wg_proto::proto::handshake::{read_initiation, PeerHandshake, StaticIdentity};
use wg_proto::proto::keypair::Keypair;
use wg_proto::proto::messages::{Initiation, Response, DATA_HEADER_LEN};
use wg_proto::proto::secret::Key;

const SRC: [u8; 6] = [192, 0, 2, 1, 0x12, 0x34];

struct Side {
    id: StaticIdentity<Host>,
    hs: PeerHandshake<Host>,
    maker: CookieMaker<Host>,
    checker: CookieChecker<Host>,
}

fn sides() -> (Side, Side) {
    let a = StaticIdentity::<Host>::new(Key::new([1; 32]));
    let b = StaticIdentity::<Host>::new(Key::new([2; 32]));
    let (pa, pb) = (*a.public_key(), *b.public_key());
    let side = |id: StaticIdentity<Host>, mine: [u8; 32], peer: [u8; 32]| Side {
        hs: PeerHandshake::new(Some(&id), peer, Some(&[7; 32])),
        maker: CookieMaker::new(&peer),
        checker: CookieChecker::new(Some(&mine)),
        id,
    };
    (side(a, pa, pb), side(b, pb, pa))
}

/// One complete handshake; returns both keypairs.
fn round(i: &mut Side, r: &mut Side, n: u64) -> (Keypair<Host>, Keypair<Host>) {
    let now = n * MIN_INITIATION_INTERVAL;
    let mut init =
        i.hs.create_initiation(&i.id, 1, (1_700_000_000 + n, 0))
            .unwrap();
    i.maker.add_macs(&mut init, now).unwrap();
    assert_eq!(r.checker.check(&init, &SRC, now, false), MacCheck::Valid);
    let partial = read_initiation(&r.id, &Initiation::parse(&init).unwrap()).unwrap();
    r.hs.consume_initiation(partial, now).unwrap();
    let (mut resp, rkeys) = r.hs.create_response(2).unwrap();
    r.maker.add_macs(&mut resp, now).unwrap();
    assert_eq!(i.checker.check(&resp, &SRC, now, false), MacCheck::Valid);
    let ikeys =
        i.hs.consume_response(&i.id, &Response::parse(&resp).unwrap())
            .unwrap();
    (Keypair::new(ikeys, now), Keypair::new(rkeys, now))
}

fn handshake(c: &mut Criterion) {
    let (mut i, mut r) = sides();
    let mut n = 1u64;
    c.bench_function(
        "handshake round (initiation + response, create + consume)",
        |b| {
            b.iter(|| {
                n += 1;
                black_box(round(&mut i, &mut r, n))
            })
        },
    );
}

fn transport(c: &mut Criterion) {
    const LEN: usize = 1420;
    let (mut i, mut r) = sides();
    let (sender, receiver) = round(&mut i, &mut r, 1);
    let mut g = c.benchmark_group("transport");
    g.throughput(Throughput::Bytes(LEN as u64));
    let mut buf = vec![0u8; DATA_HEADER_LEN + LEN + 16];
    g.bench_function("seal 1420-byte packet", |b| {
        b.iter(|| {
            black_box(sender.encrypt_packet(0, &mut buf, LEN, 1420).unwrap());
        })
    });
    let n = sender.encrypt_packet(0, &mut buf, LEN, 1420).unwrap();
    let counter = u64::from_le_bytes(buf[8..16].try_into().unwrap());
    let sealed = buf[DATA_HEADER_LEN..n].to_vec();
    let mut work = sealed.clone();
    g.bench_function("open 1420-byte packet", |b| {
        b.iter(|| {
            work.copy_from_slice(&sealed);
            black_box(receiver.open(0, counter, &mut work).unwrap());
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = handshake, transport
}
criterion_main!(benches);

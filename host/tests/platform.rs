//! Known-answer tests of the host platform, so that protocol tests stand on
//! primitives that are themselves checked.
use wg_proto::host::Host;
use wg_proto::proto::platform::Crypto;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn blake2s_empty_and_abc() {
    let mut out = [0u8; 32];
    Host::blake2s(&mut out, &[], &[b"abc"]);
    assert_eq!(
        out.to_vec(),
        hex("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982")
    );
    Host::blake2s(&mut out, &[], &[b"a", b"", b"bc"]);
    assert_eq!(
        out.to_vec(),
        hex("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982")
    );
}

#[test]
fn blake2s_keyed_rfc7693_style() {
    // BLAKE2s keyed test vector (blake2s-kat.txt, in = empty, key = 00..1f).
    let key: Vec<u8> = (0u8..32).collect();
    let mut out = [0u8; 32];
    Host::blake2s(&mut out, &key, &[]);
    assert_eq!(
        out.to_vec(),
        hex("48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49")
    );
}

#[test]
fn x25519_rfc7748() {
    let k: [u8; 32] = hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
        .try_into()
        .unwrap();
    let u: [u8; 32] = hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
        .try_into()
        .unwrap();
    let mut out = [0u8; 32];
    assert!(Host::x25519(&mut out, &k, &u));
    assert_eq!(
        out.to_vec(),
        hex("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")
    );
    // Low-order point: the all-zero result is reported.
    assert!(!Host::x25519(&mut out, &k, &[0u8; 32]));
}

#[test]
fn aead_roundtrip_and_tamper() {
    let key = [7u8; 32];
    let mut buf = *b"hello wireguard!";
    let tag = Host::aead_seal(&key, 5, b"ad", &mut buf);
    assert_ne!(&buf, b"hello wireguard!");
    let mut copy = buf;
    assert!(Host::aead_open(&key, 5, b"ad", &mut copy, &tag));
    assert_eq!(&copy, b"hello wireguard!");
    let mut copy = buf;
    assert!(!Host::aead_open(&key, 6, b"ad", &mut copy, &tag));
    let mut xbuf = *b"cookie";
    let xtag = Host::xaead_seal(&key, &[1u8; 24], b"m", &mut xbuf);
    assert!(Host::xaead_open(&key, &[1u8; 24], b"m", &mut xbuf, &xtag));
    assert_eq!(&xbuf, b"cookie");
}

//! The cacophony Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s vector, reproduced by
//! the generic Noise layer: both handshake messages, the handshake hash, and
//! every transport message of the vector, in both directions.
mod common;
use common::*;
use wg_proto::host::Host;
use wg_proto::proto::noise;
use wg_proto::proto::secret::Key;
use wg_proto::testing::{ik_init, CipherState};

fn field<'a>(v: &'a serde_json::Value, name: &str) -> &'a str {
    v[name].as_str().unwrap_or_else(|| panic!("field {name}"))
}

#[test]
fn cacophony_ikpsk2() {
    let text = include_str!("vectors/noise-ikpsk2-cacophony.json");
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    let vectors = json["vectors"].as_array().unwrap();
    assert!(!vectors.is_empty());
    for v in vectors {
        let name = field(v, "protocol_name");
        assert_eq!(name, "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s");
        run_vector(v, name.as_bytes());
    }
}

fn run_vector(v: &serde_json::Value, name: &[u8]) {
    let init_prologue = hex(field(v, "init_prologue"));
    let resp_prologue = hex(field(v, "resp_prologue"));
    let init_psk = arr32(&hex(v["init_psks"][0].as_str().unwrap()));
    let resp_psk = arr32(&hex(v["resp_psks"][0].as_str().unwrap()));
    let init_static: K = Key::new(arr32(&hex(field(v, "init_static"))));
    let init_eph: K = Key::new(arr32(&hex(field(v, "init_ephemeral"))));
    let init_remote_static = arr32(&hex(field(v, "init_remote_static")));
    let resp_static: K = Key::new(arr32(&hex(field(v, "resp_static"))));
    let resp_eph: K = Key::new(arr32(&hex(field(v, "resp_ephemeral"))));
    let expected_hash = hex(field(v, "handshake_hash"));
    let messages = v["messages"].as_array().unwrap();
    assert!(messages.len() >= 2);
    let payload = |i: usize| hex(field(&messages[i], "payload"));
    let ciphertext = |i: usize| hex(field(&messages[i], "ciphertext"));

    let resp_pub = noise::public_key::<Host>(&resp_static);
    assert_eq!(resp_pub, init_remote_static);
    let init_pub = noise::public_key::<Host>(&init_static);

    let mut ist = ik_init::<Host>(name, &init_prologue, &init_remote_static);
    let mut rst = ik_init::<Host>(name, &resp_prologue, &resp_pub);

    // Message 1: initiator -> responder.
    let ss_i = noise::dh::<Host>(&init_static, &init_remote_static).unwrap();
    let p0 = payload(0);
    let mut e = [0u8; 32];
    let mut s = [0u8; 48];
    let mut pl = p0.clone();
    pl.extend_from_slice(&[0u8; 16]);
    noise::ik_write_msg1(
        &mut ist,
        &init_pub,
        &init_eph,
        &init_remote_static,
        &ss_i,
        &mut e,
        &mut s,
        &mut pl,
    )
    .unwrap();
    let msg1: Vec<u8> = [&e[..], &s[..], &pl[..]].concat();
    assert_eq!(hex_str(&msg1), hex_str(&ciphertext(0)), "message 1");

    let rs = noise::ik_read_msg1_static(&mut rst, &resp_static, &e, &s).unwrap();
    assert_eq!(rs, init_pub);
    let ss_r = noise::dh::<Host>(&resp_static, &rs).unwrap();
    let mut got = vec![0u8; p0.len()];
    noise::ik_read_msg1_payload(&mut rst, &ss_r, &pl, &mut got).unwrap();
    assert_eq!(got, p0);

    // Message 2: responder -> initiator.
    let p1 = payload(1);
    let mut e2 = [0u8; 32];
    let mut pl2 = p1.clone();
    pl2.extend_from_slice(&[0u8; 16]);
    let psk_r: K = Key::new(resp_psk);
    noise::ik_write_msg2(&mut rst, &resp_eph, &e, &rs, &psk_r, &mut e2, &mut pl2).unwrap();
    let msg2: Vec<u8> = [&e2[..], &pl2[..]].concat();
    assert_eq!(hex_str(&msg2), hex_str(&ciphertext(1)), "message 2");

    let psk_i: K = Key::new(init_psk);
    let mut got2 = vec![0u8; p1.len()];
    noise::ik_read_msg2(
        &mut ist,
        &init_static,
        &init_eph,
        &psk_i,
        &e2,
        &pl2,
        &mut got2,
    )
    .unwrap();
    assert_eq!(got2, p1);

    // Handshake hash.
    assert_eq!(hex_str(ist.handshake_hash()), hex_str(&expected_hash));
    assert_eq!(hex_str(rst.handshake_hash()), hex_str(&expected_hash));

    // Transport: even messages from the initiator, odd from the responder.
    let (i1, i2) = ist.split();
    let (r1, r2) = rst.split();
    assert_eq!(i1.as_bytes(), r1.as_bytes());
    assert_eq!(i2.as_bytes(), r2.as_bytes());
    let mut i_send = CipherState::<Host>::new(i1);
    let mut i_recv = CipherState::<Host>::new(i2);
    let mut r_send = CipherState::<Host>::new(r2);
    let mut r_recv = CipherState::<Host>::new(r1);
    let mut transport = 0;
    for (idx, m) in messages.iter().enumerate().skip(2) {
        let p = hex(field(m, "payload"));
        let c = hex(field(m, "ciphertext"));
        let mut buf = p.clone();
        buf.extend_from_slice(&[0u8; 16]);
        let mut out = vec![0u8; p.len()];
        if idx % 2 == 0 {
            i_send.encrypt(&[], &mut buf).unwrap();
            assert_eq!(hex_str(&buf), hex_str(&c), "transport message {idx}");
            r_recv.decrypt(&[], &buf, &mut out).unwrap();
        } else {
            r_send.encrypt(&[], &mut buf).unwrap();
            assert_eq!(hex_str(&buf), hex_str(&c), "transport message {idx}");
            i_recv.decrypt(&[], &buf, &mut out).unwrap();
        }
        assert_eq!(out, p);
        transport += 1;
    }
    assert!(transport >= 2, "the vector has transport messages each way");

    // A flipped bit anywhere in message 1 is refused by the responder.
    for bit in [0usize, 8 * 40, 8 * 90] {
        let mut bad = msg1.clone();
        bad[bit / 8] ^= 1;
        let mut st = ik_init::<Host>(name, &resp_prologue, &resp_pub);
        let be: [u8; 32] = bad[..32].try_into().unwrap();
        let bs: [u8; 48] = bad[32..80].try_into().unwrap();
        let r = noise::ik_read_msg1_static(&mut st, &resp_static, &be, &bs).and_then(|rs| {
            let ss = noise::dh::<Host>(&resp_static, &rs)
                .ok_or(wg_proto::proto::error::Error::LowOrderKey)?;
            let mut o = vec![0u8; p0.len()];
            noise::ik_read_msg1_payload(&mut st, &ss, &bad[80..], &mut o)
        });
        assert!(r.is_err(), "bit {bit}");
    }
}

fn hex_str(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

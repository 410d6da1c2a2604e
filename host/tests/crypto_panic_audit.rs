//! Panic audit of the cryptographic protocol as the kernel builds it:
//! `tests/crypto_audit/harness.rs` instantiates every handshake, cookie,
//! keypair, message and Noise operation that takes untrusted input, over a
//! dummy platform of opaque primitives; no exported operation may reach a
//! panic. The machinery is in `ir_audit/`.

mod ir_audit;

#[test]
fn no_crypto_operation_can_panic() {
    ir_audit::assert_no_path_to_panic(
        "tests/crypto_audit/harness.rs",
        &|n| n.starts_with("cx_"),
        30,
    );
}

//! Panic audit of the protocol-core tables and timers, as the kernel builds
//! them: `tests/panic_audit/harness.rs` instantiates every operation of
//! replay, allowedips, ratelimiter, siphash, pubkey_table, index_table and
//! timers with a dummy platform; no exported operation may reach a panic.
//! The machinery is in `ir_audit/`.

mod ir_audit;

/// Exported operations of the harness.
const ENTRY_PREFIXES: &[&str] = &["ai_", "rl_", "it_", "pk_", "rp_", "sh", "sk_", "tm_"];

#[test]
fn no_operation_can_panic() {
    ir_audit::assert_no_path_to_panic(
        "tests/panic_audit/harness.rs",
        &|n| ENTRY_PREFIXES.iter().any(|p| n.starts_with(p)),
        31,
    );
}

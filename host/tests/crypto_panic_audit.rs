//! Panic audit of the cryptographic protocol as the kernel builds it:
//! compiles `tests/crypto_audit/harness.rs` (every handshake, cookie, keypair,
//! message and Noise operation that takes untrusted input, over a dummy
//! platform of opaque primitives) with the kernel's rustc and overflow checks
//! on, to LLVM IR, and checks that no exported operation can reach a panic
//! (bounds check, overflow, unwrap, slice index, length mismatch...),
//! following calls through every function defined in the IR.
//!
//! Uses `$WG_KERNEL_RUSTC`, else `/usr/bin/rustc`; skipped if neither exists.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;

const PANIC_MARKERS: &[&str] = &[
    "panicking",
    "panic_bounds_check",
    "panic_const",
    "panic_fmt",
    "slice_index",
    "slice_end_index",
    "slice_start_index",
    "len_mismatch_fail",
    "unwrap_failed",
    "expect_failed",
    "assert_failed",
];

fn rustc() -> Option<PathBuf> {
    let p = std::env::var_os("WG_KERNEL_RUSTC")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/rustc".into());
    p.exists().then_some(p)
}

fn symbol_after_at(s: &str) -> Option<String> {
    let i = s.find('@')?;
    let rest = &s[i + 1..];
    let sym: String = if let Some(quoted) = rest.strip_prefix('"') {
        quoted.chars().take_while(|&c| c != '"').collect()
    } else {
        rest.chars()
            .take_while(|&c| c.is_ascii_alphanumeric() || "_.$".contains(c))
            .collect()
    };
    (!sym.is_empty()).then_some(sym)
}

/// Function name -> referenced symbols, from LLVM IR text.
fn call_graph(ir: &str) -> HashMap<String, HashSet<String>> {
    let mut graph = HashMap::new();
    let mut current: Option<(String, HashSet<String>)> = None;
    for line in ir.lines() {
        if line.starts_with('@') && line.contains(" alias ") {
            // `@a = ... alias <type>, ptr @b`: a call of `a` is a call of `b`.
            if let (Some(a), Some(i)) = (symbol_after_at(line), line.rfind('@')) {
                if let Some(b) = symbol_after_at(&line[i..]) {
                    graph.insert(a, HashSet::from([b]));
                }
            }
        } else if line.starts_with("define ") {
            current = Some((symbol_after_at(line).unwrap_or_default(), HashSet::new()));
        } else if line.starts_with('}') {
            if let Some((name, refs)) = current.take() {
                graph.insert(name, refs);
            }
        } else if let Some((name, refs)) = current.as_mut() {
            let mut rest = line;
            while let Some(i) = rest.find('@') {
                rest = &rest[i..];
                if let Some(sym) = symbol_after_at(rest) {
                    if sym != *name {
                        refs.insert(sym);
                    }
                }
                rest = &rest[1..];
            }
        }
    }
    graph
}

fn audit(rustc: &Path, opt: &str) -> Vec<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let proto = manifest.join("../src/proto/mod.rs").canonicalize().unwrap();
    let harness = std::fs::read_to_string(manifest.join("tests/crypto_audit/harness.rs")).unwrap();
    let dir = std::env::temp_dir().join(format!("wg-crypto-audit-{}-{opt}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("harness.rs");
    std::fs::write(&src, harness.replace("@PROTO@", proto.to_str().unwrap())).unwrap();
    let out = dir.join("harness.ll");
    let status = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "--crate-name",
            "audit",
        ])
        .args(["--emit", "llvm-ir", "-C", &format!("opt-level={opt}")])
        .args([
            "-C",
            "overflow-checks=on",
            "-C",
            "panic=abort",
            "-C",
            "debug-assertions=off",
        ])
        .args(["-C", "codegen-units=1", "-A", "warnings", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "harness does not compile with {}",
        rustc.display()
    );
    let ir = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let graph = call_graph(&ir);
    let entries: Vec<&String> = graph.keys().filter(|n| n.starts_with("cx_")).collect();
    assert!(
        entries.len() >= 33,
        "harness exports missing from the IR: {}",
        entries.len()
    );
    let mut findings = Vec::new();
    for entry in entries {
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([(entry.clone(), vec![entry.clone()])]);
        while let Some((f, path)) = queue.pop_front() {
            if !seen.insert(f.clone()) {
                continue;
            }
            if PANIC_MARKERS.iter().any(|m| f.contains(m)) {
                findings.push(format!("opt-level={opt}: {}", path.join(" -> ")));
                break;
            }
            for callee in graph.get(&f).into_iter().flatten() {
                let mut p = path.clone();
                p.push(callee.clone());
                queue.push_back((callee.clone(), p));
            }
        }
    }
    findings.sort();
    findings
}

#[test]
fn no_crypto_operation_can_panic() {
    let Some(rustc) = rustc() else {
        println!("kernel rustc not found: panic audit skipped");
        return;
    };
    let mut findings = Vec::new();
    for opt in ["2", "s"] {
        findings.extend(audit(&rustc, opt));
    }
    assert!(
        findings.is_empty(),
        "paths to a panic:\n{}",
        findings.join("\n")
    );
}

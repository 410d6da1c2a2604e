//! Shared by the panic audits (`panic_audit.rs`, `crypto_panic_audit.rs`):
//! compile a harness that instantiates protocol-core operations with the
//! kernel's rustc (overflow checks on, `panic=abort`) to LLVM IR, build the
//! call graph (following aliases), and search from every exported entry for a
//! path to a panic (bounds check, overflow, unwrap, slice index, length
//! mismatch...), at opt-level 2 and s.
//!
//! Uses `$WG_KERNEL_RUSTC`, else `/usr/bin/rustc` (the kernel toolchain of
//! this project); the audit is skipped, saying so, if neither exists.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Symbols that mean "this can panic".
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

/// Function name -> referenced symbols, from LLVM IR text.
pub fn call_graph(ir: &str) -> HashMap<String, HashSet<String>> {
    let mut graph = HashMap::new();
    let mut current: Option<(String, HashSet<String>)> = None;
    for line in ir.lines() {
        if line.starts_with('@') && line.contains(" alias ") {
            // `@a = ... alias <type>, ptr @b`: calling `a` is calling `b`.
            if let (Some(alias), Some(target)) = (
                symbol_after_at(line),
                line.rfind('@').and_then(|i| symbol_after_at(&line[i..])),
            ) {
                graph.insert(alias, HashSet::from([target]));
            }
        } else if line.starts_with("define ") {
            let name = symbol_after_at(line).unwrap_or_default();
            current = Some((name, HashSet::new()));
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

pub fn symbol_after_at(s: &str) -> Option<String> {
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

fn audit(
    rustc: &Path,
    opt: &str,
    harness_rel: &str,
    is_entry: &dyn Fn(&str) -> bool,
    min_entries: usize,
) -> Vec<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let proto = manifest.join("../src/proto/mod.rs").canonicalize().unwrap();
    let harness = std::fs::read_to_string(manifest.join(harness_rel)).unwrap();
    let tag: String = harness_rel
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let dir = std::env::temp_dir().join(format!("wg-audit-{tag}-{}-{opt}", std::process::id()));
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
            "--emit",
            "llvm-ir",
        ])
        .args([
            "-C",
            &format!("opt-level={opt}"),
            "-C",
            "overflow-checks=on",
            "-C",
            "panic=abort",
        ])
        .args([
            "-C",
            "debug-assertions=off",
            "-C",
            "codegen-units=1",
            "-A",
            "warnings",
            "-o",
        ])
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
    let entries: Vec<&String> = graph.keys().filter(|n| is_entry(n)).collect();
    assert!(
        entries.len() >= min_entries,
        "harness exports missing from the IR: {}",
        entries.len()
    );
    let mut findings = Vec::new();
    for entry in entries {
        // Breadth-first search for a path to a panic marker.
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

/// Runs the audit of the harness at `harness_rel` (relative to the host
/// crate; `@PROTO@` in it is replaced by the path of `src/proto/mod.rs`),
/// whose exported operations are the symbols `is_entry` accepts (at least
/// `min_entries` of them, so that a harness that lost its exports fails), and
/// asserts that none can reach a panic.
pub fn assert_no_path_to_panic(
    harness_rel: &str,
    is_entry: &dyn Fn(&str) -> bool,
    min_entries: usize,
) {
    let Some(rustc) = rustc() else {
        println!("kernel rustc not found: panic audit skipped");
        return;
    };
    let mut findings = Vec::new();
    for opt in ["2", "s"] {
        findings.extend(audit(&rustc, opt, harness_rel, is_entry, min_entries));
    }
    assert!(
        findings.is_empty(),
        "paths to a panic:\n{}",
        findings.join("\n")
    );
}

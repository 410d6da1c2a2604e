// SPDX-License-Identifier: GPL-2.0
//! Host build of the protocol core in `../src/proto`, the very files the kernel
//! module compiles. The crate is `no_std` so that a protocol file that reaches
//! for `std` or `alloc` fails here as it would in the kernel; the host platform
//! (RustCrypto, `std::time`, `std::vec`) lives in [`host`].
#![no_std]

#[path = "../../src/proto/mod.rs"]
pub mod proto;

pub mod host;

pub mod siphash;

pub mod testing;

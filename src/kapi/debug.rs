// SPDX-License-Identifier: GPL-2.0
//! Debug lines, as the C driver prints them under `CONFIG_WIREGUARD_DEBUG`
//! ("wg0: Peer 1 created", ...). They are off unless dynamic debug is
//! switched on for the module: `echo 'module wireguard +p' >
//! /proc/dynamic_debug/control` (or `wireguard.dyndbg=+p` at load time).
//!
//! As in the C driver, lines a packet can trigger ([`wg_dbg!`]) are
//! rate-limited by the networking stack's shared limit (`net_ratelimit`,
//! `net.core.message_cost`/`message_burst`), as `net_dbg_ratelimited`: a
//! remote sender cannot flood the log. Lines of configuration and lifetime
//! events ([`wg_pr_debug!`]: interface and peer created or destroyed, keys
//! zeroed by the timer) are not, as `pr_debug`.

use super::bindings as b;

/// Whether debug lines are on (a static branch: cheap when off).
pub(crate) fn enabled() -> bool {
    // SAFETY: reads the dynamic-debug descriptor of the module.
    unsafe { b::wg_shim_debug_enabled() }
}

/// Prints one debug line (`KERN_DEBUG`), formatted by the kernel's `%pA`
/// (the kernel crate's formatter of `fmt::Arguments`, as its `pr_*!`
/// macros use it). printk formats it twice (to size it, then into the ring
/// buffer), with interrupts off: the `Display` of an argument must not take
/// a lock, sleep or change between the two.
#[cfg(CONFIG_PRINTK)]
pub(crate) fn print(args: core::fmt::Arguments<'_>) {
    let fmt = kernel::c_str!("\x017%pA\n").as_char_ptr();
    let args = core::ptr::from_ref(&args).cast::<core::ffi::c_void>();
    // SAFETY: a NUL-terminated format (`KERN_DEBUG` is "\x01" "7") whose one
    // conversion, `%pA`, takes a pointer to a `fmt::Arguments`, which lives
    // for the call.
    unsafe { kernel::bindings::_printk(fmt, args) };
}

/// Without printk, nothing to print to.
#[cfg(not(CONFIG_PRINTK))]
pub(crate) fn print(_args: core::fmt::Arguments<'_>) {}

/// Whether the networking stack's shared message rate limit lets one more
/// line through now (`net_ratelimit`; it counts and reports what it
/// suppressed).
pub(crate) fn ratelimit() -> bool {
    // SAFETY: `net_ratelimit` may be called from any context.
    unsafe { b::net_ratelimit() != 0 }
}

/// Prints a debug line when they are on and the networking stack's rate
/// limit allows it (`net_dbg_ratelimited`): for lines a received or sent
/// packet triggers.
#[macro_export]
macro_rules! wg_dbg {
    ($($arg:tt)*) => {
        if $crate::kapi::debug::enabled() && $crate::kapi::debug::ratelimit() {
            $crate::kapi::debug::print(format_args!($($arg)*));
        }
    };
}

/// Prints a debug line when they are on, without rate limit (`pr_debug`):
/// for configuration and lifetime events, which no remote sender drives.
#[macro_export]
macro_rules! wg_pr_debug {
    ($($arg:tt)*) => {
        if $crate::kapi::debug::enabled() {
            $crate::kapi::debug::print(format_args!($($arg)*));
        }
    };
}

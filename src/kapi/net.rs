// SPDX-License-Identifier: GPL-2.0
//! Network namespaces.

use super::bindings as b;
use kernel::types::Opaque;

/// A network namespace (`struct net`), borrowed.
///
/// # Invariants
///
/// A `Net` is only reached through a reference made by [`Net::from_raw`], so the namespace it
/// wraps is live for as long as the reference.
#[repr(transparent)]
pub(crate) struct Net(Opaque<b::net>);

impl Net {
    /// # Safety
    ///
    /// `ptr` points to a live `struct net` that outlives `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut b::net) -> &'a Net {
        // INVARIANT: by the safety requirements, the namespace outlives `'a`.
        // SAFETY: `Net` is a transparent wrapper of `struct net`; the caller
        // guarantees the pointer is valid for `'a`.
        unsafe { &*ptr.cast::<Net>() }
    }

    pub(crate) fn as_raw(&self) -> *mut b::net {
        self.0.get()
    }

    /// The namespace's cookie (`net->net_cookie`): unique for the life of
    /// the system, never reused by a later namespace.
    pub(crate) fn cookie(&self) -> u64 {
        // SAFETY: the namespace is valid (type invariant); the cookie is
        // written once when the namespace is set up.
        unsafe { (*self.as_raw()).net_cookie }
    }

    /// Whether the current task has `CAP_NET_ADMIN` in the user namespace
    /// owning this network namespace (`ns_capable(net->user_ns, ...)`).
    pub(crate) fn net_admin_capable(&self) -> bool {
        // SAFETY: the namespace is valid (type invariant), and holds its
        // owning user namespace.
        unsafe { b::ns_capable((*self.as_raw()).user_ns, b::CAP_NET_ADMIN as i32) }
    }
}

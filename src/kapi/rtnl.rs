// SPDX-License-Identifier: GPL-2.0
//! The RTNL lock, as a token.

use core::marker::PhantomData;

/// Proof that the caller holds the RTNL lock. Only `kapi` makes one, inside
/// callbacks the kernel runs under RTNL; it cannot leave the thread.
///
/// # Invariants
///
/// The RTNL lock is held for as long as this value lives (it is neither `Send` nor `Sync`, so
/// only the thread that holds the lock uses it).
pub(crate) struct Rtnl(PhantomData<*mut ()>);

impl Rtnl {
    /// # Safety
    ///
    /// The RTNL lock is held for as long as the returned token lives.
    pub(crate) unsafe fn assume_held() -> Self {
        // INVARIANT: by the safety requirements.
        Rtnl(PhantomData)
    }

    /// Takes the RTNL lock (may sleep).
    pub(crate) fn lock() -> RtnlGuard {
        // SAFETY: process context (the callers are netlink handlers); the
        // guard holds the token while the lock is held, and unlocks once.
        unsafe {
            super::bindings::rtnl_lock();
            // INVARIANT: taken just above, and released only by the guard's drop.
            RtnlGuard(Rtnl::assume_held())
        }
    }
}

/// The RTNL lock, held until this is dropped.
///
/// # Invariants
///
/// This thread took the RTNL lock in [`Rtnl::lock`], and only this value's drop releases it.
pub(crate) struct RtnlGuard(Rtnl);

impl core::ops::Deref for RtnlGuard {
    type Target = Rtnl;
    fn deref(&self) -> &Rtnl {
        &self.0
    }
}

impl Drop for RtnlGuard {
    fn drop(&mut self) {
        // SAFETY: taken in `Rtnl::lock` (type invariant).
        unsafe { super::bindings::rtnl_unlock() };
    }
}

// SPDX-License-Identifier: GPL-2.0
//! Read-copy-update: read-side guards, grace periods, and `Arc` pointers
//! published to lockless readers.

use super::bindings as b;
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::sync::{Arc, ArcBorrow};

/// An RCU read-side critical section (`rcu_read_lock_bh`: softirqs are off,
/// as on the packet paths). Not `Send`: it ends on the CPU it began on.
///
/// # Invariants
///
/// While this value lives, the thread that made it is inside the read-side critical section
/// (`rcu_read_lock_bh`) that [`read_lock`] began for it, and which its drop ends.
pub(crate) struct ReadGuard(PhantomData<*mut ()>);

/// Enters a read-side critical section.
pub(crate) fn read_lock() -> ReadGuard {
    // SAFETY: paired with the unlock in `ReadGuard::drop`.
    unsafe { b::wg_shim_rcu_read_lock_bh() };
    // INVARIANT: the section began just above.
    ReadGuard(PhantomData)
}

impl Drop for ReadGuard {
    fn drop(&mut self) {
        // SAFETY: paired with the lock in `read_lock`.
        unsafe { b::wg_shim_rcu_read_unlock_bh() };
    }
}

/// Waits for every read-side critical section that began before the call to
/// end. Sleeps: process context only.
pub(crate) fn synchronize() {
    // SAFETY: callable from process context; the glue calls it from there.
    unsafe { b::synchronize_rcu() }
}

/// An `Option<Arc<T>>` that readers load without locks under a [`ReadGuard`].
///
/// The reference held by the cell is released only after a grace period
/// once replaced, so a reader that loaded the pointer inside its read-side
/// section may always take a reference of its own.
///
/// # Invariants
///
/// `self.0` is null or a pointer that `Arc::into_raw` returned, whose reference the cell owns. A
/// pointer that [`RcuArc::replace`] takes out of the cell is released only after a grace period.
pub(crate) struct RcuArc<T: Send + Sync>(AtomicPtr<T>);

impl<T: Send + Sync> RcuArc<T> {
    /// An empty cell.
    pub(crate) const fn new() -> Self {
        // INVARIANT: empty.
        RcuArc(AtomicPtr::new(ptr::null_mut()))
    }

    /// The value, borrowed for the read-side section and no longer than the
    /// cell (dropping the cell releases its reference at once).
    pub(crate) fn get<'a>(&'a self, _guard: &'a ReadGuard) -> Option<ArcBorrow<'a, T>> {
        let p = self.0.load(Ordering::Acquire);
        // SAFETY: a non-null pointer came from `Arc::into_raw`, and the cell's
        // reference is released only after a grace period following its
        // replacement, which cannot end while `_guard` lives; the borrow
        // also keeps the cell (whose drop releases it at once) alive.
        (!p.is_null()).then(|| unsafe { ArcBorrow::from_raw(p) })
    }

    /// Publishes `new`, then waits for a grace period (if there was a
    /// previous value: readers may still see it) and drops the previous
    /// value. Sleeps: process context only.
    pub(crate) fn replace(&self, new: Option<Arc<T>>) {
        let new = new.map_or(ptr::null_mut(), |a| Arc::into_raw(a).cast_mut());
        // INVARIANT: the reference of `new` passes to the cell, and that of `old` to this call,
        // which releases it after a grace period.
        let old = self.0.swap(new, Ordering::AcqRel);
        if !old.is_null() {
            synchronize();
            // SAFETY: the pointer came from `Arc::into_raw` and was the
            // cell's, which gave it up above; after the grace period no
            // reader uses the published copy.
            drop(unsafe { Arc::from_raw(old) });
        }
    }
}

impl<T: Send + Sync> Drop for RcuArc<T> {
    fn drop(&mut self) {
        // Dropping the cell means no reader can reach it any more (its owner
        // is unpublished and a grace period has passed, or it never was
        // published): release the reference now.
        let p = *self.0.get_mut();
        if !p.is_null() {
            // SAFETY: the pointer came from `Arc::into_raw` and is owned by the cell.
            drop(unsafe { Arc::from_raw(p) });
        }
    }
}

// SPDX-License-Identifier: GPL-2.0
//! Workqueues owned by the driver (`alloc_workqueue`), destroyed (drained)
//! when dropped.

use super::bindings as b;
use core::ptr::NonNull;
use kernel::error::{code::ENOMEM, Result};
use kernel::str::CStr;

/// Flags of [`Workqueue::new`].
pub(crate) struct WqFlags(u32);

impl WqFlags {
    /// Long CPU-bound work items (`WQ_CPU_INTENSIVE`): crypto, handshakes.
    pub(crate) const CPU_INTENSIVE: WqFlags = WqFlags(b::wq_flags_WQ_CPU_INTENSIVE);
    /// Not bound to the queueing CPU (`WQ_UNBOUND`).
    pub(crate) const UNBOUND: WqFlags = WqFlags(b::wq_flags_WQ_UNBOUND);
    /// Frozen across suspend (`WQ_FREEZABLE`).
    pub(crate) const FREEZABLE: WqFlags = WqFlags(b::wq_flags_WQ_FREEZABLE);
    /// Guaranteed progress under memory pressure (`WQ_MEM_RECLAIM`).
    pub(crate) const MEM_RECLAIM: WqFlags = WqFlags(b::wq_flags_WQ_MEM_RECLAIM);

    /// Both sets of flags.
    pub(crate) const fn with(self, other: WqFlags) -> WqFlags {
        WqFlags(self.0 | other.0)
    }
}

/// A workqueue.
///
/// # Invariants
///
/// `self.0` is a workqueue that `alloc_workqueue` returned (in [`Workqueue::new`]), which only
/// this value's drop destroys.
pub(crate) struct Workqueue(NonNull<b::workqueue_struct>);

// SAFETY: workqueues are used from any context and thread.
unsafe impl Send for Workqueue {}
// SAFETY: as above.
unsafe impl Sync for Workqueue {}

impl Workqueue {
    /// A new workqueue named "`prefix`-`name`" (process context).
    pub(crate) fn new(prefix: &CStr, name: &CStr, flags: WqFlags) -> Result<Self> {
        let fmt = kernel::c_str!("%s-%s").as_char_ptr();
        let (prefix, name) = (prefix.as_char_ptr(), name.as_char_ptr());
        // SAFETY: the format takes two strings, and both names are
        // NUL-terminated; the callee copies the name it formats.
        let wq = unsafe { b::alloc_workqueue(fmt, flags.0, 0, prefix, name) };
        // INVARIANT: a non-null result is a new workqueue, ours.
        NonNull::new(wq).map(Workqueue).ok_or(ENOMEM)
    }

    /// Queues `work` on `cpu` (or the current one); false if already queued.
    pub(super) fn queue(&self, work: *mut b::work_struct, cpu: Option<i32>) -> bool {
        let cpu = cpu.unwrap_or(b::wq_misc_consts_WORK_CPU_UNBOUND as i32);
        // SAFETY: `work` is an initialised work item (callers in kapi only
        // pass their own); the queue is live while `self` is.
        unsafe { b::queue_work_on(cpu, self.0.as_ptr(), work) }
    }
}

impl Drop for Workqueue {
    fn drop(&mut self) {
        // SAFETY: drains and frees the queue; nothing queues on it any more
        // (its owner is going away).
        unsafe { b::destroy_workqueue(self.0.as_ptr()) }
    }
}

// SPDX-License-Identifier: GPL-2.0
//! Power management: a callback before the system suspends or hibernates
//! (`register_pm_notifier`). Without `CONFIG_PM_SLEEP` registration is a
//! no-op and the callback never runs.

use super::bindings as b;
use core::marker::PhantomData;
use kernel::alloc::{flags::GFP_KERNEL, KBox};
use kernel::error::{to_result, Result};
use kernel::types::Opaque;

/// What runs before the system goes to sleep.
pub(crate) trait SleepHandler: 'static {
    /// The system is about to suspend or hibernate (process context).
    fn prepare_sleep();
}

/// A registered notifier; unregistered when dropped.
///
/// # Invariants
///
/// `self.0` is a notifier block calling `callback::<T>`, registered (`register_pm_notifier`) by
/// [`SleepNotifier::register`] and unregistered only by this value's drop; it stays at the same
/// address in its box meanwhile.
pub(crate) struct SleepNotifier<T: SleepHandler>(KBox<Opaque<b::notifier_block>>, PhantomData<T>);

// SAFETY: the notifier block is only touched by the PM core (with its own
// locking) and by `Drop`.
unsafe impl<T: SleepHandler> Send for SleepNotifier<T> {}
// SAFETY: as above; shared access does nothing.
unsafe impl<T: SleepHandler> Sync for SleepNotifier<T> {}

impl<T: SleepHandler> SleepNotifier<T> {
    /// Registers `T::prepare_sleep`.
    pub(crate) fn register() -> Result<Self> {
        let nb = b::notifier_block {
            notifier_call: Some(callback::<T>),
            ..Default::default()
        };
        let nb = KBox::new(Opaque::new(nb), GFP_KERNEL)?;
        // SAFETY: the block lives in its own allocation until `Drop`, which
        // unregisters it first.
        to_result(unsafe { b::wg_shim_register_pm_notifier(nb.get()) })?;
        // INVARIANT: registered just above.
        Ok(SleepNotifier(nb, PhantomData))
    }
}

impl<T: SleepHandler> Drop for SleepNotifier<T> {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; after this the core no longer
        // calls it (the chain is protected by an rwsem).
        unsafe { b::wg_shim_unregister_pm_notifier(self.0.get()) }
    }
}

unsafe extern "C" fn callback<T: SleepHandler>(
    _nb: *mut b::notifier_block,
    action: usize,
    _data: *mut core::ffi::c_void,
) -> core::ffi::c_int {
    let prepare = [b::PM_HIBERNATION_PREPARE, b::PM_SUSPEND_PREPARE]
        .map(|a| a as usize)
        .contains(&action);
    if prepare {
        T::prepare_sleep();
    }
    0 // NOTIFY_DONE
}

// SPDX-License-Identifier: GPL-2.0
//! A kernel timer allocated together with the value it serves.
//!
//! [`Timed<T>`] lives in an [`Arc`]: a `timer_list` and a `T` in one
//! allocation. When the timer fires, [`TimerCallback::timer_fired`] runs
//! (softirq) with the `Timed<T>` borrowed. Dropping the value shuts the timer
//! down first and waits for a running callback, so a callback never sees a
//! value being dropped. A callback only borrows: it must not drop the last
//! reference to its own value (it cannot, unless it holds a clone).

use super::bindings as b;
use core::ops::Deref;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::Result;
use kernel::init::InPlaceInit;
use kernel::sync::Arc;
use kernel::types::Opaque;

/// What a timer calls.
pub(crate) trait TimerCallback: Send + Sync + Sized + 'static {
    /// The timer expired (softirq context).
    fn timer_fired(this: &Timed<Self>);
}

/// A value with a kernel timer.
#[repr(C)]
#[kernel::prelude::pin_data(PinnedDrop)]
pub(crate) struct Timed<T: TimerCallback> {
    #[pin]
    timer: Opaque<b::timer_list>,
    value: T,
}

// SAFETY: the timer is driven through the kernel's own synchronisation; `T`
// is `Send + Sync`.
unsafe impl<T: TimerCallback> Send for Timed<T> {}
// SAFETY: as above.
unsafe impl<T: TimerCallback> Sync for Timed<T> {}

impl<T: TimerCallback> Timed<T> {
    /// Allocates `value` with an idle timer.
    pub(crate) fn new_arc(value: T) -> Result<Arc<Self>> {
        let init = kernel::prelude::pin_init!(Timed {
            // SAFETY: `timer_setup` initialises the timer in place; the
            // callback recovers the `Timed<T>` from the timer's address, which
            // is its first field (`repr(C)`).
            timer <- Opaque::ffi_init(|slot| unsafe { b::wg_shim_timer_setup(slot, Some(fired_callback::<T>)) }),
            value,
        });
        Arc::pin_init(init, GFP_KERNEL)
    }

    /// (Re)arms the timer to fire `delay_ns` from now (rounded up to a jiffy).
    /// Does nothing once [`Timed::shutdown`] was called.
    pub(crate) fn arm_in(&self, delay_ns: u64) {
        // SAFETY: the timer was set up in `new_arc`; `mod_timer` may be
        // called from any context, also on a shut-down timer (a no-op).
        unsafe {
            let delta = b::nsecs_to_jiffies(delay_ns).saturating_add(1);
            b::mod_timer(self.timer.get(), b::wg_shim_jiffies().wrapping_add(delta as usize));
        }
    }

    /// Cancels the timer if it is pending (does not wait for a running callback).
    pub(crate) fn cancel(&self) {
        // SAFETY: the timer was set up in `new_arc`.
        unsafe { b::timer_delete(self.timer.get()) };
    }

    /// Cancels the timer for good and waits for a running callback: later
    /// arming does nothing. Process or softirq context, never from this
    /// timer's own callback.
    pub(crate) fn shutdown(&self) {
        // SAFETY: the timer was set up in `new_arc`.
        unsafe { b::timer_shutdown_sync(self.timer.get()) };
    }
}

impl<T: TimerCallback> Deref for Timed<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

#[kernel::prelude::pinned_drop]
impl<T: TimerCallback> PinnedDrop for Timed<T> {
    fn drop(self: core::pin::Pin<&mut Self>) {
        // Before `value` is dropped: no callback may run from here on.
        self.shutdown();
    }
}

unsafe extern "C" fn fired_callback<T: TimerCallback>(timer: *mut b::timer_list) {
    // SAFETY: the timer is the first field of a live `Timed<T>`: the value is
    // dropped only after `shutdown` waited for this callback.
    let this = unsafe { &*timer.cast::<Timed<T>>() };
    T::timer_fired(this);
}

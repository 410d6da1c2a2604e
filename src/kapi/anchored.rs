// SPDX-License-Identifier: GPL-2.0
//! A value with its own kernel execution contexts: one timer, one NAPI
//! context and two work items, allocated together with it in an [`Arc`].
//!
//! This is what a WireGuard peer needs (its protocol timer, its ordered
//! receive queue, its ordered transmit worker and its handshake sender), in a
//! form that keeps the callbacks' access to the value sound without any
//! `container_of` in the driver: each callback receives the [`Anchored<T>`]
//! borrowed. [`Anchored::shutdown`] (also run when the value is dropped,
//! before the value itself) stops every context for good and waits for the
//! ones running; later arming, scheduling or queueing is ignored.
//!
//! A callback only borrows the value: it must not drop the last reference to
//! it (which it cannot do unless it holds a clone of the `Arc`).

use super::bindings as b;
use super::netdev::{LinkOps, NetDevice};
use super::skb::SkBuff;
use super::work::Workqueue;
use core::ops::Deref;
use core::sync::atomic::{AtomicU8, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::Result;
use kernel::init::InPlaceInit;
use kernel::error::Error;
use kernel::init::PinInit;
use kernel::prelude::{pin_data, pinned_drop, try_pin_init};
use kernel::sync::{Arc, ArcBorrow};
use kernel::types::Opaque;

/// Which of the two work items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WorkId {
    /// The first work item.
    A,
    /// The second work item.
    B,
}

/// The callbacks of an [`Anchored`] value. Each has a default that does nothing.
pub(crate) trait AnchorOps: Send + Sync + Sized + 'static {
    /// The timer expired (softirq).
    fn timer_fired(_this: &Anchored<Self>) {}

    /// NAPI poll (softirq): process at most `budget` packets, return how many
    /// were, and call [`Anchored::napi_complete`] when done with fewer.
    fn napi_poll(_this: &Anchored<Self>, _budget: i32) -> i32 {
        0
    }

    /// A work item runs (process context).
    fn work(_this: &Anchored<Self>, _which: WorkId) {}
}

/// `state` bits.
const NAPI_ADDED: u8 = 1;
const SHUT_DOWN: u8 = 2;

/// A value with a timer, a NAPI context and two work items.
#[repr(C)]
#[pin_data(PinnedDrop)]
pub(crate) struct Anchored<T: AnchorOps> {
    #[pin]
    timer: Opaque<b::timer_list>,
    #[pin]
    napi: Opaque<b::napi_struct>,
    #[pin]
    work_a: Opaque<b::work_struct>,
    #[pin]
    work_b: Opaque<b::work_struct>,
    state: AtomicU8,
    #[pin]
    value: T,
}

// SAFETY: the kernel objects are driven through the kernel's own
// synchronisation; `T` is `Send + Sync`.
unsafe impl<T: AnchorOps> Send for Anchored<T> {}
// SAFETY: as above.
unsafe impl<T: AnchorOps> Sync for Anchored<T> {}

impl<T: AnchorOps> Anchored<T> {
    /// Allocates the value `value` initialises, with an idle timer, an
    /// unregistered NAPI context and idle work items.
    pub(crate) fn new_arc(value: impl PinInit<T, Error>) -> Result<Arc<Self>> {
        let init = try_pin_init!(Anchored {
            // SAFETY: `timer_setup` initialises the timer in place.
            timer <- Opaque::ffi_init(|slot| unsafe { b::wg_shim_timer_setup(slot, Some(timer_cb::<T>)) }),
            // SAFETY: zeroed until `netif_napi_add` in `napi_add`, which
            // initialises every field it uses.
            napi <- Opaque::ffi_init(|slot: *mut b::napi_struct| unsafe { core::ptr::write_bytes(slot, 0, 1) }),
            // SAFETY: `INIT_WORK` initialises the work items in place.
            work_a <- Opaque::ffi_init(|slot| unsafe { b::wg_shim_init_work(slot, Some(work_a_cb::<T>)) }),
            // SAFETY: as above.
            work_b <- Opaque::ffi_init(|slot| unsafe { b::wg_shim_init_work(slot, Some(work_b_cb::<T>)) }),
            state: AtomicU8::new(0),
            value <- value,
        }? Error);
        Arc::pin_init(init, GFP_KERNEL)
    }

    /// A new reference to the `Arc` this value lives in.
    pub(crate) fn to_arc(&self) -> Arc<Self> {
        // SAFETY: an `Anchored` is only ever made by `new_arc`, pinned inside
        // an `Arc` it never leaves, so `self` is the value of a live `Arc`
        // whose count stays above zero while `&self` is borrowed.
        unsafe { ArcBorrow::from_raw(self) }.into()
    }

    fn is_shut_down(&self) -> bool {
        self.state.load(Ordering::Acquire) & SHUT_DOWN != 0
    }

    /// (Re)arms the timer to fire `delay_ns` from now (rounded up to a jiffy).
    pub(crate) fn arm_timer_in(&self, delay_ns: u64) {
        // SAFETY: the timer was set up in `new_arc`; after `shutdown` the
        // timer is shut down and `mod_timer` does nothing.
        unsafe {
            let delta = b::nsecs_to_jiffies(delay_ns).saturating_add(1);
            b::mod_timer(self.timer.get(), b::wg_shim_jiffies().wrapping_add(delta as usize));
        }
    }

    /// Cancels the timer if it is pending (does not wait for a running callback).
    pub(crate) fn cancel_timer(&self) {
        // SAFETY: the timer was set up in `new_arc`.
        unsafe { b::timer_delete(self.timer.get()) };
    }

    /// Registers and enables the NAPI context on `dev` (once; process context;
    /// serialised with [`Anchored::shutdown`] by the caller, e.g. under the
    /// device's configuration lock).
    pub(crate) fn napi_add<D: LinkOps>(&self, dev: &NetDevice<D>) {
        // Only from the pristine state: not added yet, not shut down.
        if self.state.compare_exchange(0, NAPI_ADDED, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return;
        }
        // SAFETY: first and only registration (checked above) of a NAPI
        // context that lives as long as the value, on a live device; deleted
        // in `shutdown` before the value goes.
        unsafe {
            b::netif_napi_add_weight(dev.as_raw(), self.napi.get(), Some(napi_cb::<T>), 64);
            b::napi_enable(self.napi.get());
        }
    }

    /// Schedules a NAPI poll (no-op if not added, already scheduled, or shut down).
    pub(crate) fn napi_schedule(&self) {
        if self.state.load(Ordering::Acquire) != NAPI_ADDED {
            // Not added, or shut down.
            return;
        }
        // SAFETY: the context is registered; a disabled context refuses
        // `napi_schedule_prep`.
        unsafe {
            if b::napi_schedule_prep(self.napi.get()) {
                b::__napi_schedule(self.napi.get());
            }
        }
    }

    /// Ends a poll that did `work_done` < budget packets; returns whether the
    /// context is idle now.
    pub(crate) fn napi_complete(&self, work_done: i32) -> bool {
        // SAFETY: called from our poll callback on a registered context.
        unsafe { b::napi_complete_done(self.napi.get(), work_done) }
    }

    /// Hands a received packet to the stack through GRO (from the poll).
    pub(crate) fn napi_gro_receive(&self, skb: SkBuff) {
        // SAFETY: called from our poll callback; the stack takes the skb.
        unsafe { b::napi_gro_receive(self.napi.get(), skb.into_raw()) };
    }

    /// Queues a work item on `wq`, on `cpu` if given. Returns false if it was
    /// already queued. Ignored after `shutdown`.
    pub(crate) fn queue_work(&self, which: WorkId, wq: &Workqueue, cpu: Option<u32>) -> bool {
        let work = match which {
            WorkId::A => self.work_a.get(),
            WorkId::B => self.work_b.get(),
        };
        wq.queue(work, cpu)
    }

    /// Stops every context for good and waits for running callbacks: the
    /// timer is shut down, NAPI disabled and deleted, the work items disabled.
    /// Process context; never from one of this value's own callbacks.
    /// Idempotent.
    pub(crate) fn shutdown(&self) {
        let s = self.state.fetch_or(SHUT_DOWN, Ordering::AcqRel);
        if s & SHUT_DOWN != 0 {
            return;
        }
        // SAFETY: each object was initialised in `new_arc` (NAPI: added, if
        // the bit says so). Order: the timer (it may schedule the others),
        // then NAPI, then the work items, which `disable_work_sync` keeps from
        // being queued again by whatever still runs.
        unsafe {
            b::timer_shutdown_sync(self.timer.get());
            if s & NAPI_ADDED != 0 {
                b::napi_disable(self.napi.get());
                b::__netif_napi_del(self.napi.get());
                b::synchronize_net();
            }
            b::disable_work_sync(self.work_a.get());
            b::disable_work_sync(self.work_b.get());
        }
    }
}

impl<T: AnchorOps> Deref for Anchored<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

#[pinned_drop]
impl<T: AnchorOps> PinnedDrop for Anchored<T> {
    fn drop(self: core::pin::Pin<&mut Self>) {
        // Before `value` is dropped: no callback may run from here on.
        self.shutdown();
    }
}

/// # Safety
///
/// `ptr` points to the field at `offset` of a live `Anchored<T>`.
unsafe fn container<'a, T: AnchorOps, F>(ptr: *mut F, offset: usize) -> &'a Anchored<T> {
    // SAFETY: per the contract; the value is dropped only after `shutdown`
    // waited for every callback.
    unsafe { &*ptr.cast::<u8>().sub(offset).cast::<Anchored<T>>() }
}

unsafe extern "C" fn timer_cb<T: AnchorOps>(timer: *mut b::timer_list) {
    // SAFETY: our timer, inside a live `Anchored<T>`.
    let this = unsafe { container::<T, _>(timer, core::mem::offset_of!(Anchored<T>, timer)) };
    if !this.is_shut_down() {
        T::timer_fired(this);
    }
}

unsafe extern "C" fn napi_cb<T: AnchorOps>(napi: *mut b::napi_struct, budget: i32) -> i32 {
    // SAFETY: our NAPI context, inside a live `Anchored<T>`.
    let this = unsafe { container::<T, _>(napi, core::mem::offset_of!(Anchored<T>, napi)) };
    T::napi_poll(this, budget)
}

unsafe extern "C" fn work_a_cb<T: AnchorOps>(work: *mut b::work_struct) {
    // SAFETY: our first work item, inside a live `Anchored<T>`.
    let this = unsafe { container::<T, _>(work, core::mem::offset_of!(Anchored<T>, work_a)) };
    T::work(this, WorkId::A);
}

unsafe extern "C" fn work_b_cb<T: AnchorOps>(work: *mut b::work_struct) {
    // SAFETY: our second work item, inside a live `Anchored<T>`.
    let this = unsafe { container::<T, _>(work, core::mem::offset_of!(Anchored<T>, work_b)) };
    T::work(this, WorkId::B);
}

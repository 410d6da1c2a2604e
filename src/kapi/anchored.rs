// SPDX-License-Identifier: GPL-2.0
//! A value with its own kernel execution contexts: one timer, one NAPI
//! context and two work items, allocated together with it in an [`Arc`].
//!
//! This is what a WireGuard peer needs (its protocol timer, its ordered
//! receive queue, its ordered transmit worker and its handshake sender), in a
//! form that keeps the callbacks' access to the value sound without any
//! `container_of` in the driver: each callback receives the [`Anchored<T>`]
//! borrowed. [`Anchored::shutdown_all`] stops every context for good and waits
//! for the ones running; later arming, scheduling or queueing is ignored.
//!
//! Lifetime: the first arming, queueing or NAPI registration *activates* the
//! value, which then holds one reference to its own `Arc`; only
//! [`Anchored::shutdown_all`] (process context: it sleeps) gives that reference
//! back, after every context has stopped. So the last reference cannot go
//! while a context may still run, and dropping an `Anchored` never has to
//! stop anything: its `Drop` does nothing and may run in any context (a
//! softirq, with BH off, under a spinlock). A value that was activated and
//! never shut down is leaked (kmemleak shows it), never freed under a
//! running callback. A value never activated has nothing to stop and is
//! freed as any other.

use super::bindings as b;
use super::netdev::{LinkOps, NetDevice};
use super::skb::SkBuff;
use super::work::Workqueue;
use core::ops::Deref;
use core::sync::atomic::{AtomicU8, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::Error;
use kernel::error::Result;
use kernel::init::InPlaceInit;
use kernel::init::PinInit;
use kernel::new_mutex;
use kernel::prelude::{pin_data, try_pin_init};
use kernel::sync::{Arc, ArcBorrow, Mutex};
use kernel::types::Opaque;

/// Which of the two work items.
pub(crate) enum WorkId {
    /// The first work item.
    A,
    /// The second work item.
    B,
}

/// The callbacks of an [`Anchored`] value.
pub(crate) trait AnchorOps: Send + Sync + Sized + 'static {
    /// The timer expired (softirq).
    fn timer_fired(this: &Anchored<Self>);

    /// NAPI poll (softirq): process at most `budget` packets, return how many
    /// were, and call [`Anchored::napi_complete`] when done with fewer.
    fn napi_poll(this: &Anchored<Self>, budget: i32) -> i32;

    /// A work item runs (process context).
    fn work(this: &Anchored<Self>, which: WorkId);
}

/// `state` bits.
const NAPI_ADDED: u8 = 1;
const SHUT_DOWN: u8 = 2;
/// Activated: the value holds a reference to its own `Arc` (see the module
/// documentation), given back by `shutdown_all`.
const ACTIVE: u8 = 4;
/// The NAPI context is registered and enabled (set under `napi_lock`).
const NAPI_LIVE: u8 = 8;
/// `shutdown_all` gave back the value's reference to itself.
const RELEASED: u8 = 16;

/// A value with a timer, a NAPI context and two work items.
///
/// Dropping it stops nothing and never sleeps: a value that was ever active
/// held a reference to itself until `shutdown_all` had stopped every
/// context; one never active has none to stop (its timer and work items were
/// only set up, its NAPI context never added).
///
/// # Invariants
///
/// - It is only made by [`Anchored::new_arc`], pinned inside the `Arc` it never leaves, with its
///   timer and work items initialised there, its NAPI context zeroed and its `state` empty.
/// - `activate` takes one reference to that `Arc` as it sets `ACTIVE` (once), and only
///   `shutdown_all` gives it back, as it sets `RELEASED`, after `SHUT_DOWN` was set. A timer,
///   NAPI or work callback runs only on a value that was activated: the contexts are armed,
///   added or queued only once `activate` succeeded.
/// - State bits are only ever added. Once `SHUT_DOWN` is set, `activate` refuses; `stop_all`
///   then shuts the timer down and disables the work items, so that an arming or a queueing by a
///   caller that activated just before is stopped there or ignored.
/// - `NAPI_LIVE` is set (under `napi_lock`) only once the NAPI context was registered and
///   enabled; `stop_all` deletes it only after `SHUT_DOWN` is set, under the same lock.
#[repr(C)]
#[pin_data]
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
    /// Serialises the NAPI registration with its removal in `shutdown_all`.
    #[pin]
    napi_lock: Mutex<()>,
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
        // INVARIANT: pinned into a new `Arc`, with the timer and work items initialised, the
        // NAPI context zeroed and no state bit set (not active, so no reference to itself).
        let init = try_pin_init!(Anchored {
            // SAFETY: `timer_setup` initialises the timer in place.
            timer <- Opaque::ffi_init(|slot| unsafe { b::wg_shim_timer_setup(slot, Some(timer_cb::<T>)) }),
            // SAFETY: zeroed until `netif_napi_add` in `napi_add`, which
            // initialises every field it uses.
            napi <- Opaque::ffi_init(|slot: *mut b::napi_struct| unsafe { core::ptr::write_bytes(slot, 0, 1) }),
            // SAFETY: `INIT_WORK` initialises the work items in place.
            work_a <- Opaque::ffi_init(|slot| unsafe { b::wg_shim_init_work(slot, Some(work_cb::<T, false>)) }),
            // SAFETY: as above.
            work_b <- Opaque::ffi_init(|slot| unsafe { b::wg_shim_init_work(slot, Some(work_cb::<T, true>)) }),
            state: AtomicU8::new(0),
            napi_lock <- new_mutex!((), "anchored_napi"),
            value <- value,
        }? Error);
        Arc::pin_init(init, GFP_KERNEL)
    }

    /// A new reference to the `Arc` this value lives in.
    pub(crate) fn to_arc(&self) -> Arc<Self> {
        // SAFETY: an `Anchored` is only ever made by `new_arc`, pinned inside
        // an `Arc` it never leaves, so `self` is the value of a live `Arc`
        // whose count stays above zero while `&self` is borrowed (by a
        // holder of the `Arc`, or by a callback, which runs only while the
        // value is active and so holds its own reference).
        unsafe { ArcBorrow::from_raw(self) }.into()
    }

    /// Activates the value (once) with `extra` bits added to its state,
    /// unless it is shut down: then returns false and changes nothing.
    /// Activation takes the value's reference to itself.
    fn activate(&self, extra: u8) -> bool {
        // No change (refused) if shut down or if the bits are there already.
        let changed = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                let new = cur | ACTIVE | extra;
                (cur & SHUT_DOWN == 0 && new != cur).then_some(new)
            });
        match changed {
            Ok(cur) if cur & ACTIVE == 0 => {
                // INVARIANT: this call set `ACTIVE`, so it is the one that takes the reference.
                // The reference `shutdown_all` gives back.
                core::mem::forget(self.to_arc());
                true
            }
            Ok(_) => true,
            Err(cur) => cur & SHUT_DOWN == 0,
        }
    }

    /// (Re)arms the timer to fire `delay_ns` from now (rounded up to a jiffy).
    pub(crate) fn arm_timer_in(&self, delay_ns: u64) {
        if !self.activate(0) {
            return;
        }
        // SAFETY: the timer was set up in `new_arc`; if `shutdown_all` ran
        // since the check above, the timer is shut down and `mod_timer`
        // does nothing. `jiffies` is read as the C `volatile` it is.
        unsafe {
            let delta = b::nsecs_to_jiffies(delay_ns).saturating_add(1);
            let now = core::ptr::read_volatile(core::ptr::addr_of!(b::jiffies));
            b::mod_timer(self.timer.get(), now.wrapping_add(delta as usize));
        }
    }

    /// Cancels the timer if it is pending (does not wait for a running callback).
    pub(crate) fn cancel_timer(&self) {
        // SAFETY: the timer was set up in `new_arc`.
        unsafe { b::timer_delete(self.timer.get()) };
    }

    /// Registers and enables the NAPI context on `dev` (once; process
    /// context; nothing once shut down).
    pub(crate) fn napi_add<D: LinkOps>(&self, dev: &NetDevice<D>) {
        let _g = self.napi_lock.lock();
        if self.state.load(Ordering::Acquire) & NAPI_ADDED != 0 || !self.activate(NAPI_ADDED) {
            return;
        }
        // SAFETY: first and only registration (the bit, set once under the
        // lock) of a NAPI context that lives as long as the value, on a live
        // device; deleted in `shutdown_all` (under the same lock) before the
        // value goes.
        unsafe {
            b::netif_napi_add_weight(dev.as_raw(), self.napi.get(), Some(napi_cb::<T>), 64);
            b::napi_enable(self.napi.get());
        }
        // INVARIANT: registered and enabled just above, under `napi_lock` (held).
        self.state.fetch_or(NAPI_LIVE, Ordering::AcqRel);
    }

    /// Schedules a NAPI poll (no-op if not added, already scheduled, or shut down).
    pub(crate) fn napi_schedule(&self) {
        if self.state.load(Ordering::Acquire) & (NAPI_LIVE | SHUT_DOWN) != NAPI_LIVE {
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
        unsafe { b::napi_gro_receive(self.napi.get(), skb.into_nonnull().as_ptr()) };
    }

    /// Queues a work item on `wq` (no CPU asked for), unless it is queued
    /// already. Ignored after `shutdown_all`.
    pub(crate) fn queue_work(&self, which: WorkId, wq: &Workqueue) {
        let work = match which {
            WorkId::A => self.work_a.get(),
            WorkId::B => self.work_b.get(),
        };
        // If `shutdown_all` ran since the activation, the work item is
        // disabled and this is refused.
        if self.activate(0) {
            wq.queue(work, None);
        }
    }

    /// Stops every context of every value of `all` for good and waits for
    /// running callbacks: the timer is shut down, NAPI disabled and deleted,
    /// the work items disabled. Then gives back each value's reference to
    /// itself (if it was active): the last `Arc` may be dropped anywhere
    /// afterwards. One RCU grace period for all their NAPI contexts instead
    /// of one each (deleting thousands of values under RTNL), and a chance to
    /// reschedule between values. Process context (it sleeps); from one of
    /// these values' own callbacks it would wait for itself for ever.
    /// Idempotent. Takes `Arc`s, so that giving back a value's own reference
    /// never frees it under the caller.
    pub(crate) fn shutdown_all(all: &[Arc<Self>]) {
        let mut napi_deleted = false;
        for (n, this) in all.iter().enumerate() {
            napi_deleted |= this.stop_all();
            // Process context (a documented requirement), no lock held here.
            super::ordered::cond_resched_every_64(n);
        }
        if napi_deleted {
            // Readers of the device's NAPI list (under RCU) are done with
            // the deleted contexts before any of them may be freed.
            // SAFETY: process context.
            unsafe { b::synchronize_net() };
        }
        for this in all {
            if this.state.fetch_or(RELEASED, Ordering::AcqRel) & (ACTIVE | RELEASED) != ACTIVE {
                continue;
            }
            let raw: *const Self = &**this;
            // INVARIANT: `RELEASED` went from 0 to 1 just now, after `SHUT_DOWN` was set (by
            // this call's `stop_all` or an earlier one).
            // SAFETY: the reference `activate` took (once, as the `ACTIVE`
            // bit went from 0 to 1) and forgot, given back once (`RELEASED`
            // went from 0 to 1 just now), after `stop_all` set `SHUT_DOWN`
            // (no callback runs or will run) and the grace period above.
            // `all` still holds a reference, so the value is not freed here.
            drop(unsafe { Arc::from_raw(raw) });
        }
    }

    /// Stops every context of an active value for good (once: the first
    /// call sets `SHUT_DOWN`; later ones and those on a value never
    /// activated do nothing). Returns whether the NAPI context was deleted,
    /// which its caller must follow by a grace period before the value may
    /// be freed.
    fn stop_all(&self) -> bool {
        let s = self.state.fetch_or(SHUT_DOWN, Ordering::AcqRel);
        if s & SHUT_DOWN != 0 || s & ACTIVE == 0 {
            // Done before, or never activated (and `activate` refuses from
            // now on): no timer was armed, no work queued, no NAPI added.
            return false;
        }
        // Taken after `SHUT_DOWN` was set: no registration starts after it.
        let _g = self.napi_lock.lock();
        let s = self.state.load(Ordering::Acquire);
        // SAFETY: each object was initialised in `new_arc` (NAPI: registered
        // and enabled, if the bit says so, set under the lock we hold).
        // Order: the timer (it may schedule the others), then NAPI, then the
        // work items, which `disable_work_sync` keeps from being queued again
        // by whatever still runs.
        unsafe {
            b::timer_shutdown_sync(self.timer.get());
            if s & NAPI_LIVE != 0 {
                b::napi_disable(self.napi.get());
                b::__netif_napi_del(self.napi.get());
            }
            b::disable_work_sync(self.work_a.get());
            b::disable_work_sync(self.work_b.get());
        }
        s & NAPI_LIVE != 0
    }
}

impl<T: AnchorOps> Deref for Anchored<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// # Safety
///
/// `ptr` points to the field at `offset` of a live `Anchored<T>`.
unsafe fn container<'a, T: AnchorOps, F>(ptr: *mut F, offset: usize) -> &'a Anchored<T> {
    // SAFETY: per the contract; a callback runs only on an active value,
    // which is not dropped before `shutdown_all` waited for every callback.
    unsafe { &*ptr.cast::<u8>().sub(offset).cast::<Anchored<T>>() }
}

unsafe extern "C" fn timer_cb<T: AnchorOps>(timer: *mut b::timer_list) {
    // SAFETY: our timer, inside a live `Anchored<T>`.
    let this = unsafe { container::<T, _>(timer, core::mem::offset_of!(Anchored<T>, timer)) };
    if this.state.load(Ordering::Acquire) & SHUT_DOWN == 0 {
        T::timer_fired(this);
    }
}

unsafe extern "C" fn napi_cb<T: AnchorOps>(napi: *mut b::napi_struct, budget: i32) -> i32 {
    // SAFETY: our NAPI context, inside a live `Anchored<T>`.
    let this = unsafe { container::<T, _>(napi, core::mem::offset_of!(Anchored<T>, napi)) };
    T::napi_poll(this, budget)
}

/// The callback of work item `A` (`B` false) or `B` (`B` true).
unsafe extern "C" fn work_cb<T: AnchorOps, const B: bool>(work: *mut b::work_struct) {
    let (offset, which) = match B {
        false => (core::mem::offset_of!(Anchored<T>, work_a), WorkId::A),
        true => (core::mem::offset_of!(Anchored<T>, work_b), WorkId::B),
    };
    // SAFETY: our work item `which`, inside a live `Anchored<T>`.
    T::work(unsafe { container::<T, _>(work, offset) }, which);
}

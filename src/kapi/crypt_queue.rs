// SPDX-License-Identifier: GPL-2.0
//! A bounded multi-producer, multi-consumer queue of owned items (`ptr_ring`)
//! drained by per-CPU work items: the device-wide handshake, encryption and
//! decryption queues. Producers never block; a full queue refuses the item.
//! A queue holds at most as many items as it has slots, and items of at most
//! a given weight together (a bundle of packets weighs its packets).
//!
//! The queue lives in an [`Arc`]; each CPU has its own work item pointing at
//! it, queued round-robin over the online CPUs by [`CryptQueue::kick`] (or
//! over the first few of them, [`CryptQueue::kick_among`]). The
//! worker calls [`CryptWorker::run`] with the queue. Dropping the queue
//! disables every work item (waiting for running ones) before the ring and
//! the per-CPU memory go; packets still queued are freed.

use super::bindings as b;
use super::skb::SkBuff;
use super::work::Workqueue;
use core::ops::Deref;
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::{code::ENOMEM, to_result, Result};
use kernel::init::{pin_init_from_closure, InPlaceInit};
use kernel::prelude::{pin_data, pinned_drop, try_pin_init};
use kernel::sync::Arc;
use kernel::types::Opaque;

// The ring is embedded by value: bindgen must have seen the whole struct
// (an incomplete type would be zero-sized and the C side would write past it).
const _: () = assert!(core::mem::size_of::<b::ptr_ring>() >= 64);

/// What the per-CPU workers do with the queue.
pub(crate) trait CryptWorker: Send + Sync + Sized + 'static {
    /// What the queue holds.
    type Item: RingItem;
    /// Drains (some of) the queue (process context, one CPU).
    fn run(queue: &CryptQueue<Self>);
}

/// Something a ring can hold: an owned object that travels as a pointer.
/// Dropping the queue drops what is still in it.
pub(crate) trait RingItem: Send + Sized {
    /// Gives up ownership for a pointer.
    fn into_ring(self) -> core::ptr::NonNull<core::ffi::c_void>;
    /// What it weighs against the queue's limit (the same from when it is
    /// queued until it is taken).
    fn weight(&self) -> u32 {
        1
    }
    /// # Safety
    ///
    /// `ptr` came from [`RingItem::into_ring`] of this type, and ownership
    /// is taken back once.
    unsafe fn from_ring(ptr: core::ptr::NonNull<core::ffi::c_void>) -> Self;
}

impl RingItem for SkBuff {
    fn into_ring(self) -> core::ptr::NonNull<core::ffi::c_void> {
        self.into_nonnull().cast()
    }

    unsafe fn from_ring(ptr: core::ptr::NonNull<core::ffi::c_void>) -> Self {
        // SAFETY: per the contract, an skb given up by `into_ring`.
        unsafe { SkBuff::from_nonnull(ptr.cast()) }
    }
}

/// A CPU's work item and the queue it serves.
#[repr(C)]
struct PerCpu {
    work: b::work_struct,
    queue: *const core::ffi::c_void,
}

/// A bounded queue of skbs with per-CPU workers, plus the workers' context `T`.
///
/// # Invariants
///
/// - It is only made by [`CryptQueue::new_arc`], inside an `Arc`, so its address is stable.
/// - `ring` is initialised (`ptr_ring_init`, for `len` items) and holds only pointers that
///   `T::Item::into_ring` gave up, each owned by the ring.
/// - Once `new_arc` has returned the queue, `workers` points to per-CPU memory with a `PerCpu`
///   for every possible CPU, whose work item is initialised (to run `worker_cb::<T>`) and whose
///   `queue` points to this queue; the drop disables every work item before it frees that
///   memory and the ring. Before that (only inside `new_arc`) it is null.
#[pin_data(PinnedDrop)]
pub(crate) struct CryptQueue<T: CryptWorker> {
    #[pin]
    ring: Opaque<b::ptr_ring>,
    /// The ring's size.
    pub(super) len: u32,
    /// The weight of the items queued (counted only with a `max_weight`).
    weight: AtomicU32,
    /// The most they may weigh together; `None`: items are not weighed (no
    /// shared counter written by producers and workers for every item).
    max_weight: Option<u32>,
    /// Per-CPU `PerCpu`, set once the queue's address is known.
    workers: AtomicPtr<PerCpu>,
    last_cpu: AtomicI32,
    ctx: T,
}

// SAFETY: the ring has its own locks (producer and consumer); `T` is
// `Send + Sync`.
unsafe impl<T: CryptWorker> Send for CryptQueue<T> {}
// SAFETY: as above.
unsafe impl<T: CryptWorker> Sync for CryptQueue<T> {}

impl<T: CryptWorker> CryptQueue<T> {
    /// A queue of at most `len` items weighing at most `max_weight` together
    /// (if any), whose workers see `ctx` (process context).
    pub(crate) fn new_arc(len: u32, max_weight: Option<u32>, ctx: T) -> Result<Arc<Self>> {
        let init = try_pin_init!(CryptQueue {
            // SAFETY: `ptr_ring_init` initialises the ring in place or fails
            // leaving nothing to free, which is what the closure reports.
            ring <- unsafe {
                pin_init_from_closure(move |slot: *mut Opaque<b::ptr_ring>| {
                    to_result(b::wg_shim_ptr_ring_init(Opaque::raw_get(slot), len))
                })
            },
            len,
            weight: AtomicU32::new(0),
            max_weight,
            workers: AtomicPtr::new(core::ptr::null_mut()),
            last_cpu: AtomicI32::new(-1),
            ctx,
        }? kernel::error::Error);
        let q = Arc::pin_init(init, GFP_KERNEL)?;
        // SAFETY: allocates zeroed per-CPU memory for one `PerCpu` per CPU.
        let workers = unsafe { b::wg_shim_alloc_percpu(size_of::<PerCpu>(), align_of::<PerCpu>()) };
        let workers = workers.cast::<PerCpu>();
        if workers.is_null() {
            return Err(ENOMEM);
        }
        let target = core::ptr::from_ref::<Self>(&q).cast::<core::ffi::c_void>();
        for cpu in cpus_after(-1, false) {
            // SAFETY: every possible CPU's slot is ours; the queue's address
            // is stable (inside the `Arc`) and outlives the work items (see
            // Drop).
            unsafe {
                let w = b::wg_shim_per_cpu_ptr(workers.cast(), cpu).cast::<PerCpu>();
                (*w).queue = target;
                b::wg_shim_init_work(&mut (*w).work, Some(worker_cb::<T>));
            }
        }
        // INVARIANT: every possible CPU's slot was set up above, before the queue is handed
        // out; on the error return above the pointer stays null.
        q.workers.store(workers, Ordering::Release);
        Ok(q)
    }

    /// Queues `item`; gives it back when the queue is full.
    pub(crate) fn produce(&self, item: T::Item) -> core::result::Result<(), T::Item> {
        // SAFETY: `ptr_ring_produce_bh` takes the producer lock itself.
        unsafe { self.produce_with(item, b::wg_shim_ptr_ring_produce_bh) }
    }

    /// Queues `item` unless the queue is full or another CPU is queueing at
    /// this moment (the producer lock is contended: `spin_trylock_bh`); gives
    /// it back if not queued. The C driver queues handshakes this way once
    /// its queue is half full, so that a flood spread over every CPU does not
    /// have them all spinning on the producer lock.
    pub(crate) fn try_produce(&self, item: T::Item) -> core::result::Result<(), T::Item> {
        // SAFETY: the ring, and so its producer lock, is initialised.
        let lock = unsafe { core::ptr::addr_of_mut!((*self.ring.get()).producer_lock) };
        // SAFETY: as above; released below if taken.
        if !unsafe { b::wg_shim_spin_trylock_bh(lock) } {
            return Err(item);
        }
        // SAFETY: the producer lock is held, as `__ptr_ring_produce` requires.
        let r = unsafe { self.produce_with(item, b::wg_shim___ptr_ring_produce) };
        // SAFETY: taken above.
        unsafe { b::wg_shim_spin_unlock_bh(lock) };
        r
    }

    /// Queues `item` with `produce`; gives it back if refused (no slot, or
    /// too much weight queued).
    ///
    /// # Safety
    ///
    /// `produce` is a `ptr_ring` producer the caller may call now (it holds
    /// the locks it needs).
    unsafe fn produce_with(
        &self,
        item: T::Item,
        produce: unsafe extern "C" fn(*mut b::ptr_ring, *mut core::ffi::c_void) -> i32,
    ) -> core::result::Result<(), T::Item> {
        // Counted before it is queued (a worker may take it, and uncount it,
        // before `produce` returns), uncounted if refused.
        let weight = self.max_weight.map(|max| (item.weight(), max));
        if let Some((weight, max)) = weight {
            let before = self.weight.fetch_add(weight, Ordering::Relaxed);
            if weight > max.saturating_sub(before) {
                self.weight.fetch_sub(weight, Ordering::Relaxed);
                return Err(item);
            }
        }
        let ptr = item.into_ring();
        // INVARIANT: on success the ring owns `ptr`, which `into_ring` gave up.
        // SAFETY: the ring is initialised, `produce` callable (the contract);
        // on success the ring owns the item.
        if unsafe { produce(self.ring.get(), ptr.as_ptr()) } == 0 {
            Ok(())
        } else {
            if let Some((weight, _)) = weight {
                self.weight.fetch_sub(weight, Ordering::Relaxed);
            }
            // SAFETY: refused: the item is still ours.
            Err(unsafe { T::Item::from_ring(ptr) })
        }
    }

    /// Takes the oldest item, if any.
    pub(crate) fn consume(&self) -> Option<T::Item> {
        // SAFETY: the ring holds only items given up by `produce`; consuming
        // one hands its ownership over.
        let ptr = unsafe { b::wg_shim_ptr_ring_consume_bh(self.ring.get()) };
        // SAFETY: as above.
        let item = core::ptr::NonNull::new(ptr).map(|p| unsafe { T::Item::from_ring(p) })?;
        if self.max_weight.is_some() {
            self.weight.fetch_sub(item.weight(), Ordering::Relaxed);
        }
        Some(item)
    }

    /// Queues a worker on the next online CPU after the last one used.
    pub(crate) fn kick(&self, wq: &Workqueue) {
        self.kick_up_to(wq, i32::MAX);
    }

    /// As [`Self::kick`], but round-robin over the first `among` online CPUs
    /// only (all of them if there are fewer).
    pub(crate) fn kick_among(&self, wq: &Workqueue, among: usize) {
        self.kick_up_to(wq, nth_online_cpu(among.saturating_sub(1)));
    }

    /// Queues a worker on the next online CPU up to `bound` after the last
    /// one used, wrapping around to the first online CPU.
    fn kick_up_to(&self, wq: &Workqueue, bound: i32) {
        let last = self.last_cpu.load(Ordering::Relaxed);
        let after = cpus_after(last, true).next().filter(|&cpu| cpu <= bound);
        // Wraps around (the CPU running this is online: there is a first).
        let Some(cpu) = after.or_else(|| cpus_after(-1, true).next()) else {
            return;
        };
        self.last_cpu.store(cpu, Ordering::Relaxed);
        let workers = self.workers.load(Ordering::Acquire);
        // SAFETY: `workers` was set up for every possible CPU in `new_arc`
        // and lives as long as `self`.
        unsafe {
            let w = b::wg_shim_per_cpu_ptr(workers.cast(), cpu).cast::<PerCpu>();
            wq.queue(&mut (*w).work, Some(cpu));
        }
    }
}

impl<T: CryptWorker> Deref for CryptQueue<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.ctx
    }
}

#[pinned_drop]
impl<T: CryptWorker> PinnedDrop for CryptQueue<T> {
    fn drop(self: core::pin::Pin<&mut Self>) {
        let workers = self.workers.load(Ordering::Acquire);
        // SAFETY: every possible CPU's work item is disabled (waiting for a
        // running one) before the per-CPU memory and the ring are freed; the
        // ring then frees the skbs still queued.
        unsafe {
            if !workers.is_null() {
                for cpu in cpus_after(-1, false) {
                    let w = b::wg_shim_per_cpu_ptr(workers.cast(), cpu).cast::<PerCpu>();
                    b::disable_work_sync(&mut (*w).work);
                }
                b::free_percpu(workers.cast());
            }
        }
        // No worker runs: what is left is dropped here, then the ring freed.
        while self.consume().is_some() {}
        // SAFETY: the ring is initialised and empty; nothing uses it again.
        unsafe { b::wg_shim_ptr_ring_cleanup(self.ring.get()) };
    }
}

unsafe extern "C" fn worker_cb<T: CryptWorker>(work: *mut b::work_struct) {
    // SAFETY: the work item is the first field of a `PerCpu` whose queue
    // pointer was set before the item could be queued, and the queue
    // outlives its work items (Drop disables them first).
    let q = unsafe { &*(*work.cast::<PerCpu>()).queue.cast::<CryptQueue<T>>() };
    T::run(q);
}

/// How many CPUs are online.
pub(crate) fn online_cpus() -> usize {
    // SAFETY: reads the online count (an atomic).
    unsafe { b::wg_shim_num_online_cpus() as usize }
}

/// Whether the CPU running this is among the first `n` online CPUs. A
/// worker of a [`CryptQueue`] runs on the CPU it was queued on, unless that
/// CPU went offline meanwhile (its work then runs elsewhere): a hint.
pub(crate) fn running_on_first_cpus(n: usize) -> bool {
    // SAFETY: reads the CPU number; a stale one (after a migration) only
    // misplaces the answer, which callers take as a hint.
    let this = unsafe { b::wg_shim_raw_smp_processor_id() };
    this <= nth_online_cpu(n.saturating_sub(1))
}

/// The online CPU a number picks, the same one while the online CPUs stay
/// the same (the `id % num_online_cpus()`th, as the C driver's
/// `wg_cpumask_choose_online`, which picks again when its CPU went
/// offline); `None` if CPUs went offline while it looked.
pub(crate) fn online_cpu_for(id: u64) -> Option<u32> {
    let online = online_cpus().max(1) as u64;
    let n = usize::try_from(id % online).unwrap_or(0);
    // `nth_online_cpu` says "none" as `i32::MAX`, above every CPU.
    Some(nth_online_cpu(n))
        .filter(|&cpu| cpu != i32::MAX)
        .and_then(|cpu| u32::try_from(cpu).ok())
}

/// The `n`th online CPU (from 0), or `i32::MAX` if fewer are online (every
/// CPU is at most that).
fn nth_online_cpu(n: usize) -> i32 {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    // SAFETY: reads the online mask (`cpumask_nth`) and `nr_cpu_ids`.
    let (cpu, nr) = unsafe { (b::wg_shim_nth_online_cpu(n), b::wg_shim_nr_cpu_ids()) };
    match cpu < nr {
        true => cpu as i32,
        false => i32::MAX,
    }
}

/// The possible (or only the online) CPUs after `prev` (-1: all), in order
/// (`cpumask_next` up to `nr_cpu_ids`).
fn cpus_after(prev: i32, online: bool) -> impl Iterator<Item = i32> {
    core::iter::successors(Some(prev), move |&cpu| {
        // SAFETY: reads a CPU mask (exported statics) and `nr_cpu_ids`.
        let (next, nr) = unsafe {
            let mask = match online {
                true => core::ptr::addr_of!(b::__cpu_online_mask),
                false => core::ptr::addr_of!(b::__cpu_possible_mask),
            };
            (b::wg_shim_cpumask_next(cpu, mask), b::wg_shim_nr_cpu_ids())
        };
        // Below `nr_cpu_ids`, so it fits.
        (next < nr).then_some(next as i32)
    })
    .skip(1)
}

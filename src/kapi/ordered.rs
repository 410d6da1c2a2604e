// SPDX-License-Identifier: GPL-2.0
//! Parallel crypto, serial delivery.
//!
//! A [`Bundle`] is one or more packets that travel together: a GSO
//! super-packet's segments, a burst of received datagrams (or a single
//! packet). The first skb is the
//! bundle's handle; the others hang off its control block, each pointing to
//! the next. Freeing a bundle frees them all.
//!
//! A bundle is on its peer's [`SerialQueue`] (in the order it must leave or
//! be delivered) and, as a [`Job`], in a device-wide [`CryptQueue`] whose
//! per-CPU workers encrypt or decrypt its packets in place, on one CPU per
//! bundle, any bundle on any CPU (or its job is run at once by the caller
//! that queued it: [`dispatch_here`]). The serial side takes bundles from
//! the head of the peer's queue only once their job is finished, so the
//! order holds however the workers interleave.
//!
//! Ownership: the serial queue owns the bundle; the job has exclusive use of
//! its packets' data (and of the job area of the control blocks) until it
//! finishes. The state in the first packet's control block ([`JobState`]) is
//! the hand-over:
//!
//! - `PENDING`: the job is not finished; the serial side leaves the bundle
//!   where it is (and everything behind it).
//! - `DONE`/`FAILED`: set by the job as its last access; from then on the
//!   serial side may take the bundle and free it.
//! - `ORPHAN`: the serial queue was purged while the job was pending: the
//!   purge unlinked the bundle and gave it to the job, which frees it when it
//!   finishes.
//!
//! A job carries two owned references (`A`, `B`: e.g. the peer and its
//! session) in the first control block, handed back by [`Job::finish`] so
//! the worker can wake the serial side (that reference keeps the peer alive
//! until then).
//!
//! Control block layout (every packet): bytes 0..16 belong to the user
//! ([`Bundle::for_each_user_cb`], [`JobSegments::for_each`]); 16..32 hold the
//! references, 32..36 the state and 36..40 the bundle's number of packets
//! (first packet, from [`dispatch`] on); 40..48 the next packet.

use super::bindings as b;
use super::crypt_queue::{CryptQueue, CryptWorker, RingItem};
use super::skb::SkBuff;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use core::sync::atomic::{fence, AtomicBool, AtomicI32, AtomicU32, Ordering};
use kernel::sync::{Arc, ArcBorrow};
use kernel::types::Opaque;

/// Bytes of each packet's control block the user of a bundle may use.
pub(crate) const USER_CB_LEN: usize = 16;
const REFS: usize = 16;
const STATE: usize = 32;
const PACKETS: usize = 36;
const NEXT: usize = 40;
const _: () = assert!(
    REFS + 16 <= STATE && STATE + 4 <= PACKETS && PACKETS + 4 <= NEXT && USER_CB_LEN <= REFS
);
/// The two references' raw pointers (from `Carried::into_raw_ref`: `A`'s, then `B`'s), at `REFS`.
type Refs = [*const c_void; 2];

/// A counted reference a job carries through the rings, as a raw pointer in
/// its first packet's control block: the kernel crate's `ForeignOwnable`
/// for `Arc`, without the null checks its `borrow` and `from_foreign` make
/// with `unwrap()` (a panic path, unreachable as the pointer is never null,
/// but one in every packet's job, on the packet paths).
pub(crate) trait Carried: Send + Sized {
    /// A borrow of the reference while the job holds it.
    type Borrowed<'a>
    where
        Self: 'a;

    /// The reference as a raw pointer (never null), owning its count.
    fn into_raw_ref(self) -> *const c_void;

    /// Borrows what `into_raw_ref` gave.
    ///
    /// # Safety
    ///
    /// `p` came from `into_raw_ref` and is not yet given back to
    /// `from_raw_ref`, and the borrow ends before it is.
    unsafe fn borrow_raw<'a>(p: *const c_void) -> Self::Borrowed<'a>;

    /// Takes back the reference `into_raw_ref` gave.
    ///
    /// # Safety
    ///
    /// `p` came from `into_raw_ref`, and is given back once.
    unsafe fn from_raw_ref(p: *const c_void) -> Self;
}

impl<T: Send + Sync> Carried for Arc<T> {
    type Borrowed<'a>
        = ArcBorrow<'a, T>
    where
        T: 'a;

    fn into_raw_ref(self) -> *const c_void {
        Arc::into_raw(self).cast()
    }

    unsafe fn borrow_raw<'a>(p: *const c_void) -> ArcBorrow<'a, T> {
        // SAFETY: per the contract, `p` came from `Arc::into_raw` and its
        // count is held (by the job) for as long as the borrow lasts; no
        // `UniqueArc` of a shared `Arc` exists.
        unsafe { ArcBorrow::from_raw(p.cast()) }
    }

    unsafe fn from_raw_ref(p: *const c_void) -> Self {
        // SAFETY: per the contract, `p` came from `Arc::into_raw`, once.
        unsafe { Arc::from_raw(p.cast()) }
    }
}

// The control block is 8-aligned (`__aligned(8)` in the kernel), so the
// state is an aligned `atomic_t` and the next pointer an aligned pointer.
const _: () = assert!(
    core::mem::offset_of!(b::sk_buff, cb) % 8 == 0 && core::mem::align_of::<b::sk_buff>() >= 8
);
const _: () = assert!(STATE % 4 == 0 && PACKETS % 4 == 0 && NEXT % 8 == 0 && NEXT + 8 <= 48);

/// Where a bundle's job is (see the module's text).
#[repr(i32)]
enum JobState {
    Pending = 0,
    Done = 1,
    Failed = 2,
    Orphan = 3,
}

/// Moves a job state from `from` to `to` (`compare_exchange`), fully
/// ordered (as `atomic_cmpxchg`).
fn cas_state(s: &AtomicI32, from: JobState, to: JobState) -> Result<i32, i32> {
    use Ordering::SeqCst;
    s.compare_exchange(from as i32, to as i32, SeqCst, SeqCst)
}

/// The control block of a valid skb.
///
/// # Safety
///
/// `skb` is valid.
unsafe fn cb_of(skb: NonNull<b::sk_buff>) -> *mut u8 {
    // SAFETY: per the contract.
    unsafe { core::ptr::addr_of_mut!((*skb.as_ptr()).cb).cast::<u8>() }
}

/// The job state in a valid skb's control block.
///
/// # Safety
///
/// `skb` is valid for `'a` and is the first packet of a bundle (its state
/// bytes are used by no one but the ordered hand-off).
unsafe fn state_of<'a>(skb: NonNull<b::sk_buff>) -> &'a AtomicI32 {
    // SAFETY: per the contract; in bounds and 4-aligned (see the asserts).
    unsafe { AtomicI32::from_ptr(cb_of(skb).add(STATE).cast::<i32>()) }
}

/// Where a bundle's number of packets lies, from [`dispatch`] on.
///
/// # Safety
///
/// `skb` is valid and the first packet of a bundle whose owner the caller
/// is (or acts for: a serial queue, under its lock); writing there needs
/// exclusive use of those bytes (no job reads or writes them).
unsafe fn packets_of(skb: NonNull<b::sk_buff>) -> *mut u32 {
    // SAFETY: per the contract; in bounds and 4-aligned (see the asserts).
    unsafe { cb_of(skb).add(PACKETS).cast() }
}

/// Where the pointer to the packet after `skb` in its bundle lies (null:
/// none).
///
/// # Safety
///
/// `skb` is valid and in a bundle whose owner the caller is (or acts for);
/// writing there needs exclusive use of `skb`'s control block.
unsafe fn next_of(skb: NonNull<b::sk_buff>) -> *mut *mut b::sk_buff {
    // SAFETY: per the contract; in bounds and 8-aligned (see the asserts).
    unsafe { cb_of(skb).add(NEXT).cast() }
}

/// A `struct sk_buff_head` held under its lock, softirqs off
/// (`spin_lock_bh`); unlocked when dropped. Every user of these queues runs
/// in process or softirq context, never in a hard interrupt (nor with
/// interrupts off), so the lock need not turn interrupts off.
///
/// # Invariants
///
/// `q` is an initialised queue head, valid while this value lives, whose lock this value holds:
/// taken by [`LockedQueue::lock`] with `spin_lock_bh`.
struct LockedQueue {
    q: *mut b::sk_buff_head,
}

impl LockedQueue {
    /// # Safety
    ///
    /// `q` is initialised and valid for the returned value's life.
    unsafe fn lock(q: *mut b::sk_buff_head) -> Self {
        // SAFETY: per the contract; unlocked by drop.
        unsafe { b::wg_shim_skb_queue_lock_bh(q) };
        // INVARIANT: `q` is valid by the safety requirements, and locked just above.
        LockedQueue { q }
    }

    fn len(&self) -> u32 {
        // SAFETY: the queue is valid and locked.
        unsafe { (*self.q).qlen }
    }

    /// The job state of the first bundle, left on the queue.
    ///
    /// # Safety
    ///
    /// Every bundle on the queue was dispatched (a serial queue's: its
    /// state was written before it was queued).
    unsafe fn head_state(&self) -> Option<i32> {
        // SAFETY: the queue is valid and locked; its list is circular
        // through the head (`skb_peek`).
        let first = unsafe { (*self.q).__bindgen_anon_1.__bindgen_anon_1.next };
        let first = NonNull::new(first).filter(|f| f.as_ptr() != self.q.cast())?;
        // SAFETY: a bundle's first packet, valid while queued (under the
        // lock nobody unlinks it). The acquire pairs with the job's
        // finishing exchange: its work on the packets is visible once its
        // state is.
        Some(unsafe { state_of(first) }.load(Ordering::Acquire))
    }

    /// Unlinks and returns the first skb.
    fn dequeue(&mut self) -> Option<NonNull<b::sk_buff>> {
        // SAFETY: the queue is valid and locked; the skb it hands over is
        // the caller's.
        NonNull::new(unsafe { b::wg_shim___skb_dequeue(self.q) })
    }

    /// Appends `skb`.
    ///
    /// # Safety
    ///
    /// `skb` is valid, on no list, and its ownership passes to the queue.
    unsafe fn push_tail(&mut self, skb: NonNull<b::sk_buff>) {
        // SAFETY: the queue is valid and locked; the skb per the contract.
        unsafe { b::wg_shim___skb_queue_tail(self.q, skb.as_ptr()) }
    }

    /// Puts `skb` in front.
    ///
    /// # Safety
    ///
    /// As [`LockedQueue::push_tail`].
    unsafe fn push_head(&mut self, skb: NonNull<b::sk_buff>) {
        // SAFETY: the queue is valid and locked; the skb per the contract.
        unsafe { b::wg_shim___skb_queue_head(self.q, skb.as_ptr()) }
    }
}

impl Drop for LockedQueue {
    fn drop(&mut self) {
        // SAFETY: locked by `lock` (type invariant).
        unsafe { b::wg_shim_skb_queue_unlock_bh(self.q) }
    }
}

/// The user's bytes of a valid skb's control block.
///
/// # Safety
///
/// `skb` is valid and nobody else uses those bytes for the borrow's life.
unsafe fn user_cb_of<'a>(skb: NonNull<b::sk_buff>) -> &'a mut [u8; USER_CB_LEN] {
    // SAFETY: per the contract; the first USER_CB_LEN of 48 bytes.
    unsafe { &mut *cb_of(skb).cast::<[u8; USER_CB_LEN]>() }
}

/// One or more packets that travel together (see the module's text).
///
/// # Invariants
///
/// `self.0` is `None` or the first packet of a chain of valid skbs that the bundle owns (a
/// reference on each), each linked to the next by the pointer at `NEXT` in its control block, the
/// last one's null.
pub(crate) struct Bundle(Option<NonNull<b::sk_buff>>);

impl Bundle {
    /// A bundle of no packet.
    pub(crate) const fn empty() -> Bundle {
        // INVARIANT: no chain.
        Bundle(None)
    }

    /// A bundle of one packet.
    pub(crate) fn single(skb: SkBuff) -> Bundle {
        core::iter::once(skb).collect()
    }

    fn into_head(self) -> Option<NonNull<b::sk_buff>> {
        ManuallyDrop::new(self).0
    }

    /// Whether it holds no packet (all were taken).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// How many packets it holds.
    pub(crate) fn len(&self) -> u32 {
        let (mut n, mut cur) = (0u32, self.0);
        while let Some(skb) = cur {
            n = n.saturating_add(1);
            // SAFETY: the bundle owns its packets; their next pointers are
            // only read.
            cur = NonNull::new(unsafe { *next_of(skb) });
        }
        n
    }

    /// The length of its packet, if it holds exactly one.
    pub(crate) fn single_len(&self) -> Option<u32> {
        let head = self.0?;
        // SAFETY: the bundle owns its packets; their length and next
        // pointer are only read.
        unsafe { (*next_of(head)).is_null().then(|| (*head.as_ptr()).len) }
    }

    /// Takes the first packet.
    pub(crate) fn pop(&mut self) -> Option<SkBuff> {
        let head = self.0?;
        // SAFETY: the bundle owns `head`; the next pointer is read and
        // cleared before the packet is handed over alone.
        unsafe {
            // INVARIANT: the rest of the chain starts at the packet after `head`.
            self.0 = NonNull::new(next_of(head).replace(core::ptr::null_mut()));
            Some(SkBuff::from_nonnull(head))
        }
    }

    /// Takes the first packet if `f`, given its length and the user's bytes
    /// of its control block, accepts it.
    pub(crate) fn pop_if(
        &mut self,
        f: impl FnOnce(u32, &[u8; USER_CB_LEN]) -> bool,
    ) -> Option<SkBuff> {
        let head = self.0?;
        // SAFETY: the bundle owns `head` (`&mut self`): its length and
        // control block are read, not kept.
        let take = unsafe { f((*head.as_ptr()).len, user_cb_of(head)) };
        if take {
            self.pop()
        } else {
            None
        }
    }

    /// Puts `skb` back in front (undoes a `pop`).
    pub(crate) fn push_front(&mut self, skb: SkBuff) {
        let ptr = skb.into_nonnull();
        // INVARIANT: the skb's reference passes to the bundle, linked in front of the chain.
        // SAFETY: the skb is ours now; its next pointer is written before it
        // becomes the bundle's first packet.
        unsafe { *next_of(ptr) = self.0.map_or(core::ptr::null_mut(), NonNull::as_ptr) };
        self.0 = Some(ptr);
    }

    /// Calls `f` with the user's bytes of each packet's control block, in
    /// order.
    pub(crate) fn for_each_user_cb(&mut self, mut f: impl FnMut(&mut [u8; USER_CB_LEN])) {
        let mut cur = self.0;
        while let Some(skb) = cur {
            // SAFETY: the bundle owns its packets (`&mut self`).
            unsafe {
                f(user_cb_of(skb));
                cur = NonNull::new(*next_of(skb));
            }
        }
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}

/// A bundle of packets in order (empty if there are none).
impl FromIterator<SkBuff> for Bundle {
    fn from_iter<I: IntoIterator<Item = SkBuff>>(skbs: I) -> Self {
        let mut bundle = Bundle(None);
        let mut tail: Option<NonNull<b::sk_buff>> = None;
        for skb in skbs {
            let ptr = skb.into_nonnull();
            // INVARIANT: each skb's reference passes to the bundle, and it is linked at the end
            // of the chain with a null next pointer.
            // SAFETY: the skb is ours now, at the end of the chain; the tail
            // is the bundle's last packet.
            unsafe {
                *next_of(ptr) = core::ptr::null_mut();
                match tail {
                    Some(t) => *next_of(t) = ptr.as_ptr(),
                    None => bundle.0 = Some(ptr),
                }
            }
            tail = Some(ptr);
        }
        bundle
    }
}

/// A queue of bundles with its own lock (`struct sk_buff_head` of the
/// bundles' first packets); usable in process and softirq context (not in a
/// hard interrupt: see [`LockedQueue`]). Dropping it frees what is queued.
///
/// # Invariants
///
/// `head` is initialised (by [`BundleQueue::new`]), and every skb on it is the first packet of a
/// bundle that the queue owns, linked into the queue by the skb's own list pointers.
#[kernel::prelude::pin_data(PinnedDrop)]
pub(crate) struct BundleQueue {
    #[pin]
    head: Opaque<b::sk_buff_head>,
}

// SAFETY: every access goes through the queue's own lock, or reads its
// length racily, which the kernel allows. The bundles it holds move between
// CPUs through it (staged on one, sent from another): an skb is not tied to
// a thread.
unsafe impl Send for BundleQueue {}
// SAFETY: as above.
unsafe impl Sync for BundleQueue {}

impl BundleQueue {
    /// An empty queue.
    pub(crate) fn new() -> impl kernel::init::PinInit<Self> {
        kernel::prelude::pin_init!(BundleQueue {
            // SAFETY: `skb_queue_head_init` initialises the head in place.
            head <- Opaque::ffi_init(|p| unsafe { b::wg_shim_skb_queue_init(p) }),
        })
    }

    /// Puts `bundle` in front.
    pub(crate) fn push_head(&self, bundle: Bundle) {
        if let Some(h) = bundle.into_head() {
            // INVARIANT: the bundle's first packet, whose ownership passes to the queue.
            // SAFETY: the queue is initialised and lives as long as `self`;
            // it takes ownership of the bundle.
            unsafe { LockedQueue::lock(self.head.get()).push_head(h) }
        }
    }

    /// Removes the oldest bundles while more than `max` are queued, then
    /// appends each packet of `bundle` as a bundle of its own, all of them:
    /// the limit is applied before appending, so what arrives together is
    /// never what is removed. Returns the packets removed, as one bundle.
    pub(crate) fn trim_then_append_each(&self, mut bundle: Bundle, max: u32) -> Bundle {
        let mut removed = Bundle::empty();
        // SAFETY: the queue is initialised and lives as long as `self`.
        let mut q = unsafe { LockedQueue::lock(self.head.get()) };
        while q.len() > max {
            let Some(h) = q.dequeue() else { break };
            // INVARIANT: a bundle the queue owned, handed over.
            let mut old = Bundle(Some(h));
            while let Some(skb) = old.pop() {
                removed.push_front(skb);
            }
        }
        while let Some(skb) = bundle.pop() {
            // INVARIANT: a bundle of one packet (`pop` cleared its link),
            // whose ownership passes to the queue.
            // SAFETY: the packet is ours and on no list.
            unsafe { q.push_tail(skb.into_nonnull()) };
        }
        drop(q);
        removed
    }

    /// Takes the oldest bundle.
    pub(crate) fn pop(&self) -> Option<Bundle> {
        // SAFETY: the queue is initialised and lives as long as `self`; it
        // owns its bundles, and dequeuing hands one over.
        let h = unsafe { LockedQueue::lock(self.head.get()) }.dequeue();
        h.map(|h| Bundle(Some(h)))
    }

    /// Whether the queue is empty (a snapshot).
    pub(crate) fn is_empty(&self) -> bool {
        // SAFETY: a racy read of the length, as `skb_queue_len_lockless`
        // (`READ_ONCE`).
        unsafe { core::ptr::addr_of!((*self.head.get()).qlen).read_volatile() == 0 }
    }
}

#[kernel::prelude::pinned_drop]
impl PinnedDrop for BundleQueue {
    fn drop(self: core::pin::Pin<&mut Self>) {
        while self.pop().is_some() {}
    }
}

/// A peer's queue of bundles in order, some with a job still pending.
/// Dropping it purges it.
///
/// # Invariants
///
/// Every bundle on `queue` was put there by [`dispatch_here`] (for [`dispatch`] too), which wrote its job's references, its
/// number of packets and its PENDING state before queueing it, or by
/// [`SerialQueue::put_back`], finished (DONE) and with its number of packets written (nothing
/// else in this module queues on a serial queue's `queue`). While its state is PENDING, its
/// [`Job`] uses its packets but for those numbers, and the serial queue only links or unlinks
/// its first packet, reads or exchanges its state and reads its number of packets. `packets` is
/// the sum of those numbers over the bundles on `queue`, but while one is being added or taken.
#[kernel::prelude::pin_data(PinnedDrop)]
pub(crate) struct SerialQueue {
    /// The bundles; emptied by the serial queue's own `purge` before its
    /// drop would free them.
    #[pin]
    queue: BundleQueue,
    /// A CPU is in [`SerialQueue::consume_exclusive`]'s batch.
    consuming: AtomicBool,
    /// The packets of the bundles on the queue.
    packets: AtomicU32,
    /// The most packets [`dispatch`] lets it hold.
    max_packets: u32,
}

impl SerialQueue {
    /// An empty queue that holds at most `max_packets` packets (besides at
    /// most as many bundles as the ring they are dispatched to has room for).
    pub(crate) fn new(max_packets: u32) -> impl kernel::init::PinInit<Self> {
        kernel::prelude::pin_init!(SerialQueue {
            queue <- BundleQueue::new(),
            consuming: AtomicBool::new(false),
            packets: AtomicU32::new(0),
            max_packets,
        })
    }

    /// Runs `batch` as the queue's only consumer, unless another CPU is in
    /// its batch: then returns at once, and that CPU takes what this caller
    /// came for (a job finished before the call is seen by that batch or by
    /// the check after it ends). `batch` takes finished bundles with
    /// [`SerialQueue::pop_done`] and returns whether it stopped with work
    /// left (a budget); then this returns true and the caller arranges for
    /// another call.
    pub(crate) fn consume_exclusive(&self, mut batch: impl FnMut() -> bool) -> bool {
        loop {
            // Orders the caller's finished job (its state was written before)
            // against the consumer's check below: one of the two sees the
            // other.
            if self.consuming.swap(true, Ordering::SeqCst) {
                return false;
            }
            let more = batch();
            self.consuming.store(false, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if more {
                return true;
            }
            // A job that finished while the batch ran may have found the
            // queue taken: take its bundle now.
            if !self.head_done() {
                return false;
            }
        }
    }

    /// [`SerialQueue::consume_exclusive`] for one batch at most (a caller
    /// that must not loop: softirqs off): returns true if what it came for
    /// may be left (its batch stopped with work left, or a job finished
    /// while it ran), and then the caller arranges for a call of
    /// `consume_exclusive`; false if another CPU is in its batch (which
    /// takes it) or nothing is left.
    pub(crate) fn consume_once(&self, batch: impl FnOnce() -> bool) -> bool {
        // Ordered as in `consume_exclusive`.
        if self.consuming.swap(true, Ordering::SeqCst) {
            return false;
        }
        let more = batch();
        self.consuming.store(false, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        more || self.head_done()
    }

    /// Whether the bundle at the head has a finished job.
    pub(crate) fn head_done(&self) -> bool {
        // SAFETY: the queue is initialised and lives as long as `self`.
        let q = unsafe { LockedQueue::lock(self.queue.head.get()) };
        // SAFETY: only `dispatch_here` queues here (and `put_back`, finished).
        unsafe { q.head_state() }.is_some_and(|s| s != JobState::Pending as i32)
    }

    /// Takes the bundle at the head if its job is finished: the bundle and
    /// whether the job succeeded. `None` if the queue is empty or its head
    /// is still being worked on.
    pub(crate) fn pop_done(&self) -> Option<(Bundle, bool)> {
        // SAFETY: the queue is initialised and lives as long as `self`.
        let mut q = unsafe { LockedQueue::lock(self.queue.head.get()) };
        // SAFETY: only `dispatch_here` queues here (and `put_back`, finished).
        let state = unsafe { q.head_state() }.filter(|&s| s != JobState::Pending as i32)?;
        // The head is finished: no worker touches it any more; unlinked, the
        // bundle is ours.
        let h = q.dequeue()?;
        // SAFETY: ours now; its number was written when it was queued.
        self.packets
            .fetch_sub(unsafe { *packets_of(h) }, Ordering::Relaxed);
        drop(q);
        Some((Bundle(Some(h)), state == JobState::Done as i32))
    }

    /// Puts back in front what is left of a bundle that
    /// [`SerialQueue::pop_done`] gave with its job succeeded (the consumer's
    /// budget ran out within it), to be taken first next time.
    pub(crate) fn put_back(&self, bundle: Bundle) {
        let packets = bundle.len();
        let Some(h) = bundle.into_head() else {
            return;
        };
        // INVARIANT: finished, with its number of packets, written before it is queued (the
        // queue's lock then publishes them), and counted.
        // SAFETY: the bundle is ours until it is queued.
        unsafe {
            *packets_of(h) = packets;
            state_of(h).store(JobState::Done as i32, Ordering::Relaxed);
        }
        self.packets.fetch_add(packets, Ordering::Relaxed);
        self.queue.push_head(Bundle(Some(h)));
    }

    /// Whether the queue is empty (a snapshot).
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Empties the queue: finished bundles are freed, pending ones given to
    /// their jobs (which free them when they finish).
    pub(crate) fn purge(&self) {
        // A dequeued bundle is ours, but its job, if pending, still uses the
        // packets: see below.
        while let Some(h) = self.queue.pop().and_then(Bundle::into_head) {
            // SAFETY: `h` is a bundle's first packet: valid while its job is
            // pending, and ours once it is not; a job never touches its
            // number of packets.
            let state = unsafe {
                self.packets.fetch_sub(*packets_of(h), Ordering::Relaxed);
                state_of(h)
            };
            if cas_state(state, JobState::Pending, JobState::Orphan).is_err() {
                // Finished: nobody else holds it.
                drop(Bundle(Some(h)));
            }
            // Otherwise the job frees it when it finishes (`Job::close`).
        }
    }
}

#[kernel::prelude::pinned_drop]
impl PinnedDrop for SerialQueue {
    fn drop(self: core::pin::Pin<&mut Self>) {
        self.purge();
    }
}

/// The crypto work on one bundle of a [`SerialQueue`], with two references
/// that travel with it. Dropping it finishes it as failed.
/// Holds the bundle's first packet.
///
/// # Invariants
///
/// `self.0` is the first packet of a bundle that [`dispatch_here`] put on a serial queue, whose state
/// is PENDING (or ORPHAN, after a purge) until this job's `close`. Until then the bundle stays
/// valid, the job has exclusive use of its packets' data and control blocks but for the first
/// packet's state and number of packets, which it only reads (and that packet's list links,
/// which are the serial queue's), and the raw
/// pointers at `REFS` are those of an `A` and a `B` that this job owns, taken back by `close`
/// only.
pub(crate) struct Job<A: Carried, B: Carried>(NonNull<b::sk_buff>, PhantomData<(A, B)>);

// SAFETY: the job has exclusive use of its packets' data until it
// finishes; the references it carries are `Send`.
unsafe impl<A: Carried, B: Carried> Send for Job<A, B> {}

impl<A: Carried, B: Carried> Job<A, B> {
    /// The two references' raw pointers, as `dispatch` wrote them.
    fn raw_refs(&self) -> Refs {
        // SAFETY: the first packet is valid while the job is pending (the
        // serial side neither frees it nor touches more than its list links
        // and state); the references were written by `dispatch`.
        unsafe { cb_of(self.0).add(REFS).cast::<Refs>().read_unaligned() }
    }

    /// The references the job carries and its packets, borrowed together
    /// (the crypto needs the session's key while it works on the packets).
    pub(crate) fn parts(&mut self) -> (A::Borrowed<'_>, B::Borrowed<'_>, JobSegments<'_>) {
        let [a, b] = self.raw_refs();
        // INVARIANT: the job is pending (it has not closed) and lends its packets for as long
        // as it is borrowed mutably.
        let segments = JobSegments(self.0, PhantomData);
        // SAFETY: both came from `into_raw_ref` in `dispatch` and are given
        // back only by `finish` or drop (which consume the job).
        unsafe { (A::borrow_raw(a), B::borrow_raw(b), segments) }
    }

    /// Finishes the job (its last access to the packets) and hands back the
    /// references it carried, so the caller can wake the serial side.
    pub(crate) fn finish(self, ok: bool) -> (A, B) {
        ManuallyDrop::new(self).close(if ok { JobState::Done } else { JobState::Failed })
    }

    /// Takes back the references (before the bundle may be freed), then
    /// moves the job from PENDING to `state`. Once only: by `finish` or drop.
    fn close(&self, state: JobState) -> (A, B) {
        let [a, b] = self.raw_refs();
        // SAFETY: both came from `into_raw_ref` in `dispatch`; taken back
        // once, by the consuming `finish` (or drop).
        let refs = unsafe { (A::from_raw_ref(a), B::from_raw_ref(b)) };
        // SAFETY: the first packet is valid while the job is pending.
        let s = unsafe { state_of(self.0) };
        // Fully ordered: the job's work on the packets is visible to whoever
        // sees the new state.
        let was = cas_state(s, JobState::Pending, state);
        if was == Err(JobState::Orphan as i32) {
            // The queue was purged meanwhile: the bundle is no longer on it
            // and is ours to free.
            drop(Bundle(Some(self.0)));
        }
        // Otherwise (PENDING to `state`) the job never touches it again.
        refs
    }
}

impl<A: Carried, B: Carried> Drop for Job<A, B> {
    fn drop(&mut self) {
        drop(self.close(JobState::Failed));
    }
}

impl<A: Carried, B: Carried> RingItem for Job<A, B> {
    fn into_ring(self) -> NonNull<c_void> {
        ManuallyDrop::new(self).0.cast()
    }

    /// Its bundle's packets.
    fn weight(&self) -> u32 {
        // SAFETY: the first packet is valid while the job is pending; its
        // number of packets was written by `dispatch` before the job was
        // made, and nobody writes it while the job is pending.
        unsafe { *packets_of(self.0) }
    }

    unsafe fn from_ring(ptr: NonNull<c_void>) -> Self {
        // INVARIANT: by the safety requirements, `ptr` is the packet of a job that gave it up
        // with `into_ring` (without closing), and ownership is taken back once.
        Job(ptr.cast(), PhantomData)
    }
}

/// The packets of a pending [`Job`], from the first.
///
/// # Invariants
///
/// `self.0` is the first packet of a pending job's bundle, with the job's exclusive use of its
/// packets for `'a` (the job is borrowed mutably for as long).
pub(crate) struct JobSegments<'a>(NonNull<b::sk_buff>, PhantomData<&'a mut ()>);

impl JobSegments<'_> {
    /// Calls `f` with each packet and its user bytes (which it may change),
    /// in order, until `f` returns false; returns whether every call
    /// returned true.
    pub(crate) fn for_each(
        &mut self,
        mut f: impl FnMut(&mut [u8; USER_CB_LEN], &mut JobSkb<'_>) -> bool,
    ) -> bool {
        let mut cur = Some(self.0);
        while let Some(skb) = cur {
            // SAFETY: the job has exclusive use of its packets and their user
            // bytes; the next pointer is read before `f` works on the packet
            // (it touches no other part of the control block).
            let (user, next) = unsafe { (user_cb_of(skb), NonNull::new(*next_of(skb))) };
            // INVARIANT: a packet of the job's bundle, used for no longer than this borrow of
            // the `JobSegments`, and wrapped so that it is never dropped.
            // SAFETY: the job has exclusive use of the packet's data; the
            // `JobSkb` neither frees it nor lets it be replaced.
            let mut skb = JobSkb(
                ManuallyDrop::new(unsafe { SkBuff::from_nonnull(skb) }),
                PhantomData,
            );
            if !f(user, &mut skb) {
                return false;
            }
            cur = next;
        }
        true
    }
}

/// A packet of a pending [`Job`]: only operations that keep the skb in place
/// (a `&mut SkBuff` could be swapped for another skb, which the queues would
/// not know of): the reads of `&SkBuff`, and the in-place crypto of
/// `kapi::skb`. Never dropped (`ManuallyDrop`): the job's bundle owns it.
///
/// # Invariants
///
/// The skb is a packet of a pending job's bundle, which the job uses exclusively for `'a`; it is
/// never dropped or replaced through this value.
pub(crate) struct JobSkb<'a>(pub(super) ManuallyDrop<SkBuff>, PhantomData<&'a mut ()>);

impl core::ops::Deref for JobSkb<'_> {
    type Target = SkBuff;

    fn deref(&self) -> &SkBuff {
        &self.0
    }
}

/// What [`dispatch`] did with a bundle.
pub(crate) enum Dispatched {
    /// On the serial queue and in the ring: kick the ring's workers.
    Queued,
    /// On the serial queue, failed (the ring was full): wake the serial side.
    RingFull,
    /// The serial queue was full: the bundle was dropped.
    SerialFull,
    /// The bundle was empty.
    Empty,
}

/// Appends `bundle` to `serial` (if it holds fewer bundles than `ring` has
/// room for jobs, and has room for the bundle's packets) and puts its job,
/// carrying `a` and `b`, in `ring`. The user's bytes of the packets' control
/// blocks travel with them.
pub(crate) fn dispatch<W, A, B>(
    serial: &SerialQueue,
    ring: &CryptQueue<W>,
    bundle: Bundle,
    a: A,
    b: B,
) -> Dispatched
where
    W: CryptWorker<Item = Job<A, B>>,
    A: Carried,
    B: Carried,
{
    match dispatch_here(serial, ring, bundle, a, b) {
        Ok(job) => match ring.produce(job) {
            Ok(()) => Dispatched::Queued,
            Err(job) => {
                drop(job);
                Dispatched::RingFull
            }
        },
        Err(not) => not,
    }
}

/// As [`dispatch`], but the job is handed back for the caller to run now
/// (on this CPU) instead of going into `ring` (whose size still bounds the
/// bundles on `serial`). `Err`: [`Dispatched::SerialFull`] (the bundle was
/// dropped) or [`Dispatched::Empty`].
pub(crate) fn dispatch_here<W, A, B>(
    serial: &SerialQueue,
    ring: &CryptQueue<W>,
    bundle: Bundle,
    a: A,
    b: B,
) -> Result<Job<A, B>, Dispatched>
where
    W: CryptWorker<Item = Job<A, B>>,
    A: Carried,
    B: Carried,
{
    let packets = bundle.len();
    let Some(head) = bundle.into_head() else {
        return Err(Dispatched::Empty);
    };
    // SAFETY: the bundle is ours: the references and the PENDING state are
    // written before it is queued, so before anything else can see it. Once
    // on the serial queue it stays valid while its job is pending (the
    // serial side waits for the state; a purge hands it to the job), so the
    // job built from `head` may use it.
    unsafe {
        let mut q = LockedQueue::lock(serial.queue.head.get());
        // Dispatches add under the lock; what is taken meanwhile only makes
        // room (and `put_back` only gives back room `pop_done` took).
        let queued = serial.packets.load(Ordering::Relaxed);
        if q.len() >= ring.len || packets > serial.max_packets.saturating_sub(queued) {
            drop(q);
            // Still ours: free it (`a` and `b` are dropped on return).
            drop(Bundle(Some(head)));
            return Err(Dispatched::SerialFull);
        }
        // INVARIANT: the references and the PENDING state are written before the bundle is
        // queued on `serial`, the job built from `head` below owns the references, and the
        // bundle is not ours once queued (the job uses it until it closes, the queue owns it).
        let refs: Refs = [a.into_raw_ref(), b.into_raw_ref()];
        cb_of(head).add(REFS).cast::<Refs>().write_unaligned(refs);
        state_of(head).store(JobState::Pending as i32, Ordering::Relaxed);
        *packets_of(head) = packets;
        serial.packets.fetch_add(packets, Ordering::Relaxed);
        q.push_tail(head);
    }
    Ok(Job::<A, B>(head, PhantomData))
}

/// Yields the CPU if the scheduler wants it (process context: a worker
/// draining a ring, a loop over peers).
pub(crate) fn cond_resched() {
    // SAFETY: called from process context (the workers, the loops).
    unsafe { b::wg_shim_cond_resched() }
}

/// [`cond_resched`] at every 64th step of a long loop (`n`: the step,
/// counted from 0).
pub(crate) fn cond_resched_every_64(n: usize) {
    if n % 64 == 63 {
        cond_resched();
    }
}

/// Runs `f` with bottom halves disabled: softirqs it raises (a NAPI poll it
/// schedules) run on this CPU when it returns. (`rcu_read_lock_bh` is
/// `local_bh_disable`, plus lockdep's note of an RCU read-side section, which
/// a BH-disabled region is anyway.)
pub(crate) fn with_bh_disabled<R>(f: impl FnOnce() -> R) -> R {
    let _bh = super::rcu::read_lock();
    f()
}

// SPDX-License-Identifier: GPL-2.0
//! Synchronisation for state shared with softirq context:
//!
//! - [`SpinLockBh`]: the kernel crate's [`Lock`] over a `spinlock_t` taken
//!   with `spin_lock_bh` (softirqs off while held), for state that packet
//!   paths (softirq) and process context both touch. Create it with
//!   [`new_spinlock_bh!`](crate::new_spinlock_bh), which gives every site
//!   its own lockdep class.
//! - [`LeftRight`]: two copies of a value, read without locks under an RCU
//!   read-side section, written by one writer at a time who may sleep and
//!   allocate. See its documentation.
//! - [`RwSem`]: a `struct rw_semaphore` (process context, may sleep): any
//!   number of readers at once, or one writer.

use super::bindings as b;
use super::rcu::{self, ReadGuard};
use core::cell::UnsafeCell;
use core::marker::{PhantomData, PhantomPinned};
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kernel::prelude::*;
use kernel::sync::lock::{Backend, Lock};
use kernel::sync::Mutex;
use kernel::types::Opaque;

/// The `spin_lock_bh` backend of [`Lock`].
pub(crate) struct SpinLockBhBackend;

/// A spinlock taken with softirqs disabled.
pub(crate) type SpinLockBh<T> = Lock<T, SpinLockBhBackend>;

/// Creates a [`SpinLockBh`] initialiser with a lockdep class of its own.
#[macro_export]
macro_rules! new_spinlock_bh {
    ($inner:expr, $name:literal) => {
        $crate::kapi::sync::SpinLockBh::new(
            $inner,
            kernel::c_str!($name),
            kernel::static_lock_class!(),
        )
    };
}

// SAFETY: `spin_lock_bh`/`spin_unlock_bh` provide mutual exclusion over the
// `spinlock_t` initialised by `__spin_lock_init`; the guard state is empty.
unsafe impl Backend for SpinLockBhBackend {
    type State = kernel::bindings::spinlock_t;
    type GuardState = ();

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut kernel::bindings::lock_class_key,
    ) {
        // SAFETY: per the trait's contract, `ptr` is valid for writes and
        // `name`/`key` live forever.
        unsafe { kernel::bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: per the trait's contract, the lock is initialised. Both
        // bindings describe the same C type.
        unsafe { b::wg_shim_spin_lock_bh(ptr.cast()) }
    }

    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: per the trait's contract, the caller holds the lock.
        unsafe { b::wg_shim_spin_unlock_bh(ptr.cast()) }
    }
}

/// What [`LeftRight::write`] does to bring a copy that missed an update back
/// in line with the other (only after an allocation failure on the second
/// application of an update).
pub(crate) trait Resync {
    /// Makes `self` equal to `src`; on error `self` may be anything but is
    /// still a valid value (it is resynchronised again before it is used).
    fn resync_from(&mut self, src: &Self) -> Result;
}

/// Two copies of a `T`: readers use the active one without locks inside an
/// RCU read-side section; the writer changes the inactive one, publishes it,
/// waits for a grace period (after which no reader can still be in the old
/// copy), and applies the same change to the old copy.
///
/// The writer's change is a closure called once per copy; it must be
/// deterministic (the same change on equal copies gives equal copies) and
/// all or nothing (on `Err`, the copy is unchanged). If its second call
/// fails, the old copy is marked stale and resynchronised from the active one
/// at the next write (see [`Resync`]).
///
/// # Invariants
///
/// - `active` is 0 or 1: the index of the copy readers use. That copy is never mutated.
/// - The other copy is mutated only by a holder of `writer`, and only when no reader can be in
///   it: it was never active, or a grace period has passed since it stopped being active.
/// - `stale` is set only when the inactive copy missed an update, and cleared once it was
///   resynchronised from the active one.
pub(crate) struct LeftRight<T: Resync> {
    copies: [UnsafeCell<T>; 2],
    /// Index of the copy readers use.
    active: AtomicUsize,
    /// The inactive copy missed an update.
    stale: AtomicBool,
    /// Serialises writers, and writer-side readers against writers.
    writer: Pin<KBox<Mutex<()>>>,
}

// SAFETY: readers only get shared references to the active copy; the
// inactive copy is only touched by the writer, under `writer`, once no reader
// can still reach it (a grace period after it stopped being active).
unsafe impl<T: Resync + Send + Sync> Sync for LeftRight<T> {}

/// `LeftRight::writer`, held.
type WriterGuard<'a> = kernel::sync::lock::Guard<'a, (), kernel::sync::lock::mutex::MutexBackend>;

/// Writer-side access to the active copy: no write can happen while held.
pub(crate) struct WriterView<'a, T: Resync> {
    lr: &'a LeftRight<T>,
    _guard: WriterGuard<'a>,
}

impl<T: Resync> core::ops::Deref for WriterView<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        let i = self.lr.active.load(Ordering::Relaxed) & 1;
        // SAFETY: writers hold `writer`, which this view holds, so nothing
        // mutates either copy while it lives; the active copy is never
        // mutated anyway.
        unsafe { &*self.lr.copies[i].get() }
    }
}

impl<T: Resync> LeftRight<T> {
    /// Two equal copies `a` and `b` (the caller makes them equal).
    pub(crate) fn new(a: T, b: T) -> Result<Self> {
        let writer = KBox::pin_init(kernel::new_mutex!((), "wireguard_leftright"), GFP_KERNEL)?;
        // INVARIANT: copy 0 is active; copy 1 never was, so no reader is in it; neither missed
        // an update.
        Ok(LeftRight {
            copies: [UnsafeCell::new(a), UnsafeCell::new(b)],
            active: AtomicUsize::new(0),
            stale: AtomicBool::new(false),
            writer,
        })
    }

    /// The active copy, for the read-side section `_guard`.
    pub(crate) fn read<'g>(&'g self, _guard: &'g ReadGuard) -> &'g T {
        let i = self.active.load(Ordering::Acquire) & 1;
        // SAFETY: the writer mutates a copy only a full grace period after it
        // stopped being active, and this reader's section began before that
        // grace period ends, so the copy is not mutated while `_guard` lives.
        unsafe { &*self.copies[i].get() }
    }

    /// The active copy for a process-context reader that may sleep (a dump):
    /// excludes writers while held.
    pub(crate) fn read_writer_side(&self) -> WriterView<'_, T> {
        WriterView {
            lr: self,
            _guard: self.writer.lock(),
        }
    }

    /// Lets `reserve` allocate in the copy the next [`LeftRight::write`]
    /// changes first, so that its first application cannot fail for lack
    /// of memory. `reserve` must not change what readers could observe.
    /// Process context.
    pub(crate) fn prepare(&self, reserve: impl FnOnce(&mut T) -> Result) -> Result {
        let mut w = self.writer.lock();
        // SAFETY: `w` is the guard of `self.writer`.
        reserve(unsafe { self.inactive(&mut w) }?.0)
    }

    /// The inactive copy (resynchronised from the active one if it missed
    /// an update) and the active copy's index, for the holder of `writer`.
    ///
    /// # Safety
    ///
    /// `_writer` must be the guard of `self.writer`.
    #[allow(clippy::mut_from_ref)]
    unsafe fn inactive<'a>(
        &'a self,
        _writer: &'a mut WriterGuard<'_>,
    ) -> Result<(&'a mut T, usize)> {
        let active = self.active.load(Ordering::Relaxed) & 1;
        // SAFETY: the inactive copy stopped being active at the end of the
        // previous write, which waited for a grace period after that, so no
        // reader is in it; writers are serialised by `writer` (held, and
        // borrowed mutably for as long as the copy is); the active copy is
        // only read.
        let (target, source) = unsafe {
            (
                &mut *self.copies[active ^ 1].get(),
                &*self.copies[active].get(),
            )
        };
        if self.stale.load(Ordering::Relaxed) {
            target.resync_from(source)?;
            self.stale.store(false, Ordering::Relaxed);
        }
        Ok((target, active))
    }

    /// Applies `change` to both copies (see the type's documentation).
    /// Process context; sleeps for a grace period.
    pub(crate) fn write<R>(&self, mut change: impl FnMut(&mut T) -> Result<R>) -> Result<R> {
        let mut w = self.writer.lock();
        // SAFETY: `w` is the guard of `self.writer`.
        let (target, active) = unsafe { self.inactive(&mut w) }?;
        let result = change(target)?;
        // INVARIANT: `writer` is held throughout: the new active copy is not mutated again
        // before it is inactive and a grace period has passed, and the old one is mutated
        // below only after `synchronize`.
        self.active.store(active ^ 1, Ordering::Release);
        // After this, no reader is in the previously active copy.
        rcu::synchronize();
        // SAFETY: as in `inactive`, with the roles swapped: the old copy is inactive
        // and a grace period has passed since it was.
        let old = unsafe { &mut *self.copies[active].get() };
        if change(old).is_err() {
            self.stale.store(true, Ordering::Relaxed);
        }
        Ok(result)
    }
}

/// A value behind a `struct rw_semaphore`: shared by any number of readers
/// at once ([`RwSem::read`]), or held by one writer ([`RwSem::write`]).
/// Process context only: both may sleep. One lockdep class for all of them
/// (`init_rwsem` in the shim).
#[pin_data]
pub(crate) struct RwSem<T> {
    #[pin]
    sem: Opaque<b::rw_semaphore>,
    value: UnsafeCell<T>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: the value moves between threads with the lock (`T: Send`).
unsafe impl<T: Send> Send for RwSem<T> {}
// SAFETY: readers on several threads share `&T` (`T: Sync`); a writer has
// `&mut T` alone, and may have been given it on any thread (`T: Send`).
unsafe impl<T: Send + Sync> Sync for RwSem<T> {}

impl<T> RwSem<T> {
    pub(crate) fn new(value: T) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `init_rwsem` initialises the semaphore in place.
            sem <- Opaque::ffi_init(|slot| unsafe { b::wg_shim_init_rwsem(slot) }),
            value: UnsafeCell::new(value),
            _pin: PhantomPinned,
        })
    }

    /// Shared access, once no writer holds it (may sleep).
    pub(crate) fn read(&self) -> RwSemReadGuard<'_, T> {
        // SAFETY: the semaphore was initialised by `new` and is pinned.
        unsafe { b::down_read(self.sem.get()) };
        RwSemReadGuard {
            sem: self,
            _not_send: PhantomData,
        }
    }

    /// Exclusive access, once nobody holds it (may sleep).
    pub(crate) fn write(&self) -> RwSemWriteGuard<'_, T> {
        // SAFETY: as in `read`.
        unsafe { b::down_write(self.sem.get()) };
        RwSemWriteGuard {
            sem: self,
            _not_send: PhantomData,
        }
    }
}

/// A reader's hold of an [`RwSem`]; released when dropped, on the task that
/// took it (not `Send`).
pub(crate) struct RwSemReadGuard<'a, T> {
    sem: &'a RwSem<T>,
    _not_send: PhantomData<*mut ()>,
}

impl<T> Deref for RwSemReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: readers hold the semaphore shared: no writer has `&mut T`.
        unsafe { &*self.sem.value.get() }
    }
}

impl<T> Drop for RwSemReadGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard took the semaphore with `down_read`.
        unsafe { b::up_read(self.sem.sem.get()) };
    }
}

/// A writer's hold of an [`RwSem`]; released when dropped, on the task that
/// took it (not `Send`).
pub(crate) struct RwSemWriteGuard<'a, T> {
    sem: &'a RwSem<T>,
    _not_send: PhantomData<*mut ()>,
}

impl<T> Deref for RwSemWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the writer holds the semaphore alone.
        unsafe { &*self.sem.value.get() }
    }
}

impl<T> DerefMut for RwSemWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the writer holds the semaphore alone, and `&mut self`
        // makes this the only reference through the guard.
        unsafe { &mut *self.sem.value.get() }
    }
}

impl<T> Drop for RwSemWriteGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard took the semaphore with `down_write`.
        unsafe { b::up_write(self.sem.sem.get()) };
    }
}

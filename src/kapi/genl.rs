// SPDX-License-Identifier: GPL-2.0
//! Generic netlink families.
//!
//! A driver implements [`GenlOps`] (one command answered by `doit`, one by a
//! dump), declares one `static FAMILY: Family<T> = Family::new();` and
//! registers it; `kapi` builds the `genl_ops` table and dispatches to `T`.

use super::bindings as b;
use super::error::emsgsize;
use super::net::Net;
use super::nla::{Attr, Extack, GenlMsg};
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::alloc::{flags::GFP_KERNEL, KBox};
use kernel::error::{from_result, to_result, Result};
use kernel::str::CStr;
use kernel::types::Opaque;
use kernel::ThisModule;

/// A received request.
///
/// # Invariants
///
/// `self.0` is the `genl_info` of a request to our registered family (the `doit` callback's, or
/// the dump info during `start`), which the genl core keeps valid, with the attributes, extack
/// and namespace it points to, while the callback runs.
pub(crate) struct Request<'a>(&'a b::genl_info);

impl<'a> Request<'a> {
    /// The namespace of the sending socket.
    pub(crate) fn net(&self) -> &'a Net {
        // SAFETY: the request's namespace is alive while the request is
        // handled (the sending socket holds it).
        unsafe { Net::from_raw(b::wg_shim_genl_info_net(self.0)) }
    }

    /// The top-level attribute of type `kind`, parsed and validated by the
    /// genl core against the family's policy. It (and every payload, string
    /// or nested attribute read from it) borrows the request: see
    /// [`Request::wipe`].
    pub(crate) fn attr(&self, kind: u32) -> Option<Attr<'_>> {
        // SAFETY: the entry is null or an attribute inside the request, valid
        // for the call, so for this borrow of it.
        unsafe { Attr::from_raw(self.attr_ptr(kind)?) }
    }

    fn attr_ptr(&self, kind: u32) -> Option<*const b::nlattr> {
        if self.0.attrs.is_null() {
            return None;
        }
        // SAFETY: the request's family is ours, registered; `attrs` has its
        // `maxattr + 1` entries (our ops have no `maxattr` of their own), each
        // null or an attribute inside the request, valid for the call.
        let p = unsafe {
            if kind > (*self.0.family).maxattr {
                return None;
            }
            *self.0.attrs.add(kind as usize)
        };
        (!p.is_null()).then_some(p.cast_const())
    }

    /// Zeroes (`memzero_explicit`) the payload of the attributes at `path`
    /// in the request: `path[0]` is a top-level type, the rest as
    /// [`super::nla::wipe_at`] (e.g. `[PEERS, ANY_TYPE, PRESHARED_KEY]`: the
    /// preshared key of every peer). For secrets, once copied, as the C
    /// driver does.
    ///
    /// It takes `&mut self`: every [`Attr`] and payload slice read from the
    /// request borrows it (see [`Request::attr`]), so none is alive while
    /// the bytes change.
    pub(crate) fn wipe(&mut self, path: &[u32]) {
        let Some(p) = path.first().and_then(|&t| self.attr_ptr(t)) else {
            return;
        };
        // SAFETY: `p` is an attribute of the request whose header and
        // `nla_len` bytes the genl core validated to be inside the message,
        // valid for the call. Nothing else references those bytes while we
        // hold `&mut self`: attributes and slices read from the request
        // borrow it, and the genl core does not read them during the
        // callback (it keeps only pointers, e.g. the extack's bad attribute).
        let attr = unsafe {
            core::slice::from_raw_parts_mut(p.cast_mut().cast::<u8>(), usize::from((*p).nla_len))
        };
        // The attribute as a list of one, whose type is `path[0]`.
        super::nla::wipe_at(attr, path);
    }

    /// Where error messages for the sender go.
    pub(crate) fn extack(&self) -> Extack<'a> {
        // SAFETY: the request's extack (or null), valid for the call.
        unsafe { Extack::from_raw(self.0.extack) }
    }
}

/// What a driver implements for its family.
pub(crate) trait GenlOps: Sized + 'static {
    /// The family's name.
    const NAME: &'static CStr;
    /// The family's version.
    const VERSION: u32;
    /// The command answered by [`GenlOps::doit`] and the one answered by a
    /// dump. Both require `CAP_NET_ADMIN` in the user namespace owning the
    /// requester's network namespace (`GENL_UNS_ADMIN_PERM`).
    const DO_CMD: u8;
    const DUMP_CMD: u8;

    /// The top-level attribute policy: `maxattr + 1` entries.
    fn policy() -> &'static [b::nla_policy];

    /// The state a dump keeps between its messages.
    type DumpState: Send;

    /// Runs the `DO_CMD` command.
    fn doit(req: &mut Request<'_>) -> Result;

    /// Starts a dump (`start`): checks the request and builds the
    /// dump's state. On error nothing is dumped.
    fn dump_start(req: &Request<'_>) -> Result<Self::DumpState>;

    /// Writes the next messages of a dump into `skb`; returns whether more
    /// are to come. The state is dropped when the dump ends.
    fn dumpit(state: &mut Self::DumpState, skb: &mut DumpSkb<'_>) -> Result<bool>;
}

/// The skb one step of a dump writes into.
///
/// # Invariants
///
/// `skb` and `cb` are the skb and the netlink callback of a dump of our family, valid and ours
/// during the `dumpit` callback in which this value lives.
pub(crate) struct DumpSkb<'a> {
    skb: *mut b::sk_buff,
    cb: *mut b::netlink_callback,
    _p: PhantomData<&'a mut b::sk_buff>,
}

impl DumpSkb<'_> {
    /// The namespace of the socket the dump answers.
    pub(crate) fn net(&self) -> &Net {
        // SAFETY: `cb` is valid during the callback; the dumping socket
        // holds its namespace while the dump runs.
        unsafe { Net::from_raw(b::wg_shim_sock_net((*(*self.cb).skb).sk)) }
    }

    /// Starts a message of the dump (`genlmsg_put` with `NLM_F_MULTI`),
    /// answering the request. `seq` is the state's generation: if it differs
    /// from the previous message's, the message gets `NLM_F_DUMP_INTR`.
    pub(crate) fn message(&mut self, cmd: u8, seq: u32) -> Result<GenlMsg<'_>> {
        // SAFETY: `skb` and `cb` are the dump's, valid during the callback,
        // and so is the dump info, which names the (registered) family.
        unsafe {
            let hdr = b::wg_shim_genl_dump_put(self.skb, self.cb, cmd);
            if hdr.is_null() {
                return Err(emsgsize());
            }
            (*self.cb).seq = seq;
            b::wg_shim_genl_dump_check_consistent(self.cb, hdr);
            Ok(GenlMsg::from_raw(self.skb, hdr))
        }
    }
}

/// A generic netlink family's C tables.
///
/// # Invariants
///
/// `family` and `ops` are written only by [`Family::register`], by the one caller that set
/// `registered`, before the family is registered with the genl core; while it is, only the
/// kernel uses them.
pub(crate) struct Family<T> {
    family: Opaque<b::genl_family>,
    /// The dump, then `doit`.
    ops: Opaque<[b::genl_ops; 2]>,
    registered: AtomicBool,
    _t: PhantomData<T>,
}

// SAFETY: the tables are written once before registration, then only read by
// the kernel.
unsafe impl<T> Sync for Family<T> {}

/// While this lives, the family is registered.
pub(crate) struct FamilyRegistration<T: GenlOps>(&'static Family<T>);

impl<T: GenlOps> Family<T> {
    pub(crate) const fn new() -> Self {
        Family {
            family: Opaque::uninit(),
            ops: Opaque::uninit(),
            registered: AtomicBool::new(false),
            _t: PhantomData,
        }
    }

    /// Registers the family.
    pub(crate) fn register(
        &'static self,
        module: &'static ThisModule,
    ) -> Result<FamilyRegistration<T>> {
        if self.registered.swap(true, Ordering::AcqRel) {
            return Err(kernel::error::code::EBUSY);
        }
        let policy = T::policy();
        let name = T::NAME.as_bytes();
        let fam = self.family.get();
        let ops = self.ops.get().cast::<b::genl_ops>();
        // SAFETY: not registered (checked above), so nothing else reads the
        // tables; all-zero is valid for both (pointers, options of function
        // pointers, integers).
        unsafe {
            ptr::write_bytes(fam, 0, 1);
            ptr::write_bytes(ops, 0, 2);
            let (dump, doit) = (&mut *ops, &mut *ops.add(1));
            dump.cmd = T::DUMP_CMD;
            dump.flags = b::GENL_UNS_ADMIN_PERM as u8;
            dump.start = Some(start_callback::<T>);
            dump.dumpit = Some(dumpit_callback::<T>);
            dump.done = Some(done_callback::<T>);
            doit.cmd = T::DO_CMD;
            doit.flags = dump.flags;
            doit.doit = Some(doit_callback::<T>);
            let f = &mut *fam;
            let n = name.len().min(f.name.len() - 1);
            for (dst, src) in f.name.iter_mut().zip(&name[..n]) {
                *dst = *src as _;
            }
            f.version = T::VERSION;
            f.maxattr = u32::try_from(policy.len().saturating_sub(1)).unwrap_or(0);
            f.set_netnsok(1);
            f.policy = policy.as_ptr();
            f.ops = ops;
            f.n_ops = 2;
            // Commands above the last one reject unknown attributes strictly.
            f.resv_start_op = T::DO_CMD.max(T::DUMP_CMD).saturating_add(1);
            f.module = module.as_ptr().cast();
        }
        // SAFETY: the family is initialised and 'static.
        if let Err(e) = to_result(unsafe { b::genl_register_family(fam) }) {
            self.registered.store(false, Ordering::Release);
            return Err(e);
        }
        Ok(FamilyRegistration(self))
    }
}

impl<T: GenlOps> Drop for FamilyRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: registered in `Family::register`.
        unsafe { b::genl_unregister_family(self.0.family.get()) };
        self.0.registered.store(false, Ordering::Release);
    }
}

unsafe extern "C" fn doit_callback<T: GenlOps>(
    _skb: *mut b::sk_buff,
    info: *mut b::genl_info,
) -> core::ffi::c_int {
    // INVARIANT: the genl core hands `doit` a request to our family, valid for the call.
    // SAFETY: the request is valid for the duration of the call.
    let mut req = Request(unsafe { &*info });
    from_result(|| T::doit(&mut req).map(|()| 0))
}

/// The dump's state lives in a box whose pointer is kept in `cb->args[0]`.
fn state_slot(cb: *mut b::netlink_callback) -> *mut core::ffi::c_long {
    // SAFETY: `cb` is valid during the callbacks; `args` is plain storage the
    // genl core leaves to the family (it keeps its own state in `cb->data`).
    unsafe { core::ptr::addr_of_mut!((*cb).__bindgen_anon_1.args).cast::<core::ffi::c_long>() }
}

unsafe extern "C" fn start_callback<T: GenlOps>(cb: *mut b::netlink_callback) -> core::ffi::c_int {
    // INVARIANT: the dump info of a request to our family, valid for the call.
    // SAFETY: during `start` the genl core has parsed the request into the
    // dump info, valid until the dump ends.
    let req = Request(unsafe { &*b::wg_shim_genl_info_dump(cb) });
    from_result(|| {
        // A failed allocation is `-ENOMEM`.
        let boxed = KBox::new(T::dump_start(&req)?, GFP_KERNEL)?;
        // SAFETY: the slot is ours (see `state_slot`); `done` takes the box
        // back.
        unsafe { *state_slot(cb) = KBox::into_raw(boxed) as core::ffi::c_long };
        Ok(0)
    })
}

unsafe extern "C" fn dumpit_callback<T: GenlOps>(
    skb: *mut b::sk_buff,
    cb: *mut b::netlink_callback,
) -> core::ffi::c_int {
    // SAFETY: set by `start_callback`, which succeeded (or the dump would not
    // run); the netlink core runs one callback of a dump at a time.
    let state = unsafe { (*state_slot(cb) as *mut T::DumpState).as_mut() };
    let Some(state) = state else {
        return kernel::error::code::EINVAL.to_errno();
    };
    // INVARIANT: the dump's skb and callback, valid during this call, which `out` does not
    // outlive.
    let mut out = DumpSkb {
        skb,
        cb,
        _p: PhantomData,
    };
    from_result(|| match T::dumpit(state, &mut out)? {
        // SAFETY: the skb is valid during the callback.
        true => Ok(unsafe { (*skb).len as core::ffi::c_int }),
        false => Ok(0),
    })
}

unsafe extern "C" fn done_callback<T: GenlOps>(cb: *mut b::netlink_callback) -> core::ffi::c_int {
    let slot = state_slot(cb);
    // SAFETY: the slot holds null or the box `start_callback` made; it is
    // taken back once.
    unsafe {
        let p = *slot as *mut T::DumpState;
        *slot = 0;
        if !p.is_null() {
            drop(KBox::from_raw(p));
        }
    }
    0
}

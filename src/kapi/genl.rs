// SPDX-License-Identifier: GPL-2.0
//! Generic netlink families.
//!
//! A driver implements [`GenlOps`], declares one `static FAMILY: Family<T> =
//! Family::new();` and registers it. Commands are described by [`OpSpec`]s;
//! `kapi` builds the `genl_ops` table and dispatches to `T`.

use super::bindings as b;
use core::marker::PhantomData;
use core::ptr;
use kernel::error::{to_result, Result};
use kernel::str::CStr;
use kernel::types::Opaque;
use kernel::ThisModule;

/// Most commands a family may have.
const MAX_OPS: usize = 4;

/// How a command is run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// A request answered by one reply (`doit`).
    Do,
    /// A dump, answered over several messages (`dumpit`).
    Dump,
}

/// One command of a family.
#[derive(Clone, Copy)]
pub(crate) struct OpSpec {
    pub(crate) cmd: u8,
    pub(crate) kind: OpKind,
    /// Require `CAP_NET_ADMIN` in the user namespace owning the device's
    /// network namespace (`GENL_UNS_ADMIN_PERM`).
    pub(crate) uns_admin: bool,
}

/// A received request.
pub(crate) struct Request<'a> {
    info: &'a b::genl_info,
}

impl Request<'_> {
    /// The generic netlink command.
    pub(crate) fn cmd(&self) -> u8 {
        // SAFETY: `genlhdr` points into the request, valid for the call.
        unsafe { (*self.info.genlhdr).cmd }
    }
}

/// What a driver implements for its family.
pub(crate) trait GenlOps: Sized + 'static {
    /// The family's name.
    const NAME: &'static CStr;
    /// The family's version.
    const VERSION: u32;
    /// The commands.
    const OPS: &'static [OpSpec];

    /// The driver's one static [`Family`].
    fn family() -> &'static Family<Self>;

    /// The top-level attribute policy: `maxattr + 1` entries.
    fn policy() -> &'static [b::nla_policy];

    /// Runs a `Do` command.
    fn doit(req: &Request<'_>) -> Result;

    /// Runs one step of a `Dump` command.
    fn dumpit(cmd: u8) -> Result;
}

/// A generic netlink family's C tables.
pub(crate) struct Family<T> {
    family: Opaque<b::genl_family>,
    ops: Opaque<[b::genl_ops; MAX_OPS]>,
    registered: core::sync::atomic::AtomicBool,
    _t: PhantomData<T>,
}

// SAFETY: the tables are written once before registration, then only read by
// the kernel.
unsafe impl<T> Sync for Family<T> {}

/// While this lives, the family is registered.
pub(crate) struct FamilyRegistration<T: GenlOps> {
    family: &'static Family<T>,
}

impl<T: GenlOps> Family<T> {
    const OPS_FIT: () = assert!(T::OPS.len() <= MAX_OPS);

    pub(crate) const fn new() -> Self {
        Family {
            family: Opaque::uninit(),
            ops: Opaque::uninit(),
            registered: core::sync::atomic::AtomicBool::new(false),
            _t: PhantomData,
        }
    }

    /// Registers the family.
    pub(crate) fn register(&'static self, module: &'static ThisModule) -> Result<FamilyRegistration<T>> {
        #[allow(clippy::let_unit_value)]
        let () = Self::OPS_FIT;
        use core::sync::atomic::Ordering;
        if self.registered.swap(true, Ordering::AcqRel) {
            return Err(kernel::error::code::EBUSY);
        }
        let policy = T::policy();
        let maxattr = u32::try_from(policy.len().saturating_sub(1)).map_err(|_| kernel::error::code::EINVAL)?;
        let name = T::NAME.as_bytes();
        let fam = self.family.get();
        let ops = self.ops.get().cast::<b::genl_ops>();
        // SAFETY: not registered (checked above), so nothing else reads the
        // tables; all-zero is valid for both (pointers, options of function
        // pointers, integers).
        unsafe {
            ptr::write_bytes(fam, 0, 1);
            ptr::write_bytes(ops, 0, MAX_OPS);
            for (i, spec) in T::OPS.iter().enumerate() {
                let op = &mut *ops.add(i);
                op.cmd = spec.cmd;
                op.flags = if spec.uns_admin { b::GENL_UNS_ADMIN_PERM as u8 } else { 0 };
                match spec.kind {
                    OpKind::Do => op.doit = Some(doit_callback::<T>),
                    OpKind::Dump => op.dumpit = Some(dumpit_callback::<T>),
                }
            }
            let f = &mut *fam;
            let n = name.len().min(f.name.len() - 1);
            for (dst, src) in f.name.iter_mut().zip(&name[..n]) {
                *dst = *src as _;
            }
            f.version = T::VERSION;
            f.maxattr = maxattr;
            f.set_netnsok(1);
            f.policy = policy.as_ptr();
            f.ops = ops;
            f.n_ops = T::OPS.len() as u8;
            // Commands above the last one reject unknown attributes strictly.
            f.resv_start_op = T::OPS.iter().map(|o| o.cmd).max().unwrap_or(0).saturating_add(1);
            f.module = module.as_ptr().cast();
        }
        // SAFETY: the family is initialised and 'static.
        if let Err(e) = to_result(unsafe { b::genl_register_family(fam) }) {
            self.registered.store(false, Ordering::Release);
            return Err(e);
        }
        Ok(FamilyRegistration { family: self })
    }
}

impl<T: GenlOps> Drop for FamilyRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: registered in `Family::register`.
        unsafe { b::genl_unregister_family(self.family.family.get()) };
        self.family.registered.store(false, core::sync::atomic::Ordering::Release);
    }
}

unsafe extern "C" fn doit_callback<T: GenlOps>(
    _skb: *mut b::sk_buff,
    info: *mut b::genl_info,
) -> core::ffi::c_int {
    // SAFETY: the request is valid for the duration of the call.
    let req = Request { info: unsafe { &*info } };
    match T::doit(&req) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

unsafe extern "C" fn dumpit_callback<T: GenlOps>(
    _skb: *mut b::sk_buff,
    cb: *mut b::netlink_callback,
) -> core::ffi::c_int {
    // SAFETY: the dump's callback state is valid for the duration of the call;
    // `nlh` is the request.
    let cmd = unsafe {
        let nlh = (*cb).nlh;
        let genlhdr = nlh.cast::<u8>().add(core::mem::size_of::<b::nlmsghdr>().next_multiple_of(4))
            .cast::<b::genlmsghdr>();
        (*genlhdr).cmd
    };
    match T::dumpit(cmd) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

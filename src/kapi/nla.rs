// SPDX-License-Identifier: GPL-2.0
//! Netlink attributes: reading those of a request (validated by the kernel's
//! `__nla_parse` against a policy) and writing those of a reply.

use super::bindings as b;
use super::error::emsgsize;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::str::CStr;

/// `NLA_HDRLEN`: the attribute header, aligned.
const NLA_HDRLEN: usize = 4;
/// `NL_VALIDATE_STRICT` (a macro).
const NL_VALIDATE_STRICT: u32 = b::netlink_validation_NL_VALIDATE_TRAILING
    | b::netlink_validation_NL_VALIDATE_MAXTYPE
    | b::netlink_validation_NL_VALIDATE_UNSPEC
    | b::netlink_validation_NL_VALIDATE_STRICT_ATTRS
    | b::netlink_validation_NL_VALIDATE_NESTED;
/// `NLA_ALIGNTO`.
const NLA_ALIGNTO: usize = 4;

/// `len` rounded up to `NLA_ALIGNTO` (`NLA_ALIGN`); the largest lengths,
/// which have no such multiple, round down instead of failing (no
/// attribute is that long: callers bound what they step over by the
/// payload).
fn nla_align(len: usize) -> usize {
    len.saturating_add(NLA_ALIGNTO - 1) & !(NLA_ALIGNTO - 1)
}

/// In a path given to [`wipe_at`]: any attribute of a list (the elements of
/// a nested list, whatever their type). Types are at most `NLA_TYPE_MASK`.
pub(crate) const ANY_TYPE: u32 = u32::MAX;

/// Zeroes with `memzero_explicit` the payload of every attribute at `path`
/// under `payload` (the payload of a nested attribute): `path[0]` is a type
/// among the attributes nested in it (or [`ANY_TYPE`]), `path[1]` one nested
/// in those, and so on; an empty path zeroes `payload` itself. Malformed
/// nests are walked as `nla_for_each_nested` does: up to the first attribute
/// that does not fit.
///
/// It takes the bytes as `&mut`: nothing can read them meanwhile (see
/// `Request::wipe`, which lends them).
pub(crate) fn wipe_at(payload: &mut [u8], path: &[u32]) {
    let Some((&kind, rest)) = path.split_first() else {
        super::platform::memzero_explicit(payload);
        return;
    };
    let mut off = 0usize;
    while let Some((len, t)) = payload.get(off..).and_then(attr_at) {
        if kind == ANY_TYPE || u32::from(t) == kind {
            // In bounds: the attribute fits in what is left after `off`.
            if let Some(inner) =
                payload.get_mut(off.saturating_add(NLA_HDRLEN)..off.saturating_add(len))
            {
                wipe_at(inner, rest);
            }
        }
        off = off.saturating_add(nla_align(len));
    }
}

/// The length and type of the attribute at the start of `bytes`, if its
/// header and `nla_len` bytes fit there (`nla_ok`).
fn attr_at(bytes: &[u8]) -> Option<(usize, u16)> {
    let hdr = bytes.get(..NLA_HDRLEN)?;
    let len = usize::from(u16::from_ne_bytes([hdr[0], hdr[1]]));
    let t = u16::from_ne_bytes([hdr[2], hdr[3]]) & (b::NLA_TYPE_MASK as u16);
    (NLA_HDRLEN..=bytes.len())
        .contains(&len)
        .then_some((len, t))
}

/// One attribute of a received message, borrowed from the message.
///
/// # Invariants
///
/// `raw` points to an attribute whose header and `nla_len` bytes lie inside a message valid for
/// `'a`.
#[derive(Clone, Copy)]
pub(crate) struct Attr<'a> {
    raw: NonNull<b::nlattr>,
    _msg: PhantomData<&'a [u8]>,
}

impl<'a> Attr<'a> {
    /// # Safety
    ///
    /// `ptr` is null or points to an attribute whose header and `nla_len`
    /// bytes are inside a message valid for `'a` (checked by `nla_ok` or by
    /// `__nla_parse`).
    pub(crate) unsafe fn from_raw(ptr: *const b::nlattr) -> Option<Self> {
        // INVARIANT: by the safety requirements.
        NonNull::new(ptr.cast_mut()).map(|raw| Attr {
            raw,
            _msg: PhantomData,
        })
    }

    /// The payload.
    pub(crate) fn payload(&self) -> &'a [u8] {
        // SAFETY: the header is valid and `nla_len` bytes from it are inside
        // the message (type invariant), so the payload is too.
        unsafe {
            let len = usize::from((*self.raw.as_ptr()).nla_len).saturating_sub(NLA_HDRLEN);
            core::slice::from_raw_parts(self.raw.as_ptr().cast::<u8>().add(NLA_HDRLEN), len)
        }
    }

    fn array<const N: usize>(&self) -> Option<[u8; N]> {
        self.payload().get(..N)?.try_into().ok()
    }

    /// The payload as a `u8` (`nla_get_u8`), if long enough.
    pub(crate) fn u8(&self) -> Option<u8> {
        self.array::<1>().map(|a| a[0])
    }

    /// The payload as a host-order `u16`.
    pub(crate) fn u16(&self) -> Option<u16> {
        self.array::<2>().map(u16::from_ne_bytes)
    }

    /// The payload as a host-order `u32`.
    pub(crate) fn u32(&self) -> Option<u32> {
        self.array::<4>().map(u32::from_ne_bytes)
    }

    /// The payload up to its first NUL, if there is one (`NLA_NUL_STRING`).
    pub(crate) fn c_str(&self) -> Option<&'a CStr> {
        let p = self.payload();
        let end = p.iter().position(|&c| c == 0)?;
        CStr::from_bytes_with_nul(p.get(..=end)?).ok()
    }

    /// The attributes nested in this one, as a list (`nla_for_each_nested`).
    pub(crate) fn nested(&self) -> Nested<'a> {
        // INVARIANT: the whole payload.
        Nested(self.payload())
    }

    /// Parses the attributes nested in this one against `policy` (strict
    /// validation, as `nla_parse_nested`): types above `N - 1`, type 0,
    /// wrong lengths or values and trailing bytes are rejected with an
    /// extack message.
    pub(crate) fn parse<const N: usize>(
        &self,
        policy: &'static [b::nla_policy; N],
        extack: &Extack<'_>,
    ) -> Result<Attrs<'a, N>> {
        let mut tb: [*mut b::nlattr; N] = [core::ptr::null_mut(); N];
        let payload = self.payload();
        let maxtype =
            i32::try_from(N.saturating_sub(1)).map_err(|_| kernel::error::code::EINVAL)?;
        let len = i32::try_from(payload.len()).map_err(|_| kernel::error::code::EINVAL)?;
        // SAFETY: `tb` has `maxtype + 1` entries and `policy` as many; the
        // payload is valid for `len` bytes; `extack` is null or the request's.
        to_result(unsafe {
            b::__nla_parse(
                tb.as_mut_ptr(),
                maxtype,
                payload.as_ptr().cast(),
                len,
                policy.as_ptr(),
                NL_VALIDATE_STRICT,
                extack.raw,
            )
        })?;
        // INVARIANT: `__nla_parse` succeeded on the payload, which lives for `'a`.
        Ok(Attrs {
            tb,
            _msg: PhantomData,
        })
    }
}

/// The list of attributes nested in one attribute: the bytes not walked yet.
///
/// # Invariants
///
/// `self.0` lies inside the payload of an [`Attr`] (so in a message valid for `'a`) and, unless
/// it is empty, starts a multiple of `NLA_ALIGNTO` bytes from that payload's start, where an
/// attribute would be.
pub(crate) struct Nested<'a>(&'a [u8]);

impl Nested<'_> {
    /// Bytes after the last complete attribute (the kernel's `nla_ok` stops
    /// there; a strict parser rejects them).
    pub(crate) fn trailing(&self) -> usize {
        self.0.len()
    }
}

impl<'a> Iterator for Nested<'a> {
    type Item = Attr<'a>;

    fn next(&mut self) -> Option<Attr<'a>> {
        let (len, _) = attr_at(self.0)?;
        let ptr = self.0.as_ptr().cast::<b::nlattr>();
        let step = nla_align(len).min(self.0.len());
        // INVARIANT: `step` is a multiple of `NLA_ALIGNTO`, or all that is left (then the rest
        // is empty).
        self.0 = self.0.get(step..).unwrap_or(&[]);
        // SAFETY: the header and `len` bytes are inside the parent's payload
        // (checked above, as `nla_ok`), which lives for `'a`; attributes are
        // 4-byte aligned in a message (NLA_ALIGNTO), as `nlattr` requires.
        unsafe { Attr::from_raw(ptr) }
    }
}

/// Attributes parsed against a policy of `N` entries, by type.
///
/// # Invariants
///
/// Each entry of `tb` is null or an attribute that `__nla_parse` validated inside a message
/// valid for `'a`.
pub(crate) struct Attrs<'a, const N: usize> {
    tb: [*mut b::nlattr; N],
    _msg: PhantomData<&'a [u8]>,
}

impl<'a, const N: usize> Attrs<'a, N> {
    /// The attribute of type `kind`, if present.
    pub(crate) fn get(&self, kind: u32) -> Option<Attr<'a>> {
        let p = *self.tb.get(kind as usize)?;
        // SAFETY: `__nla_parse` fills the table with null or attributes
        // inside the message it validated, which lives for `'a`.
        unsafe { Attr::from_raw(p) }
    }
}

/// Where error messages for the sender go (`struct netlink_ext_ack`).
///
/// # Invariants
///
/// `raw` is null or the extack of the request being handled, valid for `'a`.
pub(crate) struct Extack<'a> {
    raw: *mut b::netlink_ext_ack,
    _p: PhantomData<&'a mut b::netlink_ext_ack>,
}

impl Extack<'_> {
    /// # Safety
    ///
    /// `raw` is null or the extack of the request being handled, valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(raw: *mut b::netlink_ext_ack) -> Extack<'a> {
        // INVARIANT: by the safety requirements.
        Extack {
            raw,
            _p: PhantomData,
        }
    }

    /// Sets the message (`NL_SET_ERR_MSG_ATTR`), pointing at `attr` if given.
    pub(crate) fn set(&self, msg: &'static CStr, attr: Option<Attr<'_>>) {
        let attr = attr.map_or(core::ptr::null(), |a| a.raw.as_ptr().cast_const());
        let msg = msg.as_char_ptr();
        // SAFETY: `raw` is null or valid (type invariant) and the request's,
        // handled by this thread; the message is static, as the extack keeps
        // only the pointer (the macro without its static copy of it).
        unsafe {
            b::do_trace_netlink_extack(msg);
            if let Some(extack) = self.raw.as_mut() {
                extack._msg = msg;
                extack.bad_attr = attr;
                extack.policy = core::ptr::null();
            }
        }
    }
}

/// A generic netlink message being written into an skb. Dropping it without
/// [`GenlMsg::end`] cancels it. Writing fails with `-EMSGSIZE` when the
/// message runs out of room.
///
/// # Invariants
///
/// `skb` is valid and used by nobody else for `'a`. `hdr` is null once [`GenlMsg::end`] finished
/// the message, and until then the user header of the message started in `skb` (with
/// `genlmsg_put`), neither ended nor cancelled.
pub(crate) struct GenlMsg<'a> {
    skb: *mut b::sk_buff,
    hdr: *mut core::ffi::c_void,
    _p: PhantomData<&'a mut b::sk_buff>,
}

impl<'a> GenlMsg<'a> {
    /// # Safety
    ///
    /// `skb` is an skb valid and used by nobody else for `'a`, and `hdr` the
    /// user header of a message just started in it with `genlmsg_put`.
    pub(crate) unsafe fn from_raw(skb: *mut b::sk_buff, hdr: *mut core::ffi::c_void) -> Self {
        // INVARIANT: by the safety requirements.
        GenlMsg {
            skb,
            hdr,
            _p: PhantomData,
        }
    }

    /// Adds an attribute with payload `data` (an integer: its native-endian
    /// bytes, as `nla_put_u8/u16/u32`).
    pub(crate) fn put(&mut self, kind: u32, data: &[u8]) -> Result {
        let len = i32::try_from(data.len()).map_err(|_| emsgsize())?;
        // SAFETY: the skb is valid (type invariant); `data` is valid for reads.
        to_result(unsafe { b::nla_put(self.skb, kind as i32, len, data.as_ptr().cast()) })
    }

    /// A 64-bit value, padded to 8-byte alignment with attributes of type
    /// `pad` (`nla_put_u64_64bit`).
    pub(crate) fn put_u64(&mut self, kind: u32, v: u64, pad: u32) -> Result {
        let d = v.to_ne_bytes();
        // SAFETY: the skb is valid (type invariant); `d` is 8 readable bytes.
        to_result(unsafe {
            b::nla_put_64bit(self.skb, kind as i32, 8, d.as_ptr().cast(), pad as i32)
        })
    }

    /// A nested attribute whose content `f` writes. If `f` fails the nest is
    /// removed (`nla_nest_cancel`); if it succeeds the nest is closed.
    pub(crate) fn nest<R>(
        &mut self,
        kind: u32,
        f: impl FnOnce(&mut Self) -> Result<R>,
    ) -> Result<R> {
        // SAFETY: the skb is valid (type invariant).
        let start = unsafe { b::wg_shim_nl_nest_start(self.skb, kind as i32) };
        if start.is_null() {
            return Err(emsgsize());
        }
        let r = f(self);
        // SAFETY: `start` was returned by `nla_nest_start` on this skb, and
        // everything written since (by `f`, which only had `&mut self`, so
        // nests inside it are closed) follows it.
        unsafe {
            if r.is_ok() {
                b::wg_shim_nl_nest_end(self.skb, start);
            } else {
                b::wg_shim_nl_nest_cancel(self.skb, start);
            }
        }
        r
    }

    /// Finishes the message (`genlmsg_end`).
    pub(crate) fn end(mut self) {
        // SAFETY: `hdr` starts a message in this skb (type invariant).
        unsafe { b::wg_shim_genl_msg_end(self.skb, self.hdr) };
        // INVARIANT: the message is finished.
        self.hdr = core::ptr::null_mut();
    }
}

impl Drop for GenlMsg<'_> {
    fn drop(&mut self) {
        if !self.hdr.is_null() {
            // SAFETY: an unfinished message in this skb (type invariant).
            unsafe { b::wg_shim_genl_msg_cancel(self.skb, self.hdr) };
        }
    }
}

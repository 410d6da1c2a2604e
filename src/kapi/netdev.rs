// SPDX-License-Identifier: GPL-2.0
//! Network devices of an rtnl link kind whose private area holds a Rust value.
//!
//! A driver implements [`LinkOps`] for its per-device state `T`, declares one
//! `static KIND: LinkKind<T> = LinkKind::new();` and registers it from module
//! init. `kapi` then builds the `rtnl_link_ops`, `net_device_ops` and
//! `pernet_operations` tables, places `T` in the device's private area (pinned:
//! the area never moves), drops it when the device is destroyed, and keeps the
//! list of live devices of the kind (under RTNL) so that a namespace going away
//! can be told to the devices that were created in it.

use super::bindings as b;
use super::net::Net;
use super::rcu::ReadGuard;
use super::rtnl::Rtnl;
use super::skb::SkBuff;
use core::cell::Cell;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kernel::error::{from_result, to_result, Error, Result};
use kernel::init::PinInit;
use kernel::str::CStr;
use kernel::types::Opaque;

/// What a driver implements for the devices of its link kind.
pub(crate) trait LinkOps: Sized + Send + Sync + 'static {
    /// The rtnl kind (`ip link add ... type KIND`).
    const KIND: &'static CStr;

    /// The driver's one static [`LinkKind`].
    fn kind() -> &'static LinkKind<Self>;

    /// Configures a freshly allocated device, before it has any state.
    fn setup(dev: &mut DeviceSetup<'_>);

    /// Builds the state of a new device created in `src_net` (under RTNL,
    /// before the device is registered). `name` is the device's name as
    /// given, which may still be a pattern such as `wg%d` (registration
    /// picks the number).
    fn new_link(rtnl: &Rtnl, src_net: &Net, name: &CStr) -> impl PinInit<Self, Error>;

    /// Runs once the device is registered.
    fn registered(_rtnl: &Rtnl, _dev: &NetDevice<Self>) {}

    /// `ndo_open`, under RTNL.
    fn open(rtnl: &Rtnl, dev: &NetDevice<Self>) -> Result;

    /// `ndo_stop`, under RTNL.
    fn stop(rtnl: &Rtnl, dev: &NetDevice<Self>) -> Result;

    /// `ndo_start_xmit`: the driver owns `skb` from here on.
    fn start_xmit(dev: &NetDevice<Self>, skb: SkBuff);

    /// The namespace this device was created in is going away (the device
    /// itself lives elsewhere). Under RTNL; [`NetDevice::creating_net`] is
    /// already cleared.
    fn creating_net_exit(rtnl: &Rtnl, dev: &NetDevice<Self>);

    /// `ndo_uninit`, under RTNL: the device is being unregistered (it is
    /// down and unlisted). Whatever holds a [`DevHold`] on it must let go
    /// here, or the unregistration waits forever.
    fn uninit(_rtnl: &Rtnl, _dev: &NetDevice<Self>) {}

    /// Runs when the device is being destroyed, just before its state is dropped.
    fn destroy(_dev: &NetDevice<Self>) {}
}

/// The private area of a device of kind `T`.
///
/// # Invariants
///
/// - It is the private area of a device of kind `T` (sized for it by [`LinkKind::register`]),
///   zeroed when the device was allocated: `usable` is false and the pointers null until
///   `newlink` sets them.
/// - `data` is initialised from its successful initialisation (by `T::new_link`'s initialiser) in
///   `newlink` until it is dropped: by `newlink` itself if the registration fails, otherwise by
///   the destructor. `dev` (the device this area belongs to) is set before the device is
///   registered.
/// - `link` is on the kind's device list (under RTNL) from just after the registration until
///   the destructor, so every entry of the list has its state initialised.
/// - `usable` is set (under RTNL) only from just after the registration until `ndo_uninit`.
/// - `creating_net` is null or the namespace the device was created in, which has not yet run
///   the kind's `exit_rtnl`.
#[repr(C)]
struct Priv<T> {
    /// Link in the kind's device list; protected by RTNL.
    link: Opaque<b::list_head>,
    /// The device this area belongs to.
    dev: Cell<*mut b::net_device>,
    /// The namespace the device was created in, or null once it went away.
    /// Not a reference: cleared by the namespace's `exit_rtnl`. Under RTNL.
    creating_net: Cell<*mut b::net>,
    /// Registered and `ndo_uninit` not run yet: configuration may use the
    /// device (`DevRef::get`). Cleared by `ndo_uninit`, as the device is
    /// being unregistered and its holders let go of it. Under RTNL.
    usable: Cell<bool>,
    data: MaybeUninit<T>,
}

/// A network device of kind `T`, borrowed.
///
/// # Invariants
///
/// A `NetDevice<T>` is only reached through a reference made by [`NetDevice::from_raw`]: `raw`
/// is a device of kind `T` (its private area a `Priv<T>`) whose state is initialised for as long
/// as the reference lives.
#[repr(transparent)]
pub(crate) struct NetDevice<T> {
    raw: Opaque<b::net_device>,
    _t: PhantomData<T>,
}

impl<T: LinkOps> NetDevice<T> {
    /// # Safety
    ///
    /// `ptr` is a device of kind `T` whose state is live for `'a` (for
    /// instance because the caller holds a reference on it).
    pub(super) unsafe fn from_raw<'a>(ptr: *mut b::net_device) -> &'a Self {
        // INVARIANT: by the safety requirements, a device of kind `T` whose state is live for
        // `'a`.
        // SAFETY: transparent wrapper; validity is the caller's promise.
        unsafe { &*ptr.cast::<Self>() }
    }

    fn priv_area(&self) -> &Priv<T> {
        // SAFETY: every device of kind `T` was allocated with a private area
        // of `size_of::<Priv<T>>()` bytes (see `LinkKind::register`), aligned
        // to NETDEV_ALIGN, which `Priv<T>` does not exceed (checked at
        // registration). It is the `priv` array past the end of the
        // `net_device` that `self` covers: the pointer comes from C
        // (`netdev_priv`), with the whole allocation's provenance, not from
        // `&self`, whose referent ends before it.
        unsafe { &*b::wg_shim_netdev_priv(self.raw.get()).cast::<Priv<T>>() }
    }

    pub(crate) fn as_raw(&self) -> *mut b::net_device {
        self.raw.get()
    }

    /// The device's state.
    pub(crate) fn data(&self) -> &T {
        let p = self.priv_area();
        // SAFETY: a `NetDevice<T>` is only handed out while the state is live
        // (type invariant), and the private area never moves.
        unsafe { p.data.assume_init_ref() }
    }

    /// The device's name.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: `name` is an array inside the device, which outlives `&self`.
        name_of(unsafe { &(*self.raw.get()).name })
    }

    /// The namespace the device was created in, if it still exists.
    pub(crate) fn creating_net<'a>(&'a self, _rtnl: &'a Rtnl) -> Option<&'a Net> {
        let net = self.priv_area().creating_net.get();
        // SAFETY: non-null means the namespace has not run `exit_rtnl` yet,
        // and it cannot while the caller holds RTNL.
        (!net.is_null()).then(|| unsafe { Net::from_raw(net) })
    }

    /// As the C driver's `ndo_open`: the device sends no ICMP redirects
    /// (nor does "all" in its namespace), and generates no IPv6 addresses
    /// (no link-local address, hence no router solicitations).
    pub(crate) fn quiet_inet_conf(&self, _rtnl: &super::rtnl::Rtnl) {
        let dev = self.raw.get();
        // SAFETY: the device is valid; RTNL is held (the token), under which
        // its inet configuration pointers are written (so read here as
        // `__in_dev_get_rtnl` and `__in6_dev_get` do) and the
        // configurations may be read and changed.
        unsafe {
            let v4 = (*dev).ip_ptr;
            if !v4.is_null() {
                b::wg_shim_in_dev_no_redirects(v4, b::wg_shim_dev_net(dev));
            }
            let v6 = (*dev).ip6_ptr;
            if !v6.is_null() {
                b::wg_shim_in6_dev_no_addr_gen(v6);
            }
        }
    }

    /// Tells the stack the link is down.
    pub(crate) fn carrier_off(&self) {
        // SAFETY: the device is valid.
        unsafe { b::netif_carrier_off(self.raw.get()) }
    }

    /// `dev->ifindex`.
    pub(crate) fn ifindex(&self) -> u32 {
        // SAFETY: the device is valid; the index is fixed once registered.
        let i = unsafe { (*self.raw.get()).ifindex };
        u32::try_from(i).unwrap_or(0)
    }

    /// Whether the device is up (`netif_running`).
    pub(crate) fn is_running(&self) -> bool {
        let start = 1 << b::netdev_state_t___LINK_STATE_START;
        // SAFETY: the device is valid; its state bits are read once
        // (`test_bit`).
        unsafe { core::ptr::addr_of!((*self.raw.get()).state).read_volatile() & start != 0 }
    }

    /// A counted reference to the device.
    pub(crate) fn hold(&self) -> DevHold<T> {
        // SAFETY: the device is valid; the reference is dropped by `DevPut`.
        unsafe { b::wg_shim_dev_hold(self.raw.get()) };
        // INVARIANT: the reference taken just above, on a device of kind `T` whose state is
        // live (`self`).
        DevHold(DevPut(NonNull::from(&self.raw).cast(), PhantomData))
    }

    /// Counts a received packet of `len` bytes.
    pub(crate) fn count_rx(&self, len: u32) {
        // SAFETY: the device is valid and has per-CPU tstats.
        unsafe { b::wg_shim_dev_rx_add(self.raw.get(), len) }
    }

    /// Counts `packets` sent packets (their bytes counted elsewhere).
    pub(crate) fn count_tx_packets(&self, packets: u32) {
        // SAFETY: the device is valid and has per-CPU tstats.
        unsafe { b::wg_shim_dev_tx_add(self.raw.get(), packets) }
    }

    /// This CPU's count of packets sent (the per-CPU statistics that
    /// [`Self::count_tx_packets`] and the tunnel's transmit add to). `_bh`:
    /// softirqs are off, so two reads are of one CPU's count, and between
    /// them it moves only by what the caller ran (no interrupt counts; a
    /// send of the device nested in the caller's, as a qdisc on it would
    /// allow, does).
    pub(crate) fn tx_packets_here(&self, _bh: &ReadGuard) -> u64 {
        // SAFETY: the device is valid and has per-CPU tstats; preemption
        // (on PREEMPT_RT, migration) is off while softirqs are.
        unsafe { b::wg_shim_dev_tx_packets_here(self.raw.get()) }
    }

    /// Counts an error.
    pub(crate) fn count_error(&self, which: DevError) {
        self.count_errors(which, 1);
    }

    /// Counts `n` errors.
    pub(crate) fn count_errors(&self, which: DevError, n: u32) {
        for &offset in which.counters() {
            // SAFETY: the device is valid; `offset` is that of an aligned
            // `atomic_long_t` in it (see the asserts), which the kernel
            // only accesses atomically (`DEV_STATS_INC`, `DEV_STATS_READ`).
            let counter =
                unsafe { AtomicUsize::from_ptr(self.raw.get().cast::<u8>().add(offset).cast()) };
            // As `atomic_long_add`: no ordering.
            counter.fetch_add(n as usize, Ordering::Relaxed);
        }
    }

    /// The device's MTU.
    pub(crate) fn mtu(&self) -> u32 {
        // SAFETY: the device is valid; read once (`READ_ONCE`), as the MTU
        // may change under us.
        unsafe { core::ptr::addr_of!((*self.raw.get()).mtu).read_volatile() }
    }
}

/// A device being set up: the fields `LinkOps::setup` may configure.
///
/// # Invariants
///
/// The device is one the kernel is setting up (the link kind's `setup` callback): freshly
/// allocated, not registered, and used by nothing else while this value lives.
pub(crate) struct DeviceSetup<'a>(&'a mut b::net_device);

impl DeviceSetup<'_> {
    /// Sets the device up as a layer-3 point-to-point tunnel: no link-layer
    /// header, as an IP tunnel (`ARPHRD_NONE`, `ip_tunnel_header_ops`), no
    /// ARP (`IFF_POINTOPOINT | IFF_NOARP`), no qdisc (`IFF_NO_QUEUE`),
    /// lockless transmit (`dev->lltx`), `features` added to its features, hw
    /// features and hw encapsulation features, `headroom` and `tailroom`
    /// reserved around packets, MTU `mtu` up to `max_mtu`, per-CPU software
    /// statistics kept by the core (`NETDEV_PCPU_STAT_TSTATS`), and the dst
    /// of transmitted packets kept (`netif_keep_dst`: `IFF_XMIT_DST_RELEASE*`
    /// cleared), for ICMP replies.
    ///
    /// The administrator may raise its GSO sizes (`gso_max_size`,
    /// `gso_ipv4_max_size`) up to the stack's maximum, `GSO_MAX_SIZE` (big
    /// TCP): a device that segments in software has no lower limit.
    pub(crate) fn l3_tunnel(
        &mut self,
        features: u64,
        (headroom, tailroom): (u16, u16),
        (mtu, max_mtu): (u32, u32),
    ) {
        let raw = &mut *self.0;
        // Taking the address of an exported static, not reading it.
        raw.header_ops = ptr::addr_of!(b::ip_tunnel_header_ops);
        raw.hard_header_len = 0;
        raw.addr_len = 0;
        raw.needed_headroom = headroom;
        raw.needed_tailroom = tailroom;
        // `dev->type` is an unsigned short; the ARPHRD constants fit.
        raw.type_ = b::ARPHRD_NONE as u16;
        raw.flags = b::net_device_flags_IFF_POINTOPOINT | b::net_device_flags_IFF_NOARP;
        // The fast-path group of `struct net_device` (`priv_flags`, `lltx`):
        // a `struct_group`, which bindgen renders as a union of two identical
        // layouts.
        // SAFETY: both members of the union are the same fields with the same
        // layout (`struct_group`), so either view is initialised.
        let g = unsafe { &mut raw.__bindgen_anon_1.__bindgen_anon_1 };
        let keep_dst = !((b::netdev_priv_flags_IFF_XMIT_DST_RELEASE
            | b::netdev_priv_flags_IFF_XMIT_DST_RELEASE_PERM) as usize);
        g.set_priv_flags((g.priv_flags() | b::netdev_priv_flags_IFF_NO_QUEUE as usize) & keep_dst);
        g.set_lltx(1);
        raw.features |= features;
        raw.hw_features |= features;
        raw.hw_enc_features |= features;
        raw.mtu = mtu;
        raw.max_mtu = max_mtu;
        // SAFETY: `raw` is the device being set up, not yet registered; the
        // function caps the size at GSO_MAX_SIZE and only writes its fields.
        unsafe { b::netif_set_tso_max_size(raw, u32::MAX) };
        raw.set_pcpu_stat_type(b::netdev_stat_type_NETDEV_PCPU_STAT_TSTATS);
    }
}

/// The C tables of a link kind and the list of its live devices. A driver
/// declares one as a `static` and registers it with [`LinkKind::register`].
pub(crate) struct LinkKind<T> {
    ops: Opaque<b::rtnl_link_ops>,
    pernet: Opaque<b::pernet_operations>,
    /// The devices' `struct device_type`, named after the kind.
    devtype: Opaque<b::device_type>,
    /// Live devices (`Priv::link`), under RTNL.
    devices: Opaque<b::list_head>,
    registered: AtomicBool,
    _t: PhantomData<T>,
}

// SAFETY: the tables are written once before registration and then only used
// by the kernel; the device list is only touched under RTNL.
unsafe impl<T> Sync for LinkKind<T> {}

/// While this lives, the link kind is registered.
pub(crate) struct LinkRegistration<T: LinkOps>(&'static LinkKind<T>);

impl<T: LinkOps> LinkKind<T> {
    const NETDEV_OPS: b::net_device_ops = {
        // SAFETY: all fields are options of function pointers or integers,
        // for which all-zero is valid.
        let mut ops: b::net_device_ops = unsafe { core::mem::zeroed() };
        ops.ndo_open = Some(open_stop_callback::<T, true>);
        ops.ndo_stop = Some(open_stop_callback::<T, false>);
        ops.ndo_start_xmit = Some(start_xmit_callback::<T>);
        ops.ndo_uninit = Some(uninit_callback::<T>);
        ops
    };

    pub(crate) const fn new() -> Self {
        LinkKind {
            ops: Opaque::uninit(),
            pernet: Opaque::uninit(),
            devtype: Opaque::uninit(),
            devices: Opaque::uninit(),
            registered: AtomicBool::new(false),
            _t: PhantomData,
        }
    }

    /// Registers the kind: `ip link add ... type T::KIND` works until the
    /// returned value is dropped, which deletes every device of the kind.
    pub(crate) fn register(&'static self) -> Result<LinkRegistration<T>> {
        const { assert!(core::mem::align_of::<Priv<T>>() <= b::NETDEV_ALIGN as usize) };
        if self.registered.swap(true, Ordering::AcqRel) {
            return Err(kernel::error::code::EBUSY);
        }
        let ops = self.ops.get();
        let pernet = self.pernet.get();
        let (devtype, devices) = (self.devtype.get(), self.devices.get());
        // SAFETY: not registered (checked above), so nothing else reads the
        // tables; all-zero is a valid value for the structs (pointers,
        // options of function pointers, integers, an empty list head).
        unsafe {
            ptr::write_bytes(ops, 0, 1);
            (*ops).kind = T::KIND.as_char_ptr();
            (*ops).priv_size = core::mem::size_of::<Priv<T>>();
            (*ops).setup = Some(setup_callback::<T>);
            (*ops).newlink = Some(newlink_callback::<T>);
            ptr::write_bytes(pernet, 0, 1);
            (*pernet).exit_rtnl = Some(exit_rtnl_callback::<T>);
            ptr::write_bytes(devtype, 0, 1);
            (*devtype).name = T::KIND.as_char_ptr();
            (*devices).next = devices;
            (*devices).prev = devices;
        }
        // SAFETY: `pernet` is initialised and 'static.
        to_result(unsafe { b::register_pernet_device(pernet) })?;
        // SAFETY: `ops` is initialised and 'static.
        if let Err(e) = to_result(unsafe { b::rtnl_link_register(ops) }) {
            // SAFETY: registered just above.
            unsafe { b::unregister_pernet_device(pernet) };
            self.registered.store(false, Ordering::Release);
            return Err(e);
        }
        Ok(LinkRegistration(self))
    }

    /// Calls `f` on every live device of the kind (under RTNL).
    pub(crate) fn for_each_device(&self, _rtnl: &Rtnl, mut f: impl FnMut(&NetDevice<T>)) {
        let head = self.devices.get();
        // SAFETY: the list is only changed under RTNL, which the caller holds;
        // every entry is the `link` field (at offset 0, `repr(C)`) of the
        // private area of a registered device whose state is live (devices
        // leave the list before the state is dropped).
        unsafe {
            let mut pos = (*head).next;
            while pos != head {
                let next = (*pos).next;
                f(NetDevice::from_raw((*pos.cast::<Priv<T>>()).dev.get()));
                pos = next;
            }
        }
    }
}

impl<T: LinkOps> Drop for LinkRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: registered in `LinkKind::register`. Unregistering the link
        // kind deletes every device of the kind.
        unsafe {
            b::rtnl_link_unregister(self.0.ops.get());
            b::unregister_pernet_device(self.0.pernet.get());
            b::rcu_barrier();
        }
        self.0.registered.store(false, Ordering::Release);
    }
}

unsafe extern "C" fn setup_callback<T: LinkOps>(dev: *mut b::net_device) {
    // SAFETY: the kernel calls `setup` on a freshly allocated device that
    // nothing else uses yet.
    let raw = unsafe { &mut *dev };
    raw.netdev_ops = &LinkKind::<T>::NETDEV_OPS;
    // The type uevents show (`SET_NETDEV_DEVTYPE`): the kind's name.
    raw.dev.type_ = T::kind().devtype.get();
    // INVARIANT: the device the kernel is setting up, borrowed for the call only.
    T::setup(&mut DeviceSetup(raw));
}

unsafe extern "C" fn newlink_callback<T: LinkOps>(
    src_net: *mut b::net,
    dev: *mut b::net_device,
    _tb: *mut *mut b::nlattr,
    _data: *mut *mut b::nlattr,
    _extack: *mut b::netlink_ext_ack,
) -> core::ffi::c_int {
    // SAFETY: `newlink` runs under RTNL.
    let rtnl = unsafe { Rtnl::assume_held() };
    // SAFETY: the device was allocated with our private area (zeroed), and is
    // not registered yet, so nothing else touches the area.
    let p = unsafe { &mut *ptr::addr_of_mut!((*dev).priv_).cast::<Priv<T>>() };
    // SAFETY: `src_net` is alive for the duration of the call.
    let net = unsafe { Net::from_raw(src_net) };
    // SAFETY: `name` is an array inside the device, which outlives the call;
    // nothing renames an unregistered device meanwhile.
    let name = name_of(unsafe { &(*dev).name });
    let init = T::new_link(&rtnl, net, name);
    // SAFETY: `data` is uninitialised memory inside the private area, which
    // never moves; on error the initialiser leaves nothing to drop.
    if let Err(e) = unsafe { init.__pinned_init(p.data.as_mut_ptr()) } {
        return e.to_errno();
    }
    // INVARIANT: `data` is initialised; `dev` and `creating_net` are set before the device is
    // registered, so before any callback, lookup or list walk can reach the area.
    p.dev.set(dev);
    p.creating_net.set(src_net);
    // SAFETY: `dev` is a fully set-up device.
    let ret = unsafe { b::register_netdevice(dev) };
    if ret < 0 {
        // SAFETY: initialised above and not shared: registration failed.
        unsafe { ptr::drop_in_place(p.data.as_mut_ptr()) };
        return ret;
    }
    // INVARIANT: registered just above, under RTNL (held); the link joins the list just after.
    p.usable.set(true);
    let head = T::kind().devices.get();
    let link = p.link.get();
    // SAFETY: list insertion under RTNL (held); both nodes are valid.
    unsafe {
        (*link).next = (*head).next;
        (*link).prev = head;
        (*(*head).next).prev = link;
        (*head).next = link;
        // Only now, so that a failed registration did not run it for us.
        (*dev).priv_destructor = Some(destructor_callback::<T>);
        (*dev).needs_free_netdev = true;
    }
    // SAFETY: registered and live.
    T::registered(&rtnl, unsafe { NetDevice::from_raw(dev) });
    0
}

unsafe extern "C" fn destructor_callback<T: LinkOps>(dev: *mut b::net_device) {
    // SAFETY: the destructor runs once, after the device is unregistered and
    // every reference to it is gone; its state is live (set with the
    // destructor).
    let ndev = unsafe { NetDevice::<T>::from_raw(dev) };
    let p = ndev.priv_area();
    // INVARIANT: the device leaves the list before its state is dropped below.
    // SAFETY: the list is protected by RTNL, taken here as the destructor runs
    // without it.
    unsafe {
        b::rtnl_lock();
        let link = p.link.get();
        (*(*link).prev).next = (*link).next;
        (*(*link).next).prev = (*link).prev;
        (*link).next = link;
        (*link).prev = link;
        b::rtnl_unlock();
    }
    T::destroy(ndev);
    // SAFETY: live until here; nothing uses the state afterwards, and the core
    // frees the device itself (`needs_free_netdev`).
    unsafe { ptr::drop_in_place(p.data.as_ptr().cast_mut()) };
}

/// `ndo_open` (`OPEN` true) or `ndo_stop`.
unsafe extern "C" fn open_stop_callback<T: LinkOps, const OPEN: bool>(
    dev: *mut b::net_device,
) -> core::ffi::c_int {
    // SAFETY: `ndo_open` and `ndo_stop` run under RTNL on a registered
    // device of ours.
    let (rtnl, dev) = unsafe { (Rtnl::assume_held(), NetDevice::<T>::from_raw(dev)) };
    let f = if OPEN { T::open } else { T::stop };
    from_result(|| f(&rtnl, dev).map(|()| 0))
}

unsafe extern "C" fn uninit_callback<T: LinkOps>(dev: *mut b::net_device) {
    // SAFETY: `ndo_uninit` runs under RTNL on a device of ours whose state
    // is live (it is set up before registration and dropped only by the
    // destructor, which runs later).
    let (rtnl, dev) = unsafe { (Rtnl::assume_held(), NetDevice::<T>::from_raw(dev)) };
    // From here on, configuration finds the device gone (`DevRef::get`):
    // nothing may take new holds for `T::uninit` to miss.
    // INVARIANT: `ndo_uninit` runs under RTNL (held).
    dev.priv_area().usable.set(false);
    T::uninit(&rtnl, dev);
}

unsafe extern "C" fn start_xmit_callback<T: LinkOps>(
    skb: *mut b::sk_buff,
    dev: *mut b::net_device,
) -> b::netdev_tx_t {
    // SAFETY: `ndo_start_xmit` runs on a registered device of ours and hands
    // us the skb.
    let (dev, skb) = unsafe { (NetDevice::<T>::from_raw(dev), SkBuff::from_raw(skb)) };
    if let Some(skb) = skb {
        T::start_xmit(dev, skb);
    }
    b::netdev_tx_NETDEV_TX_OK
}

unsafe extern "C" fn exit_rtnl_callback<T: LinkOps>(net: *mut b::net, _kill: *mut b::list_head) {
    // SAFETY: `exit_rtnl` runs under RTNL.
    let rtnl = unsafe { Rtnl::assume_held() };
    T::kind().for_each_device(&rtnl, |dev| {
        let p = dev.priv_area();
        if p.creating_net.get() == net {
            // INVARIANT: the namespace is running the kind's `exit_rtnl` (under RTNL).
            p.creating_net.set(ptr::null_mut());
            T::creating_net_exit(&rtnl, dev);
        }
    });
}

/// Constants for [`DeviceSetup`].
pub(crate) mod consts {
    use super::b;
    /// `ETH_DATA_LEN`: the MTU of an Ethernet link.
    pub(crate) const ETH_DATA_LEN: u32 = b::ETH_DATA_LEN;

    /// `NET_SKB_PAD`: the head room the stack leaves in front of packets.
    pub(crate) fn net_skb_pad() -> u16 {
        // SAFETY: a pure function returning a constant.
        let pad = unsafe { b::wg_shim_net_skb_pad() };
        u16::try_from(pad).unwrap_or(u16::MAX)
    }
}

/// Device features (`NETIF_F_*`) for [`DeviceSetup::l3_tunnel`], which the C
/// shim spells out: they are macros, `NETIF_F_GSO_SOFTWARE` a composite.
pub(crate) mod features {
    pub(crate) use super::b::{
        wg_shim_netif_f_gso as GSO, wg_shim_netif_f_gso_software as GSO_SOFTWARE,
        wg_shim_netif_f_highdma as HIGHDMA, wg_shim_netif_f_hw_csum as HW_CSUM,
        wg_shim_netif_f_rxcsum as RXCSUM, wg_shim_netif_f_sg as SG,
    };
}

// ---- Lookup by ifindex or name, with a reference held (configuration) ----

/// Why a device lookup failed.
pub(crate) enum LookupError {
    /// No device of that index or name in the namespace.
    NoDevice,
    /// The device exists but is not of kind `T`.
    OtherKind,
}

/// A reference to a device of kind `T` (`dev_get_by_*`, released with
/// `dev_put` when dropped). While held, the device's state is not dropped
/// (the core runs the destructor only once every reference is gone).
///
/// # Invariants
///
/// The device of `self.0` is of kind `T`: its `rtnl_link_ops` are the kind's. (Whether its state
/// is live is for [`DevRef::get`] to check.)
pub(crate) struct DevRef<T: LinkOps>(DevPut<T>);

/// A reference held on a device of kind `T`, released (`dev_put`) when
/// dropped.
///
/// # Invariants
///
/// `self.0` is a valid device on which this value holds one reference (`dev_hold`, or that of a
/// `dev_get_by_*` lookup).
struct DevPut<T>(NonNull<b::net_device>, PhantomData<T>);

// SAFETY: a device reference may be used and released from any thread; a
// `net_device` is not tied to a thread. (The `&NetDevice<T>` a `DevHold<T>`
// hands out reaches the private `T`, which is `Send + Sync` as `LinkOps`
// requires.)
unsafe impl<T: LinkOps> Send for DevPut<T> {}
// SAFETY: as above.
unsafe impl<T: LinkOps> Sync for DevPut<T> {}

impl<T> Drop for DevPut<T> {
    fn drop(&mut self) {
        // SAFETY: we hold one reference (type invariant).
        unsafe { b::wg_shim_dev_put(self.0.as_ptr()) }
    }
}

impl<T: LinkOps> DevRef<T> {
    /// # Safety
    ///
    /// `dev` is null or a device on which the caller holds a reference that
    /// passes to the returned value.
    unsafe fn checked(dev: *mut b::net_device) -> Result<Self, LookupError> {
        let dev = NonNull::new(dev).ok_or(LookupError::NoDevice)?;
        // INVARIANT: by the safety requirements, the caller's reference passes to the `DevPut`.
        let dev = DevPut(dev, PhantomData);
        let ours = T::kind().ops.get().cast_const();
        // SAFETY: the device is valid while referenced; `rtnl_link_ops` is
        // set before registration and never changes.
        if unsafe { (*dev.0.as_ptr()).rtnl_link_ops } != ours {
            return Err(LookupError::OtherKind);
        }
        // INVARIANT: the kind was checked just above.
        Ok(DevRef(dev))
    }

    /// The device with index `ifindex` in `net` (`dev_get_by_index`).
    pub(crate) fn by_index(net: &Net, ifindex: u32) -> Result<Self, LookupError> {
        let ifindex = i32::try_from(ifindex).map_err(|_| LookupError::NoDevice)?;
        // SAFETY: `net` is valid; the lookup returns a held device or null.
        unsafe { Self::checked(b::dev_get_by_index(net.as_raw(), ifindex)) }
    }

    /// The device named `name` in `net` (`dev_get_by_name`).
    pub(crate) fn by_name(net: &Net, name: &CStr) -> Result<Self, LookupError> {
        // SAFETY: `net` is valid and `name` NUL-terminated; the lookup
        // returns a held device or null.
        unsafe { Self::checked(b::dev_get_by_name(net.as_raw(), name.as_char_ptr())) }
    }

    /// The device, if its state is live, it is not being unregistered and it
    /// is (still) in `net` (checked under RTNL, which moves between
    /// namespaces take: a device whose registration failed is never usable;
    /// one whose `ndo_uninit` ran is gone for configuration, whatever
    /// references to it still exist). Under RTNL, the answer holds until the
    /// caller releases it: the unregistration of a device this returned
    /// waits for RTNL.
    pub(crate) fn get<'a>(&'a self, _rtnl: &'a Rtnl, net: &Net) -> Option<&'a NetDevice<T>> {
        let dev = self.0 .0.as_ptr();
        // SAFETY: the device is of kind `T` (checked at lookup), so its
        // private area is a `Priv<T>`; the reference keeps it allocated.
        let p = unsafe { &*ptr::addr_of!((*dev).priv_).cast::<Priv<T>>() };
        // SAFETY: the device is valid while referenced.
        let here = unsafe { b::wg_shim_dev_net(dev) } == net.as_raw();
        // `usable` is written under RTNL only, which the caller holds; while
        // it is set the destructor has not run (`ndo_uninit` comes first), and
        // it cannot run while we hold a reference.
        // SAFETY: see above: registered, of kind `T`, state live.
        (p.usable.get() && here).then(|| unsafe { NetDevice::from_raw(dev) })
    }
}

// ---- Long-lived references and statistics (data plane) ----

/// A counted reference to a device of kind `T` (`dev_hold`), for objects
/// that outlive the callback that created them (peers, workers). The
/// device's state stays live while it is held (the destructor runs only
/// once every reference is gone); holders must release it from
/// [`LinkOps::uninit`] at the latest.
///
/// # Invariants
///
/// The device of `self.0` is of kind `T` and its state was live when the hold was taken (from a
/// [`NetDevice<T>`], in [`NetDevice::hold`]), so it stays live while the hold exists.
pub(crate) struct DevHold<T: LinkOps>(DevPut<T>);

impl<T: LinkOps> DevHold<T> {
    /// The device.
    pub(crate) fn get(&self) -> &NetDevice<T> {
        // SAFETY: a hold is only taken from a `NetDevice<T>` (live state),
        // and the state is not dropped while the hold exists (type invariant).
        unsafe { NetDevice::from_raw(self.0 .0.as_ptr()) }
    }
}

/// Error counters of a device.
#[derive(Clone, Copy)]
pub(crate) enum DevError {
    /// `rx_errors` and `rx_length_errors`.
    RxLength,
    /// `rx_errors` and `rx_frame_errors`.
    RxFrame,
    /// `tx_errors`.
    Tx,
    /// `rx_dropped`.
    RxDropped,
    /// `tx_dropped`.
    TxDropped,
    /// `tx_errors` and `tx_aborted_errors`.
    TxAborted,
}

impl DevError {
    /// The `atomic_long_t` counters of `dev->stats` it bumps, by offset in
    /// `struct net_device`.
    fn counters(self) -> &'static [usize] {
        const RX: usize = b::WG_SHIM_DEV_RX_ERRORS as usize;
        match self {
            DevError::RxLength => &[RX, b::WG_SHIM_DEV_RX_LENGTH_ERRORS as usize],
            DevError::RxFrame => &[RX, b::WG_SHIM_DEV_RX_FRAME_ERRORS as usize],
            DevError::Tx => &[b::WG_SHIM_DEV_TX_ERRORS as usize],
            DevError::RxDropped => &[b::WG_SHIM_DEV_RX_DROPPED as usize],
            DevError::TxDropped => &[b::WG_SHIM_DEV_TX_DROPPED as usize],
            DevError::TxAborted => &[
                b::WG_SHIM_DEV_TX_ERRORS as usize,
                b::WG_SHIM_DEV_TX_ABORTED_ERRORS as usize,
            ],
        }
    }
}

// The counters are `atomic_long_t`: the size of a `usize`, and aligned.
const _: () = assert!(core::mem::size_of::<b::atomic_long_t>() == core::mem::size_of::<usize>());
const _: () = assert!(
    (b::WG_SHIM_DEV_RX_ERRORS
        | b::WG_SHIM_DEV_RX_LENGTH_ERRORS
        | b::WG_SHIM_DEV_RX_FRAME_ERRORS
        | b::WG_SHIM_DEV_TX_ERRORS
        | b::WG_SHIM_DEV_RX_DROPPED
        | b::WG_SHIM_DEV_TX_DROPPED
        | b::WG_SHIM_DEV_TX_ABORTED_ERRORS) as usize
        % core::mem::align_of::<usize>()
        == 0
);

/// The name in a `struct net_device`'s `name` array, up to its first NUL
/// (the kernel keeps one there), found within the array: no `strlen` and no
/// length arithmetic that could fail (the kernel crate's `CStr::from_char_ptr`
/// adds one to what `strlen` returns, with an overflow check: a panic path,
/// however unreachable, in every packet path that names the device).
fn name_of(name: &[u8]) -> &CStr {
    match name
        .iter()
        .position(|&c| c == 0)
        .and_then(|nul| name.get(..=nul))
    {
        // SAFETY: the slice ends at its first NUL, and has no other.
        Some(with_nul) => unsafe { CStr::from_bytes_with_nul_unchecked(with_nul) },
        None => kernel::c_str!(""),
    }
}

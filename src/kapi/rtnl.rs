// SPDX-License-Identifier: GPL-2.0
//! The RTNL lock, as a token.

use core::marker::PhantomData;

/// Proof that the caller holds the RTNL lock. Only `kapi` makes one, inside
/// callbacks the kernel runs under RTNL; it cannot leave the thread.
pub(crate) struct Rtnl {
    _not_send: PhantomData<*mut ()>,
}

impl Rtnl {
    /// # Safety
    ///
    /// The RTNL lock is held for as long as the returned token lives.
    pub(crate) unsafe fn assume_held() -> Self {
        Rtnl { _not_send: PhantomData }
    }
}

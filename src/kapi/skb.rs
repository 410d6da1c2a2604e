// SPDX-License-Identifier: GPL-2.0
//! Socket buffers.

use super::bindings as b;
use core::ptr::NonNull;

/// An owned `struct sk_buff`: freed (as dropped) when this goes out of scope.
pub(crate) struct SkBuff(NonNull<b::sk_buff>);

// SAFETY: an skb that nobody else references may be handed to any thread.
unsafe impl Send for SkBuff {}

impl SkBuff {
    /// # Safety
    ///
    /// `ptr` is a valid skb whose ownership passes to the returned value.
    pub(crate) unsafe fn from_raw(ptr: *mut b::sk_buff) -> Option<SkBuff> {
        NonNull::new(ptr).map(SkBuff)
    }

    /// The length of the packet's data.
    pub(crate) fn len(&self) -> u32 {
        // SAFETY: the skb is valid while owned.
        unsafe { (*self.0.as_ptr()).len }
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: we own the skb and nothing uses it after this.
        unsafe { b::wg_shim_kfree_skb(self.0.as_ptr()) }
    }
}

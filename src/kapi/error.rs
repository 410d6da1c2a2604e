// SPDX-License-Identifier: GPL-2.0
//! Error codes the `kernel` crate of 6.12 does not name (it has the others
//! in `kernel::error::code`, also in its prelude).

use super::bindings as b;
use kernel::error::Error;

macro_rules! errno {
    ($($fn_name:ident => $name:ident),* $(,)?) => {$(
        #[doc = concat!("`-", stringify!($name), "`.")]
        pub(crate) fn $fn_name() -> Error {
            Error::from_errno(-(b::$name as i32))
        }
    )*};
}

errno!(
    eopnotsupp => EOPNOTSUPP,
    eafnosupport => EAFNOSUPPORT,
    eaddrinuse => EADDRINUSE,
    emsgsize => EMSGSIZE,
    enotrecoverable => ENOTRECOVERABLE,
    ebadr => EBADR,
    epfnosupport => EPFNOSUPPORT,
    enonet => ENONET,
    enetunreach => ENETUNREACH,
);

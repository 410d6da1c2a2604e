// SPDX-License-Identifier: GPL-2.0
//! Error codes the `kernel` crate of 6.12 does not name.

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
    enodev => ENODEV,
    eperm => EPERM,
    einval => EINVAL,
    enomem => ENOMEM,
    enospc => ENOSPC,
    enonet => ENONET,
    enetunreach => ENETUNREACH,
);

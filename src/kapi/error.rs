// SPDX-License-Identifier: GPL-2.0
//! Error codes the `kernel` crate of 6.12 does not name.

use super::bindings as b;
use kernel::error::Error;

macro_rules! errno {
    ($($fn_name:ident => $name:ident),* $(,)?) => {$(
        #[doc = concat!("`-", stringify!($name), "`.")]
        #[allow(dead_code)]
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
    enokey => ENOKEY,
    enotrecoverable => ENOTRECOVERABLE,
);

errno!(
    ebadr => EBADR,
    epfnosupport => EPFNOSUPPORT,
    enodev => ENODEV,
    eperm => EPERM,
    einval => EINVAL,
    enomem => ENOMEM,
    erange => ERANGE,
    eexist => EEXIST,
    e2big => E2BIG,
    enospc => ENOSPC,
    enonet => ENONET,
    enetunreach => ENETUNREACH,
);

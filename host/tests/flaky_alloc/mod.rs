//! A platform allocator that fails on command, for the tests that prove an
//! operation leaves its table unchanged when memory runs out, or that a
//! reserve makes later insertions infallible. Set `ALLOCS_LEFT` to the number
//! of allocations that may still succeed.
#![allow(dead_code)]

use std::cell::Cell;
use wg_proto::proto::platform::{Alloc, AllocError};

thread_local! {
    /// Number of allocations that succeed before the next one fails.
    pub static ALLOCS_LEFT: Cell<u64> = const { Cell::new(u64::MAX) };
}

fn take_alloc() -> Result<(), AllocError> {
    ALLOCS_LEFT.with(|c| {
        let left = c.get();
        if left == 0 {
            Err(AllocError)
        } else {
            c.set(left - 1);
            Ok(())
        }
    })
}

pub struct Flaky;
impl Alloc for Flaky {
    type Vec<T> = Vec<T>;
    fn vec_new<T>() -> Vec<T> {
        Vec::new()
    }
    fn vec_push<T>(vec: &mut Vec<T>, value: T) -> Result<(), AllocError> {
        if vec.len() == vec.capacity() {
            take_alloc()?;
        }
        vec.push(value);
        Ok(())
    }
    fn vec_pop<T>(vec: &mut Vec<T>) -> Option<T> {
        vec.pop()
    }
    fn vec_reserve<T>(vec: &mut Vec<T>, additional: usize) -> Result<(), AllocError> {
        if vec.capacity() - vec.len() < additional {
            take_alloc()?;
        }
        vec.reserve(additional);
        Ok(())
    }
}

//! The module's load-time self-test (src/proto/selftest.rs), run here on the
//! host platform: the same checks the kernel runs over lib/crypto.
use wg_proto::host::Host;

#[test]
fn selftest_passes_on_host_platform() {
    assert_eq!(wg_proto::proto::selftest::run::<Host>(), Ok(()));
}

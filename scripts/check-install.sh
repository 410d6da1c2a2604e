#!/usr/bin/env bash
# Installing on the running kernel, tested in a VM of the release kernel (it
# has CONFIG_MODULE_SIG): tests/vm/install.sh. `make check` runs this without
# DKMS; `make check-install` with it (DKMS=0 to leave it out): the DKMS build
# compiles the module inside the guest, about 12 minutes under emulation.
. "$(dirname "$0")/lib.sh"
"$TOP/scripts/setup-host.sh"
kdir=$("$TOP/scripts/build-kernel.sh" release)
"$TOP/scripts/build-module.sh" release >/dev/null
args=("$kdir")
timeout=600
if [ "${DKMS:-0}" = 1 ]; then
	args+=(--dkms) timeout=3600
	log "with DKMS the guest builds the module itself: about 12 minutes more here (985 s in all, 2026-12-04, beside two other VMs)"
fi
exec "$TOP/scripts/vm-run.sh" --flavour release --name "${NAME:-install}" --timeout "$timeout" "$TOP/tests/vm/install.sh" "${args[@]}"

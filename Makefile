# SPDX-License-Identifier: GPL-2.0
# The Rust WireGuard module, built out of tree against KDIR.
#
#   make                 build wireguard.ko against KDIR (default: the cached
#                        release kernel, built first if missing)
#   make FLAVOUR=debug   the same against the debug kernel
#   make demo            set up everything, then the VM demo (README)
#   make check           every test: host crate and VM suite (README)
#   make clean | modules_install

FLAVOUR ?= release
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
lib = bash -c '. $(TOP)/scripts/lib.sh && $(1)'

# The kernel tree: by default the project's cached build of FLAVOUR.
KDIR ?= $(shell $(call lib,kernel_dir $(FLAVOUR)))
RUSTC ?= /usr/bin/rustc
RUST_LIB_SRC ?= $(shell $(call lib,echo $$RUST_LIB_SRC))
BINDGEN ?= $(shell $(call lib,echo $$BINDGEN))

KMAKE = $(MAKE) -C $(KDIR) M=$(TOP) LLVM=1 RUSTC=$(RUSTC) BINDGEN=$(BINDGEN) RUST_LIB_SRC=$(RUST_LIB_SRC)

all: modules

# Kbuild writes its outputs into the source tree: two builds at once (two
# shells, or a test run beside an edit loop) would clobber each other's
# objects, so builds of this tree take a lock.
LOCK = flock $(TOP)/.build.lock

modules: kernel
	$(LOCK) $(KMAKE) modules

modules_install: kernel
	$(LOCK) $(KMAKE) modules_install

# Builds the cached kernel of FLAVOUR if it is missing; another tree (a user's
# kernel) is checked by scripts/preflight.sh instead: one line per thing that
# does not fit, before any compiler error.
kernel:
	@if [ "$(KDIR)" = "$$($(call lib,kernel_dir $(FLAVOUR)))" ]; then $(TOP)/scripts/build-kernel.sh $(FLAVOUR) >/dev/null; \
	else RUSTC=$(RUSTC) BINDGEN=$(BINDGEN) RUST_LIB_SRC=$(RUST_LIB_SRC) $(TOP)/scripts/preflight.sh $(KDIR); fi

clean:
	@if [ -f "$(KDIR)/Makefile" ]; then $(LOCK) $(KMAKE) clean; fi
	rm -f src/bindings_generated.rs wireguard.ko
	rm -rf build

check:
	$(TOP)/scripts/check.sh

# Formats the Rust by the kernel's configuration (.rustfmt.toml); make check
# refuses unformatted files (tests/static/rustfmt.sh).
fmt:
	$(TOP)/tests/static/rustfmt.sh --write

# Every VM suite on the debug kernel (the sanitizers over the compatibility
# suites too, which `make check` runs on the release kernel); longer.
check-debug:
	CHECK_FLAVOUR=debug $(TOP)/scripts/check.sh

demo:
	$(TOP)/scripts/demo.sh

.PHONY: all modules modules_install kernel clean check check-debug demo fmt

# Installing on a user's kernel: KDIR given on the command line, else the
# running kernel's build tree. `make install` builds against it (after the
# preflight), installs into /lib/modules/RELEASE/updates (modprobe prefers it
# to the in-tree C driver), signs it when the kernel checks signatures
# (MODULE_SIG_KEY/MODULE_SIG_CERT name another key) and runs depmod;
# `make uninstall` undoes that. `make dkms-install` registers the source with
# DKMS (rebuilt for each new 6.12 kernel), `make dkms-remove` takes it out.
# See Documentation/usage.md.
USER_KDIR = $(if $(filter command line environment,$(origin KDIR)),$(KDIR),/lib/modules/$(shell uname -r)/build)

install:
	$(MAKE) -C $(TOP) KDIR=$(USER_KDIR) modules
	$(TOP)/scripts/install.sh install $(USER_KDIR) $(TOP)/wireguard.ko

uninstall:
	$(TOP)/scripts/install.sh uninstall $(USER_KDIR)

dkms-install:
	$(TOP)/scripts/dkms.sh install $(USER_KDIR)

dkms-remove:
	$(TOP)/scripts/dkms.sh remove

.PHONY: install uninstall dkms-install dkms-remove

# The install test in a VM of the release kernel (signed module, autoload,
# uninstall), with DKMS (DKMS=0: without; `make check` runs it without).
check-install:
	DKMS=$${DKMS:-1} $(TOP)/scripts/check-install.sh

.PHONY: check-install

# The README's commands on a fresh Debian 12 root made by debootstrap, in a
# chroot (scripts/check-fresh.sh; FRESH_TARGETS="demo check" for both).
check-fresh:
	$(TOP)/scripts/check-fresh.sh

.PHONY: check-fresh

# Configuration over netlink at full scale (130,560 allowed IPs on one peer,
# 10,000 peers): the differential test in two boots, with timings and memory
# (Documentation/netlink.md). Not part of `make check`, which runs a reduced
# but real size.
check-netlink-scale:
	$(TOP)/tests/netlink/scale.sh

.PHONY: check-netlink-scale

# The soak (tests/vm/soak.sh): iperf3 both ways through a tunnel while wg(8)
# reconfigures peers, keys and allowed IPs around it, then teardown, rmmod and
# a kmemleak scan; 600 s of traffic on the debug kernel (`make check` runs the
# same for 60 s). SOAK_SECONDS=N for another duration; WG_IMPL=c runs it on
# the in-tree C driver.
soak:
	$(TOP)/scripts/setup-host.sh
	$(TOP)/scripts/build-module.sh debug >/dev/null
	s=$${SOAK_SECONDS:-600}; $(TOP)/scripts/vm-run.sh --flavour debug --name soak-long \
		--timeout $$((s + 1200)) $(TOP)/tests/vm/soak.sh $$s

.PHONY: soak

# Peer and device lifetime under races and at scale (tests/vm/race.sh):
# configuration racing with deletion, namespace moves and up/down from several
# processes, thousands of peers churned under traffic, 10,000 peers deleted at
# once; RACE_SECONDS per race (default 300). `make check` runs short forms.
race:
	$(TOP)/scripts/build-module.sh debug >/dev/null
	s=$${RACE_SECONDS:-300}; $(TOP)/scripts/vm-run.sh --flavour debug --name race \
		--timeout $$((2 * s + 2400)) $(TOP)/tests/vm/race.sh $$s

.PHONY: race

# The handshake path under attack (tests/vm/hostile-flood.sh): a flood holds
# the device under load while FLOOD_HOLDERS (default 20,000) sources that
# completed the cookie exchange hold rate-limiter entries; a new client must
# complete its handshake within FLOOD_BOUND s (default 90), twice; on the
# release kernel, as make check's short form (tests/vm/suite/flood.sh says
# why). WG_IMPL=c runs it on the in-tree C driver.
hostile-flood:
	$(TOP)/scripts/setup-host.sh
	$(TOP)/scripts/build-module.sh release >/dev/null
	$(TOP)/scripts/vm-run.sh --flavour release --name hostile-flood$${WG_IMPL:+-$$WG_IMPL} --timeout 3600 \
		$(TOP)/tests/vm/hostile-flood.sh $${FLOOD_HOLDERS:-20000} $${FLOOD_BOUND:-90} 2

.PHONY: hostile-flood

# Threaded NAPI under load (tests/vm/napi.sh): iperf3 both ways and ping
# floods through a tunnel with threaded NAPI off, on, switched during the
# load, and on with some decryptions held, then isolated pings that must each
# be answered; NAPI_SECONDS per mode (default 120; `make check` runs 15 s of
# the held mode in the lifecycle suite).
napi:
	$(TOP)/scripts/build-module.sh debug >/dev/null
	s=$${NAPI_SECONDS:-120}; $(TOP)/scripts/vm-run.sh --flavour debug --name napi-long \
		--timeout $$((4 * s + 2400)) $(TOP)/tests/vm/napi.sh $$s

.PHONY: napi

# The benchmark (scripts/bench.sh): ours against the in-tree C driver on the
# release kernel, one VM boot, alternating for BENCH_ROUNDS rounds (default 4; which goes first alternates too)
# of BENCH_SECONDS per scenario (default 10); prints the table of medians and
# ratios (Documentation/performance.md). BENCH_PROFILE=1 adds a perf profile
# of each. Then the same comparison across a virtio-net link between two VMs
# (scripts/bench-pair.sh), unless BENCH_PAIR=0; `make bench-pair` runs that
# one alone (BENCH_PAIR_CPUS: vCPUs per VM, default 1). Not part of
# `make check`.
bench:
	$(TOP)/scripts/bench.sh

bench-pair:
	$(TOP)/scripts/bench-pair.sh

.PHONY: bench bench-pair

# The generic-netlink fuzzer (tests/netlink/fuzz.sh, fuzz.py): random and
# malformed WG_CMD_SET_DEVICE / WG_CMD_GET_DEVICE messages at our module on
# the debug kernel for FUZZ_NETLINK_SECONDS (default 600), then the tunnel
# set up before must still work and rmmod be clean. FUZZ_NETLINK_SEED=N
# repeats a run's messages (the seed is printed); WG_IMPL=c fuzzes the
# in-tree C driver. `make check` runs it for 60 s in netlink_ours's boot.
fuzz-netlink:
	$(TOP)/scripts/setup-host.sh
	$(TOP)/scripts/build-module.sh debug >/dev/null
	s=$${FUZZ_NETLINK_SECONDS:-600}; $(TOP)/scripts/vm-run.sh --flavour debug \
		--name fuzz-netlink$${WG_IMPL:+-$$WG_IMPL} --timeout $$((s + 900)) \
		$(TOP)/tests/vm/fuzz-netlink.sh $$s $${FUZZ_NETLINK_SEED:-}

.PHONY: fuzz-netlink

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

# Builds the cached kernel of FLAVOUR if it is missing (a no-op otherwise, and
# when KDIR names another tree).
kernel:
	@if [ "$(KDIR)" = "$$($(call lib,kernel_dir $(FLAVOUR)))" ]; then $(TOP)/scripts/build-kernel.sh $(FLAVOUR) >/dev/null; fi

clean:
	@if [ -f "$(KDIR)/Makefile" ]; then $(LOCK) $(KMAKE) clean; fi
	rm -f src/bindings_generated.rs wireguard.ko
	rm -rf build

check:
	$(TOP)/scripts/check.sh

demo:
	$(TOP)/scripts/demo.sh

.PHONY: all modules modules_install kernel clean check demo

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

# Threaded NAPI under load (tests/vm/napi.sh): iperf3 both ways and ping
# floods through a tunnel with threaded NAPI off, on, and switched during the
# load, then isolated pings that must each be answered; NAPI_SECONDS per mode
# (default 120; `make check` runs 15 s of threaded mode on in the lifecycle
# suite).
napi:
	$(TOP)/scripts/build-module.sh debug >/dev/null
	s=$${NAPI_SECONDS:-120}; $(TOP)/scripts/vm-run.sh --flavour debug --name napi-long \
		--timeout $$((3 * s + 2400)) $(TOP)/tests/vm/napi.sh $$s

.PHONY: napi

# The benchmark (scripts/bench.sh): ours against the in-tree C driver on the
# release kernel, one VM boot, alternating for BENCH_ROUNDS rounds (default 3)
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

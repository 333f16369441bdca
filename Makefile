# SPDX-License-Identifier: GPL-2.0
# rext4 entry points. `make run` is the demo, `make test` the test suite; both
# do all set-up themselves (packages, bindgen, test kernel, initramfs).
#
#   make deps      install the pinned toolchain and tools (idempotent)
#   make kernel    build or reuse the cached 6.12 test kernel
#   make module    build rext4.ko and rext4_kunit.ko (KDIR=... for another tree)
#   make run       boot the VM and show rext4's end-to-end path
#   make test      host tests, module build, KUnit and VM scenarios
#   make bench     benchmarks against the in-kernel ext4 (ratios)
#   make soak      long crash-recovery chains (SOAK_CYCLES, default 40)
#   make fmt       rustfmt all Rust sources (make test checks it)
#   make clean     remove build products from the source tree

SHELL := /bin/bash
REXT4_CACHE ?= /var/cache/rext4
export REXT4_CACHE
KDIR ?= $(shell qemu/kernel.sh path)
BINDGEN := $(REXT4_CACHE)/bindgen-0.69.5/bin/bindgen
KMAKE := $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=-16 RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc \
	RUSTDOC=/usr/bin/rustdoc BINDGEN=$(BINDGEN)

.PHONY: all deps kernel module bindings host-test initramfs run test bench soak fmt clean

all: module

deps:
	@tools/deps.sh

kernel: deps
	@qemu/kernel.sh build

bindings:
	@tools/bindgen.sh $(KDIR) rust/bindings_generated.rs

# Builds both modules; any compiler warning fails the build.
module: bindings
	@set -o pipefail; $(KMAKE) modules 2>&1 | tee $(CURDIR)/.module-build.log
	@if grep -q -i "warning" $(CURDIR)/.module-build.log; then \
		echo "module: the build printed warnings (see above)" >&2; exit 1; fi

host-test:
	@. tools/env.sh && cd tools/ext4disk && CARGO_TARGET_DIR=$$REXT4_CARGO_TARGET cargo test -q

initramfs: deps
	@qemu/initramfs.sh build

run:
	@tools/run.sh

test:
	@tools/test.sh

bench:
	@tools/bench.sh

soak:
	@tools/soak.sh

fmt:
	@tools/fmt.sh

clean:
	-$(KMAKE) clean 2>/dev/null
	rm -f rust/bindings_generated.rs

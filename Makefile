# SPDX-License-Identifier: BSD-2-Clause
# rekeygap: build of the BPF programs and the userspace tool, tests, benchmarks, demo.
#
#   make            build build/rekeygap (BPF objects and skeletons included)
#   make deps       install the Debian packages and the VM kernel everything below needs
#   make test       unit tests on the host, then the integration scenarios in the VM
#   make bench      every benchmark under tests/bench/, one result line each
#   make demo       the main job: 'rekeygap lab' (here, or in the VM), report in build/demo
#   make report-check  the lab's report as headless Chromium renders it (CI runs it)
#   make SANITIZE=1 test  the unit tests built with ASan and UBSan (in build-san/)
#   make valgrind   the unit tests under valgrind memcheck
#   make fuzz       each libFuzzer target for FUZZ_SECONDS (60) seconds
#   make clean      remove build/
#   make V=1 ...    show the commands

VERSION := 0.1.0
OUTPUT := build
# make SANITIZE=1 ...: userspace and unit tests with ASan and UBSan, in build-san/
ifeq ($(SANITIZE),1)
OUTPUT := build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
PKG_CONFIG ?= pkg-config

LIBS := libbpf libmnl libmicrohttpd libcap-ng jansson libcurl
CFLAGS ?= -g -O2
# userspace/: main.c and a folder per stage of the pipeline (see README, Layout)
USER_DIRS := userspace $(patsubst %/,%,$(sort $(dir $(wildcard userspace/*/*.c userspace/*/*.h))))
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wmissing-prototypes -Wshadow -D_GNU_SOURCE \
	  -Iinclude $(addprefix -I,$(USER_DIRS)) -I$(OUTPUT) -DREKEYGAP_VERSION='"$(VERSION)"'
CFLAGS += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Iinclude -Ibpf -Ibpf/vmlinux/$(ARCH)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# BPF programs: bpf/x.bpf.c -> build/x.bpf.o -> build/x.skel.h
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(BPF_OBJS:.bpf.o=.skel.h)

# Userspace: one module per concern, main.c only dispatches commands.
USER_SRCS := $(wildcard userspace/*.c userspace/*/*.c)
USER_HDRS := $(wildcard userspace/*.h userspace/*/*.h)
USER_OBJS := $(patsubst userspace/%.c,$(OUTPUT)/userspace/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(OUTPUT)/userspace/main.o,$(USER_OBJS))

# Test tools: ground truth (traffic), BPF loaders for scenarios.
TOOLS := sequdp sa-insert-count rekey-kernel-time episode-fixtures xfrm-migrate xfrm-pcpu
TOOL_BINS := $(addprefix $(OUTPUT)/tools/,$(TOOLS))

# Unit tests: tests/unit/test_X.c is the cmocka driver for userspace/*/X.c.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/unit/%,$(UNIT_SRCS))

.PHONY: all deps test test-kernels unit integration bench demo report-check valgrind fuzz clean
all: $(OUTPUT)/rekeygap $(TOOL_BINS) $(UNIT_BINS)

$(OUTPUT) $(OUTPUT)/tools $(OUTPUT)/unit:
	$(Q)mkdir -p $@

$(OUTPUT)/%.tmp.bpf.o: bpf/%.bpf.c $(wildcard include/*.h bpf/*.h) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.bpf.o: $(OUTPUT)/%.tmp.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< >$@.tmp && mv $@.tmp $@

# Every userspace object may include a skeleton: generate them all first.
$(OUTPUT)/userspace/%.o: userspace/%.c $(USER_HDRS) $(wildcard include/*.h) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags $(LIBS)) -c $< -o $@

$(OUTPUT)/rekeygap: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(shell $(PKG_CONFIG) --libs $(LIBS))

$(OUTPUT)/tools/%: tests/tools/%.c $(LIB_OBJS) $(SKELS) | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LDFLAGS) $(shell $(PKG_CONFIG) --libs $(LIBS))

# Mocks, opt-in per driver: WRAP_test_X lists the functions tests/unit/test_X.c replaces.
# The linker (--wrap=fn) sends the module's calls of fn to the driver's __wrap_fn, which
# answers from its cmocka queue when the test armed it and calls __real_fn otherwise. Only
# calls from the driver's object (the module it includes) are redirected.
WRAP_test_rekey := netns_open xfrm_client_open xfrm_sa_dump xfrm_client_run monotonic_ns
WRAP_test_xfrm_features := xfrm_client_open xfrm_client_close xfrm_client_run xfrm_sa_get

# A driver includes the module it tests (to reach its static functions) and links the rest;
# the module is the one userspace/*/X.c of its name.
.SECONDEXPANSION:
$(OUTPUT)/unit/test_%: tests/unit/test_%.c $$(filter %/$$*.c,$(USER_SRCS)) $(wildcard tests/unit/*.h) \
		$(LIB_OBJS) | $(OUTPUT)/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(filter-out %/$*.o,$(LIB_OBJS)) -o $@ \
		$(foreach fn,$(WRAP_test_$*),-Wl,--wrap=$(fn)) \
		$(LDFLAGS) $(shell $(PKG_CONFIG) --libs $(LIBS) cmocka)

# Debian packages that build, tests, benchmarks and the demo need.
DEB_PACKAGES := make gcc clang llvm bpftool pkg-config libbpf-dev libelf-dev zlib1g-dev \
	libmnl-dev libmicrohttpd-dev libcmocka-dev qemu-system-x86 busybox-static cpio kmod \
	iproute2 procps prometheus xz-utils zstd jq util-linux linux-perf uthash-dev curl python3-yaml \
	chromium valgrind libclang-rt-14-dev libcap-ng-dev strace libjansson-dev systemd \
	libcurl4-openssl-dev strongswan-charon strongswan-swanctl debian-archive-keyring

deps:
	$(Q)missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install:" $$missing >&2; exit 1; fi; \
		echo "make deps: installing" $$missing; \
		apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$$missing >/dev/null || { echo "make deps: apt-get install failed" >&2; exit 1; }; \
	fi
	$(Q)tests/vm/fetch-kernel >/dev/null

ifeq ($(SANITIZE),1)
# sanitizers: the unit tests (the VM scenarios run the normal build)
test: deps all
	$(Q)tests/run --unit-only --build $(OUTPUT)
else
test: deps all
	$(Q)tests/run
endif

# every VM scenario on every kernel of the harness (Debian 12's, 13's and sid's), not only
# the core ones on the two newer kernels as in make test
test-kernels: deps all
	$(Q)tests/run --all-kernels

# each libFuzzer target for FUZZ_SECONDS seconds (CI: 20)
FUZZ_SECONDS ?= 60
fuzz: deps
	$(Q)tests/fuzz/run $(FUZZ_SECONDS)

# every unit test under valgrind memcheck
valgrind: deps all
	$(Q)tests/run --unit-only --valgrind

# Parts of make test, for development.
unit: all
	$(Q)tests/run --unit-only
integration: all
	$(Q)tests/run --integration-only

bench: deps all
	$(Q)tests/bench/run

# the lab, here if this kernel has ESP, else in the VM; the report in build/demo
demo: deps all
	$(Q)tests/demo/run

# the lab's report as Chromium renders it (its own target: it boots the VM once more)
report-check: deps all
	$(Q)tests/demo/check-report

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT) build-san build-fuzz

.DELETE_ON_ERROR:
.SECONDARY:

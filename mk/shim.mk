# The containerd shim, containerd-shim-zerohop-v2 (src/shim, tests/shim, docs/SHIM.md).
#
#   make shim        build/containerd-shim-zerohop-v2
#   make shim-k8s    the containerd tests (tests/shim/k8s_test.sh): ctr run, faults, CRI
#   make bench-k8s   time from task start to the first HTTP 200 and RSS (bench/k8s.sh)
#
# The Task service and the task events are generated at build time with protoc-c from the
# .proto files of Debian's golang-github-containerd-containerd-dev into $(BUILD)/gen, and the
# cgroup v2 metrics that Stats answers with from golang-github-containerd-cgroups-dev. Their
# gogoproto and fieldpath options only steer Go code generation, so a copy with them stripped
# is what protoc-c reads (under $(BUILD)/gen/proto, never committed).
GOCODE      := /usr/share/gocode/src
SHIM_PROTOS := $(addprefix github.com/containerd/containerd/,runtime/v2/task/shim.proto \
                 api/events/task.proto api/types/mount.proto api/types/task/task.proto) \
               github.com/containerd/cgroups/v2/stats/metrics.proto
WKT_PROTOS  := any empty timestamp
SHIM_GEN    := $(BUILD)/gen/shim
SHIM_PB_C   := $(SHIM_PROTOS:%.proto=$(SHIM_GEN)/%.pb-c.c) \
               $(WKT_PROTOS:%=$(SHIM_GEN)/google/protobuf/%.pb-c.c)
SHIM_PB_O   := $(SHIM_PB_C:$(SHIM_GEN)/%.c=$(BUILD)/obj/shimgen/%.o)
SHIM_STAMP  := $(SHIM_GEN)/.stamp

$(SHIM_STAMP): $(SHIM_PROTOS:%=$(GOCODE)/%) mk/shim.mk
	@rm -rf $(SHIM_GEN) && mkdir -p $(SHIM_GEN)/proto
	for p in $(SHIM_PROTOS); do \
	  mkdir -p $(SHIM_GEN)/proto/$$(dirname $$p) && \
	  sed -e '/^[[:space:]]*import weak/d' -e '/^[[:space:]]*import.*gogoproto/d' \
	    -e '/^[[:space:]]*option (/d' \
	    -e 's/ *\[(gogoproto[^]]*\]//g' $(GOCODE)/$$p > $(SHIM_GEN)/proto/$$p || exit 1; \
	done
	cd $(SHIM_GEN)/proto && protoc-c --c_out=.. -I. -I/usr/include $(SHIM_PROTOS)
	protoc-c --c_out=$(CURDIR)/$(SHIM_GEN) -I/usr/include $(WKT_PROTOS:%=/usr/include/google/protobuf/%.proto)
	touch $@

$(SHIM_PB_C): $(SHIM_STAMP)
	@:

# Generated code is not ours: our warnings stay, but -Werror does not apply to it.
$(BUILD)/obj/shimgen/%.o: $(SHIM_GEN)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Wno-error -I$(SHIM_GEN) -c $< -o $@

# The library's shim files include the generated headers.
$(BUILD)/obj/src/shim/%.o: CFLAGS_BASE += -I$(SHIM_GEN)
$(filter $(BUILD)/obj/src/shim/%,$(LIB_OBJ)): | $(SHIM_STAMP)
lint: export CPATH = $(SHIM_GEN)
lint: $(SHIM_STAMP)

SHIM_BIN := $(BUILD)/containerd-shim-zerohop-v2
$(SHIM_BIN): src/shim/main/shim_main.c $(SHIM_PB_O) $(BUILD)/libzerohop.a
	$(CC) $(CFLAGS_BASE) -I$(SHIM_GEN) -o $@ $< $(BUILD)/libzerohop.a $(SHIM_PB_O) \
	  -lprotobuf-c -ljansson $(LDLIBS_BASE)

.PHONY: shim shim-k8s
shim: $(SHIM_BIN)
all: $(SHIM_BIN)

# Unit tests of the shim link the generated code and protobuf-c.
$(BUILD)/tests/shim/%: CFLAGS_BASE += -I$(SHIM_GEN)
$(BUILD)/tests/shim/%: LDLIBS_BASE += $(SHIM_PB_O) -lprotobuf-c -ljansson
# (Named one by one: a prerequisite-only pattern rule would not join the tests' pattern rule,
# and the objects would only be there if `make shim` had run first.)
$(patsubst tests/shim/%.c,$(BUILD)/tests/shim/%,$(wildcard tests/shim/test_*.c)): $(SHIM_PB_O)

# ---- the component that traps at start (tests/shim/guests/trap_init.c) ----
SHIM_TRAP := $(COMP_DIR)/c-http-trap-init.wasm
$(COMP_OBJ)/c-http/trap_init.core.wasm: tests/components/c-http/hello.c tests/shim/guests/trap_init.c \
                                        $(COMP_OBJ)/c-http/http_hello.c
	$(WASM_CC) $(WASM_FLAGS) -mexec-model=reactor -I$(COMP_OBJ)/c-http -o $@ $^

$(COMP_OBJ)/c-http/trap_init.embedded.wasm: $(COMP_OBJ)/c-http/trap_init.core.wasm \
                                            tests/components/c-http/world.wit tests/components/embed.mjs
	node tests/components/embed.mjs $< tests/components/c-http/world.wit http-hello $@ \
	  $(foreach p,$(WASI_DEPS),$(JCO_WIT)/0.2.12/wasi-$(p)/package.wit)

$(SHIM_TRAP): $(COMP_OBJ)/c-http/trap_init.embedded.wasm $(NPM_STAMP)
	$(JCO) new $< -o $@
components: $(SHIM_TRAP:.wasm=.wit)

# ---- the containerd tests (tests/shim/k8s_test.sh, tests/shim/cri_test.py) ----
# They need the components (the trapping one above included, with the .wit every component in
# build/components has for components_e2e), the shim and root.
K8S_CHECKS   += shim-k8s
EXTRA_CHECKS += shim-k8s
shim-k8s: $(SHIM_BIN) $(BUILD)/zerohop $(COMP_DIR)/c-http-hello.wasm $(SHIM_TRAP) $(SHIM_TRAP:.wasm=.wit)
	@rm -f $(BUILD)/shim-k8s.log
	@ZH_BUILD=$(BUILD) bash scripts/summarize.sh run $(BUILD)/shim-k8s.log bash tests/shim/k8s_test.sh

# ---- fuzzing (tests/fuzz/fuzz_ttrpc.c, docs/FUZZING.md) ----
# `make fuzz-ttrpc` fuzzes it alone for FUZZ_SECONDS.
$(BUILD)/fuzz_ttrpc: CFLAGS_BASE += -I$(SHIM_GEN)
$(BUILD)/fuzz_ttrpc: LDLIBS_BASE += $(SHIM_PB_O) -lprotobuf-c -ljansson
$(BUILD)/fuzz_ttrpc: $(SHIM_PB_O)
.PHONY: fuzz-ttrpc
fuzz-ttrpc:
	@$(MAKE) --no-print-directory fuzz-run FUZZ_BIN=$(FUZZ_BUILD)/fuzz_ttrpc

# ---- make bench-k8s (bench/k8s.sh, docs/PERFORMANCE.md "12. Packaging") ----
.PHONY: bench-k8s
K8S_ROUNDS ?= 10
bench-k8s: $(SHIM_BIN) $(BUILD)/zerohop $(COMP_DIR)/c-http-hello.wasm
	BUILD=$(BUILD) ROUNDS=$(K8S_ROUNDS) bash bench/k8s.sh

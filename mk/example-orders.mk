# The orders example (examples/orders): five C components built into examples/orders/target/
# where its manifests look for them. Bindings from `zerohop bindgen c`, one run per world of
# examples/orders/wit/orders.wit (service, checkout, pricer), whose dependencies are zerohop's
# wit/spin (Spin's definitions) and the WASI 0.2.12 WIT that jco ships. bindgen names every
# binding after its world; each run goes through a world `guest` that only includes the one
# wanted, so every world's bindings share the prefix `guest_` and orders.c (the plumbing all
# components share) compiles against any of them unchanged. `jco new --wasi-reactor` adds the
# preview1 adapter (the components use libc's snprintf and malloc). -mbulk-memory, as current
# wasi-sdk releases enable by default: the components' own copies become
# memory.copy/memory.fill instead of byte and word loops (7% fewer host instructions per
# checkout, measured with callgrind).
#
#   make example-orders   the five components
.PHONY: example-orders

ORD_DIR := examples/orders
ORD_OUT := $(ORD_DIR)/target
ORD_OBJ := build/example-orders
ORD_COMPONENTS := checkout pricing pricing-client ledger report
ORD_WORLDS := service checkout pricer
# each component's world
ORD_WORLD_checkout := checkout
ORD_WORLD_pricing := pricer
ORD_WORLD_pricing-client := pricer
ORD_WORLD_ledger := service
ORD_WORLD_report := service
ORD_WASI := cli clocks filesystem http io random sockets
ORD_SPIN_WIT := wit/spin/fermyon-spin@2.0.0.wit wit/spin/fermyon-spin.wit \
                wit/spin/wasi-keyvalue@0.2.0-draft2.wit
.PRECIOUS: $(ORD_OBJ)/%.core.wasm $(ORD_OBJ)/%.embedded.wasm

example-orders: $(ORD_COMPONENTS:%=$(ORD_OUT)/%.wasm)

# All worlds in one recipe: the zerohop it runs is built once, not by parallel sub-makes.
$(ORD_OBJ)/bindings.stamp: $(ORD_DIR)/wit/orders.wit $(ORD_SPIN_WIT) $(NPM_STAMP) mk/example-orders.mk
	@$(MAKE) --no-print-directory BUILD=build build/zerohop
	@rm -rf $(ORD_OBJ) && mkdir -p $(ORD_OBJ)
	set -e; for w in $(ORD_WORLDS); do \
	  mkdir -p $(ORD_OBJ)/$$w/wit/deps; \
	  { cat $<; printf '\nworld guest {\n  include %s;\n}\n' $$w; } > $(ORD_OBJ)/$$w/wit/world.wit; \
	  for p in $(ORD_WASI); do \
	    ln -sfn $(CURDIR)/$(JCO_WIT)/0.2.12/wasi-$$p $(ORD_OBJ)/$$w/wit/deps/wasi-$$p; done; \
	  for f in $(ORD_SPIN_WIT); do ln -sfn $(CURDIR)/$$f $(ORD_OBJ)/$$w/wit/deps/; done; \
	  build/zerohop bindgen c --wit $(ORD_OBJ)/$$w/wit --world guest --out $(ORD_OBJ)/$$w; \
	done
	touch $@

define ORD_COMPONENT_RULES
$(ORD_OBJ)/$(1).core.wasm: $(ORD_DIR)/src/$(1).c $(ORD_DIR)/src/orders.c $(ORD_DIR)/src/orders.h \
                           $(ORD_OBJ)/bindings.stamp
	$$(WASM_CC) $$(WASM_FLAGS) -mbulk-memory -Wall -Wextra -Werror -mexec-model=reactor \
	  -I$(ORD_OBJ)/$(ORD_WORLD_$(1)) -I$(ORD_DIR)/src -o $$@ $$< $(ORD_DIR)/src/orders.c \
	  $(ORD_OBJ)/$(ORD_WORLD_$(1))/guest.c

$(ORD_OBJ)/$(1).embedded.wasm: $(ORD_OBJ)/$(1).core.wasm $(ORD_DIR)/wit/orders.wit tests/components/embed.mjs
	node tests/components/embed.mjs $$< $(ORD_DIR)/wit/orders.wit $(ORD_WORLD_$(1)) $$@ \
	  $(foreach p,$(ORD_WASI),$(JCO_WIT)/0.2.12/wasi-$(p)/package.wit) $(ORD_SPIN_WIT)
endef
$(foreach c,$(ORD_COMPONENTS),$(eval $(call ORD_COMPONENT_RULES,$(c))))

$(ORD_OUT)/%.wasm: $(ORD_OBJ)/%.embedded.wasm $(NPM_STAMP)
	@mkdir -p $(dir $@)
	$(JCO) new $< --wasi-reactor -o $@

# ---- both variants compared end to end (tests/host/test_orders.c) ----
$(BUILD)/tests/host/test_orders: example-orders $(BUILD)/zerohop

# ---- make bench-hops: one hop of each kind, then the example networked against zero-hop ----
# The micro-benchmarks' own targets (bench-hops-call, -chain, -bus) print their figures; their
# `KIND: median N UNIT p99 N UNIT` lines feed bench/hops.sh's table.
.PHONY: bench-hops
bench-hops: all example-orders
	@hops="$$($(MAKE) -s --no-print-directory bench-hops-call bench-hops-chain bench-hops-bus 2>&1)" || \
	  { echo "$$hops"; exit 1; }; \
	  echo "$$hops"; echo; HOPS="$$hops" BUILD=$(BUILD) bash bench/hops.sh

# ---- the README's two pictures: each variant's wiring with the hops of a short run ----
.PHONY: orders-graphs
orders-graphs: all example-orders
	BUILD=$(BUILD) bash examples/orders/graphs.sh

# ---- instructions per zero-hop checkout, counted by callgrind (docs/PERFORMANCE.md, 12) ----
.PHONY: bench-orders-instr
bench-orders-instr: all example-orders
	BUILD=$(BUILD) bash bench/orders_instructions.sh

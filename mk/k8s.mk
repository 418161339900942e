# `make test-k8s`: every containerd/Kubernetes test group alone (docs/SHIM.md).
#
# Fragments add their groups to K8S_CHECKS (mk/shim.mk: shim-k8s; the OCI image and manifest
# groups in mk/oci.mk). Each group G is a make target writing its "N passed, M failed" lines
# to $(BUILD)/G.log, as EXTRA_CHECKS groups do (they are in EXTRA_CHECKS too, so `make check`
# and `make test` run them). The last line sums them: "k8s: N passed, M failed".
.PHONY: test-k8s
test-k8s:
	@rm -f $(K8S_CHECKS:%=$(BUILD)/%.log)
	@status=0; \
	for g in $(K8S_CHECKS); do $(MAKE) --no-print-directory $$g || status=1; done; \
	bash scripts/summarize.sh total k8s $(K8S_CHECKS:%=$(BUILD)/%.log) || status=1; \
	exit $$status

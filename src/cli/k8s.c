/* `zerohop k8s scaffold`: Kubernetes manifests for an app (src/oci/k8s.c writes them). */
#include "cli.h"

#include "oci/oci.h"

#include <string.h>

static const char usage_line[] =
    "zerohop k8s scaffold [-f MANIFEST|DIR] [--image REF] [--plain] [--redis] -o DIR";

void zh_cli_k8s_help(FILE *out) {
  fprintf(out,
          "Usage: %s\n"
          "\n"
          "Writes Kubernetes manifests for the app into DIR: runtimeclass.yaml (RuntimeClass\n"
          "`zerohop`, handler `zerohop`), app.yaml (Deployment with runtimeClassName:\n"
          "zerohop, and a Service on port 80), config.yaml (ConfigMap with the runtime\n"
          "config, Secret with the variables as SPIN_VARIABLE_*), containerd-config.toml (the\n"
          "node's runtime entry for the shim) and README.md.\n"
          "\n"
          "Options:\n"
          "  -f, --from PATH   the manifest, or a directory holding spin.toml (default: .)\n"
          "  -o, --output DIR  where to write (required)\n"
          "  --image REF       the image the Deployment runs (default\n"
          "                    zerohop.local/APP:VERSION)\n"
          "  --plain           for the plain image (`zerohop image build --plain`, runc): no\n"
          "                    RuntimeClass, no runtimeClassName\n"
          "  --redis           also redis.yaml: a Redis Deployment and Service APP-redis; the\n"
          "                    key-value stores and the variables holding Redis addresses\n"
          "                    point at it\n"
          "  -h, --help        show this help\n"
          "\n"
          "Exit status: 0 when written, 1 when the manifest does not load or a file cannot\n"
          "be written, 2 for a usage error.\n",
          usage_line);
}

#define usage(...) zh_cli_usagef("k8s", usage_line, __VA_ARGS__)

int zh_cli_k8s_main(int argc, char **argv) {
  if (argc < 1)
    return usage("a subcommand is required: scaffold");
  if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
    zh_cli_k8s_help(stdout);
    return ZH_CLI_OK;
  }
  if (strcmp(argv[0], "scaffold") != 0)
    return usage("unknown subcommand '%s' (scaffold)", argv[0]);
  const char *from = ".", *out = NULL;
  zh_oci_k8s_options opt = {NULL, false, false};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      zh_cli_k8s_help(stdout);
      return ZH_CLI_OK;
    } else if (!strcmp(a, "--plain") || !strcmp(a, "--redis")) {
      *(a[2] == 'p' ? &opt.plain : &opt.redis) = true;
      continue;
    } else if (!strcmp(a, "-f") || !strcmp(a, "--from") || !strcmp(a, "--file")) {
      slot = &from;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
      slot = &out;
    } else if (!strcmp(a, "--image")) {
      slot = &opt.image;
    } else {
      return a[0] == '-' ? usage("unknown option '%s'", a) : usage("unexpected argument '%s'", a);
    }
    if (i + 1 >= argc)
      return usage("option '%s' needs a value", a);
    *slot = argv[++i];
  }
  if (!out)
    return usage("-o DIR is required");
  zh_error *err = zh_oci_k8s_scaffold(from, &opt, out);
  if (err) {
    zh_cli_error("%s", zh_error_message(err));
    zh_error_free(err);
    return ZH_CLI_FAIL;
  }
  printf("Wrote the manifests to %s (see %s/README.md)\n", out, out);
  return ZH_CLI_OK;
}

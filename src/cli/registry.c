/* `zerohop registry push|pull`, and the registry side of `zerohop up --from REF`: thin
 * wrappers over src/oci's push and pull. */
#include "cli.h"

#include "oci/oci.h"
#include "wasm/error.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_line[] =
    "zerohop registry push [-f MANIFEST|DIR] REF | zerohop registry pull REF [-o DIR] "
    "[--insecure] [--cache-dir DIR]";

void zh_cli_registry_help(FILE *out) {
  fprintf(out,
          "Usage: %s\n"
          "\n"
          "Exchanges apps with OCI registries in Spin's format: the locked app as the config\n"
          "(application/vnd.fermyon.spin.application.v1+config), one\n"
          "application/vnd.wasm.content.layer.v1+wasm layer per component source and one\n"
          "...v1+data layer per static file. REF is HOST[:PORT]/REPO[:TAG][@sha256:HEX].\n"
          "\n"
          "push sends the app (blobs the registry has are skipped) and prints the manifest's\n"
          "digest. pull fetches it into the content cache, verifying every digest, and writes\n"
          "a spin.toml with the components and files to DIR (default: the cache's copy).\n"
          "\n"
          "Credentials: anonymous, or `auths.\"HOST\".auth` (base64 user:password) of\n"
          "$DOCKER_CONFIG/config.json, else ~/.docker/config.json; Basic and Bearer token\n"
          "challenges are answered. Loopback registries are spoken to over plain HTTP.\n"
          "\n"
          "Options:\n"
          "  -f, --from PATH    push: the manifest, or a directory holding spin.toml\n"
          "  -o, --output DIR   pull: where to write the app\n"
          "  --insecure         plain HTTP to any registry\n"
          "  --cache-dir DIR    the content cache (default $XDG_CACHE_HOME/zerohop, else\n"
          "                     ~/.cache/zerohop)\n"
          "  -h, --help         show this help\n"
          "\n"
          "Exit status: 0 on success, 1 when the registry or the app fails (one line naming\n"
          "the URL, digest or file), 2 for a usage error.\n",
          usage_line);
}

#define usage(...) zh_cli_usagef("registry", usage_line, __VA_ARGS__)

static int fail(zh_error *err) {
  zh_cli_error("%s", zh_error_message(err));
  zh_error_free(err);
  return ZH_CLI_FAIL;
}

int zh_cli_registry_pull(const char *text, bool insecure, const char *cache, const char *dir,
                         char **app_dir) {
  zh_oci_ref *ref = NULL;
  zh_error *err = zh_oci_ref_parse(text, &ref);
  if (err)
    return fail(err);
  char *own = cache ? NULL : zh_oci_cache_dir();
  zh_oci_client_options opt = {insecure, NULL, 0};
  if (!cache && !own)
    err = zh_error_oom();
  if (!err)
    err = zh_oci_pull(ref, &opt, cache ? cache : own, dir, app_dir);
  free(own);
  zh_oci_ref_free(ref);
  return err ? fail(err) : ZH_CLI_OK;
}

int zh_cli_registry_main(int argc, char **argv) {
  if (argc < 1)
    return usage("a subcommand is required: push or pull");
  const char *sub = argv[0];
  if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
    zh_cli_registry_help(stdout);
    return ZH_CLI_OK;
  }
  bool push = !strcmp(sub, "push");
  if (!push && strcmp(sub, "pull") != 0)
    return usage("unknown subcommand '%s' (push, pull)", sub);
  const char *from = ".", *out = NULL, *cache = NULL, *ref = NULL;
  bool insecure = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      zh_cli_registry_help(stdout);
      return ZH_CLI_OK;
    } else if (!strcmp(a, "--insecure")) {
      insecure = true;
      continue;
    } else if (push && (!strcmp(a, "-f") || !strcmp(a, "--from") || !strcmp(a, "--file"))) {
      slot = &from;
    } else if (!push && (!strcmp(a, "-o") || !strcmp(a, "--output"))) {
      slot = &out;
    } else if (!strcmp(a, "--cache-dir")) {
      slot = &cache;
    } else if (a[0] == '-') {
      return usage("unknown option '%s' for %s", a, sub);
    } else if (ref) {
      return usage("unexpected argument '%s'", a);
    } else {
      ref = a;
      continue;
    }
    if (i + 1 >= argc)
      return usage("option '%s' needs a value", a);
    *slot = argv[++i];
  }
  if (!ref)
    return usage("%s needs a reference (HOST[:PORT]/REPO[:TAG])", sub);
  if (!push) {
    char *dir = NULL;
    int st = zh_cli_registry_pull(ref, insecure, cache, out, &dir);
    if (st == ZH_CLI_OK)
      printf("Pulled %s to %s\n", ref, dir);
    free(dir);
    return st;
  }
  zh_oci_ref *r = NULL;
  zh_error *err = zh_oci_ref_parse(ref, &r);
  if (err)
    return fail(err);
  zh_oci_client_options opt = {insecure, NULL, 0};
  char digest[ZH_OCI_DIGEST_LEN];
  err = zh_oci_push(from, r, &opt, digest);
  zh_oci_ref_free(r);
  if (err)
    return fail(err);
  printf("Pushed with digest %s\n", digest);
  return ZH_CLI_OK;
}

/* `up --from X`: a registry reference when X is not an existing path but reads as one. */
bool zh_cli_registry_is_ref(const char *from) {
  struct stat st;
  return stat(from, &st) != 0 && zh_oci_ref_looks_like(from);
}

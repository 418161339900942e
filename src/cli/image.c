/* `zerohop image build`: packs an app into an OCI image layout tar (src/oci/image.c).
 *
 * The plain image ships this very executable (/proc/self/exe) with exactly the shared objects
 * it needs, found with ldd(1): the libraries it links and, because libcurl is opened with
 * dlopen on first outbound request (src/wasip2/curl_dl.h), libcurl.so.4 and everything that
 * library links. A static build is not possible with Debian's archives (libcurl's .a needs
 * static builds of libssh2, libpsl, nghttp2, ... that Debian does not ship), so the image
 * carries the loader and the shared objects at the paths the binary looks for them. */
#include "cli.h"

#include "oci/oci.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_line[] =
    "zerohop image build [-f MANIFEST|DIR] -o FILE.tar [--plain] [--uncompressed] [--name NAME] "
    "[--runtime-config-file F]";

void zh_cli_image_help(FILE *out) {
  fprintf(out,
          "Usage: %s\n"
          "\n"
          "Writes the app as an OCI image layout in a tar, for `ctr images import`,\n"
          "`skopeo copy oci-archive:FILE.tar ...` or `docker load`. No daemon is needed.\n"
          "\n"
          "The default is the Wasm image for a containerd shim: FROM scratch, spin.toml and\n"
          "the components' .wasm files at /, static files at their paths, platform\n"
          "wasip1/wasm. --plain makes an image for any runtime (runc): the zerohop\n"
          "executable, the shared objects it loads and the app under /app; it runs\n"
          "`zerohop up` on $SPIN_HTTP_LISTEN_ADDR (default 0.0.0.0:80). The layer is a\n"
          "gzipped tar (application/vnd.oci.image.layer.v1.tar+gzip).\n"
          "\n"
          "Options:\n"
          "  -f, --from PATH             the manifest, or a directory holding spin.toml\n"
          "                              (default: .)\n"
          "  -o, --output FILE           the tar to write (required)\n"
          "  --plain                     the runc image instead of the Wasm one\n"
          "  --uncompressed              a plain tar layer (application/vnd.oci.image.\n"
          "                              layer.v1.tar) instead of a gzipped one\n"
          "  --name NAME                 the image name in index.json (default:\n"
          "                              zerohop.local/APP:VERSION, from [application])\n"
          "  --runtime-config-file FILE  ship FILE as runtime-config.toml beside spin.toml\n"
          "  -h, --help                  show this help\n"
          "\n"
          "Exit status: 0 when written, 1 when the app cannot be read or the file written,\n"
          "2 for a usage error.\n",
          usage_line);
}

#define usage(...) zh_cli_usagef("image", usage_line, __VA_ARGS__)

typedef struct libs {
  char **items;
  size_t n;
} libs;

static bool add_lib(libs *l, const char *path) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->items[i], path) == 0)
      return true;
  char **items = realloc(l->items, (l->n + 1) * sizeof *items);
  if (!items)
    return false;
  l->items = items;
  return (l->items[l->n] = strdup(path)) != NULL && ++l->n;
}

/* Adds the shared objects ldd(1) lists for `file`: "name => /path (addr)" and the loader's
 * "/path (addr)". False with a message when ldd cannot run or finds a missing library. */
static bool ldd(const char *file, libs *l) {
  char cmd[PATH_MAX + 32];
  snprintf(cmd, sizeof cmd, "ldd '%s' 2>&1", file);
  FILE *p = popen(cmd, "r");
  if (!p) {
    zh_cli_error("ldd %s: %s", file, strerror(errno));
    return false;
  }
  char line[PATH_MAX + 128];
  bool ok = true;
  while (fgets(line, sizeof line, p)) {
    if (strstr(line, "not found")) {
      zh_cli_error("ldd %s: %s", file, line);
      ok = false;
      continue;
    }
    const char *arrow = strstr(line, "=> ");
    const char *path = arrow ? arrow + 3 : line + strspn(line, " \t");
    if (path[0] != '/')
      continue; /* linux-vdso.so.1 has no file */
    size_t n = strcspn(path, " \t\n(");
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%.*s", (int)n, path);
    if (!add_lib(l, buf)) {
      zh_cli_error("out of memory");
      ok = false;
    }
  }
  int st = pclose(p);
  if (ok && st != 0) {
    zh_cli_error("ldd %s failed (status %d)", file, st);
    ok = false;
  }
  return ok;
}

/* libcurl as the dynamic loader finds it, so that outbound HTTP works inside the image. */
static bool add_curl(libs *l) {
  void *h = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
  if (!h) {
    zh_cli_error("libcurl.so.4 not found (%s): outbound HTTP needs it in the image", dlerror());
    return false;
  }
  Dl_info info;
  void *sym = dlsym(h, "curl_easy_init");
  bool ok = sym && dladdr(sym, &info) && info.dli_fname;
  char path[PATH_MAX];
  if (ok)
    snprintf(path, sizeof path, "%s", info.dli_fname);
  dlclose(h);
  if (!ok) {
    zh_cli_error("cannot locate libcurl.so.4's file");
    return false;
  }
  return add_lib(l, path) && ldd(path, l);
}

static int build(int argc, char **argv) {
  const char *from = ".", *output = NULL, *name = NULL, *rc = NULL;
  bool plain = false, uncompressed = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      zh_cli_image_help(stdout);
      return ZH_CLI_OK;
    }
    if (!strcmp(a, "--plain")) {
      plain = true;
      continue;
    }
    if (!strcmp(a, "--uncompressed")) {
      uncompressed = true;
      continue;
    }
    const char **slot = NULL;
    if (!strcmp(a, "-f") || !strcmp(a, "--from") || !strcmp(a, "--file"))
      slot = &from;
    else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
      slot = &output;
    else if (!strcmp(a, "--name"))
      slot = &name;
    else if (!strcmp(a, "--runtime-config-file"))
      slot = &rc;
    else
      return a[0] == '-' ? usage("unknown option '%s'", a) : usage("unexpected argument '%s'", a);
    if (i + 1 >= argc)
      return usage("option '%s' needs a value", a);
    *slot = argv[++i];
  }
  if (!output)
    return usage("-o FILE.tar is required");
  zh_oci_app *app = NULL;
  zh_error *err = zh_oci_app_load(from, &app);
  libs l = {0};
  char exe[PATH_MAX];
  char defname[512];
  int st = ZH_CLI_FAIL;
  if (err)
    goto done;
  zh_oci_image_options opt = {
      plain ? ZH_OCI_IMAGE_PLAIN : ZH_OCI_IMAGE_WASM, name, NULL, NULL, 0, rc, uncompressed};
  if (!name) {
    snprintf(defname, sizeof defname, "zerohop.local/%s:%s", app->name, app->version);
    opt.name = defname;
  }
  if (plain) {
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
      zh_cli_error("cannot find the zerohop executable: %s", strerror(errno));
      goto done;
    }
    exe[n] = '\0';
    if (!ldd(exe, &l) || !add_curl(&l))
      goto done;
    opt.binary = exe;
    opt.libs = (const char *const *)l.items;
    opt.nlibs = l.n;
  }
  zh_oci_image_info info;
  err = zh_oci_image_write(app, &opt, output, &info);
  if (!err) {
    printf("%s: %s image %s, %s, layer %llu bytes (%s, tar %llu bytes), %llu bytes of blobs\n",
           output, plain ? "plain" : "wasm", opt.name, info.manifest_digest,
           (unsigned long long)info.layer_size, uncompressed ? "uncompressed" : "gzip",
           (unsigned long long)info.layer_tar_size, (unsigned long long)info.total_size);
    st = ZH_CLI_OK;
  }
done:
  if (err) {
    zh_cli_error("%s", zh_error_message(err));
    zh_error_free(err);
  }
  for (size_t i = 0; i < l.n; i++)
    free(l.items[i]);
  free(l.items);
  zh_oci_app_free(app);
  return st;
}

int zh_cli_image_main(int argc, char **argv) {
  if (argc < 1)
    return usage("a subcommand is required: build");
  if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
    zh_cli_image_help(stdout);
    return ZH_CLI_OK;
  }
  if (strcmp(argv[0], "build") != 0)
    return usage("unknown subcommand '%s' (build)", argv[0]);
  return build(argc - 1, argv + 1);
}

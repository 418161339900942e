/* `zerohop graph`: draws an app's wiring (src/host/wiring.c) with Graphviz.
 *
 * Parse the options, load the manifest and the runtime config (their errors are theirs:
 * FILE:LINE:COL, exit 1), optionally a saved /metrics scrape for measurements, then write
 * DOT text (-o X.dot) or pipe it through Graphviz's `dot` for SVG, PNG or PDF. The output
 * file is opened here, before `dot` starts, so an unwritable path is our one-line error and
 * a failed `dot` leaves no half-written file behind. `dot` rather than libgvc: the library
 * would link Graphviz (and cairo, pango, ...) into every zerohop command for one that draws;
 * running `dot` costs one process per picture. */
#include "cli.h"

#include "host/hops_metrics.h"
#include "host/manifest.h"
#include "host/runtime_config.h"
#include "host/wiring_dot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char usage_line[] =
    "zerohop graph [-f MANIFEST|DIR] [--runtime-config-file F] -o OUT.svg|.png|.pdf|.dot "
    "[--trace SCRAPE]";

void zh_cli_graph_help(FILE *out) {
  fprintf(out,
          "Usage: %s\n"
          "\n"
          "Draws a Spin app's wiring, as `zerohop up` prints it at start: HTTP routes,\n"
          "components, Redis channels, stores and outside services, each edge solid green\n"
          "when it stays in the process (dependency calls, local chaining, the local bus,\n"
          "SQLite) and dashed red when it crosses the network (Redis, outbound HTTP).\n"
          "SVG, PNG and PDF are drawn by Graphviz's `dot`; .dot writes the DOT text.\n"
          "\n"
          "Options:\n"
          "  -f, --from PATH              the manifest, or a directory holding spin.toml\n"
          "                               (default: .)\n"
          "  --runtime-config-file FILE   channel transports ([zerohop.channels.\"x\"]) and\n"
          "                               stores; also --runtime-config\n"
          "  -o, --output FILE            where to write; the extension picks the format\n"
          "  --trace FILE                 a saved scrape of `zerohop up --admin ADDR`'s\n"
          "                               /metrics (e.g. curl -o FILE .../metrics): edges get\n"
          "                               their measured hop counts and latencies, and hops\n"
          "                               the manifest did not foresee are added\n"
          "  -h, --help                   show this help\n"
          "\n"
          "Exit status: 0 when written, 1 when the manifest, runtime config or trace file\n"
          "is wrong (FILE:LINE:COL), the output cannot be written or `dot` fails, 2 for a\n"
          "usage error.\n",
          usage_line);
}

typedef struct graph_opts {
  const char *from, *runtime_config, *output, *trace;
} graph_opts;

#define usage(...) zh_cli_usagef("graph", usage_line, __VA_ARGS__)

/* -1 when the options are fine, else the exit status. */
static int parse(int argc, char **argv, graph_opts *o) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      zh_cli_graph_help(stdout);
      return ZH_CLI_OK;
    }
    const char *eq = a[0] == '-' && a[1] == '-' ? strchr(a, '=') : NULL;
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
    static const char *const known[] = {"-f",      "--from",          "--file",
                                        "-o",      "--output",        "--runtime-config-file",
                                        "--trace", "--runtime-config"};
    const char *name = NULL;
    for (size_t k = 0; k < sizeof known / sizeof *known; k++)
      if (strlen(known[k]) == nlen && strncmp(a, known[k], nlen) == 0)
        name = known[k];
    if (!name)
      return a[0] == '-' ? usage("unknown option '%s'", a) : usage("unexpected argument '%s'", a);
    const char *v = eq ? eq + 1 : NULL;
    if (!v) {
      if (i + 1 >= argc)
        return usage("option '%s' needs a value", name);
      v = argv[++i];
    }
    if (name[1] == 'f' || !strcmp(name, "--from") || !strcmp(name, "--file"))
      o->from = v;
    else if (name[1] == 'o' || !strcmp(name, "--output"))
      o->output = v;
    else if (!strcmp(name, "--trace"))
      o->trace = v;
    else
      o->runtime_config = v;
  }
  if (!o->output)
    return usage("-o OUT is required (OUT.svg, .png, .pdf or .dot)");
  return -1;
}

/* The output format from the extension: "svg", "png", "pdf", "dot", or NULL. */
static const char *format_of(const char *path) {
  const char *dot = path ? strrchr(path, '.') : NULL;
  static const char *const formats[] = {"svg", "png", "pdf", "dot"};
  for (size_t i = 0; dot && i < sizeof formats / sizeof *formats; i++)
    if (strcmp(dot + 1, formats[i]) == 0)
      return formats[i];
  return NULL;
}

/* Runs `dot -TFORMAT` with the DOT text on its stdin and `out_fd` as its stdout. */
static zh_error *run_dot(const char *format, const zh_wiring *w, const zh_hops_scraped *m, size_t n,
                         const char *title, int out_fd) {
  int in[2];
  if (pipe(in) != 0)
    return zh_error_new(ZH_ERR_IO, "pipe: %s", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, in[1]);
  char tflag[16];
  snprintf(tflag, sizeof tflag, "-T%s", format);
  char *argv[] = {"dot", tflag, NULL};
  pid_t pid;
  int rc = posix_spawnp(&pid, "dot", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  if (rc != 0) {
    close(in[1]);
    return zh_error_new(ZH_ERR_IO,
                        "cannot run Graphviz's `dot` (%s): install graphviz, or write "
                        "DOT text with -o FILE.dot",
                        strerror(rc));
  }
  FILE *f = fdopen(in[1], "w");
  if (f) {
    zh_wiring_dot(w, m, n, title, f);
    fclose(f); /* dot sees the end of its input */
  } else {
    close(in[1]);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!f)
    return zh_error_new(ZH_ERR_IO, "fdopen: %s", strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return zh_error_new(ZH_ERR_IO, "`dot -T%s` failed (exit status %d)", format,
                        WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return NULL;
}

static zh_error *load_trace(const char *path, zh_hops_scraped **m, size_t *n) {
  unsigned char *data;
  size_t len;
  if (!zh_cli_read_file(path, &data, &len))
    return zh_error_new(ZH_ERR_IO, "--trace %s: %s", path, strerror(errno));
  zh_error *err = zh_hops_parse_scrape((const char *)data, len, path, m, n);
  free(data);
  return err;
}

static zh_error *draw(const graph_opts *o, const char *format) {
  zh_manifest *mf = NULL;
  zh_runtime_config *rc = NULL;
  zh_hops_scraped *m = NULL;
  size_t n = 0;
  zh_wiring w = {0};
  int fd = -1;
  bool wired = false, opened = false;
  zh_error *err = zh_manifest_load(o->from, &mf);
  if (!err && o->runtime_config)
    err = zh_runtime_config_load(o->runtime_config, &rc);
  if (!err && o->trace)
    err = load_trace(o->trace, &m, &n);
  if (!err && (err = zh_wiring_build(mf, rc, &w)) == NULL)
    wired = true;
  if (!err && m)
    err = zh_wiring_add_measured(&w, m, n);
  if (!err && (fd = open(o->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
    err = zh_error_new(ZH_ERR_IO, "cannot write %s: %s", o->output, strerror(errno));
  opened = fd >= 0;
  if (!err && strcmp(format, "dot") == 0) {
    FILE *f = fdopen(fd, "w");
    if (f) {
      fd = -1;
      zh_wiring_dot(&w, m, n, mf->name, f);
      if (fclose(f) != 0)
        err = zh_error_new(ZH_ERR_IO, "writing %s: %s", o->output, strerror(errno));
    } else {
      err = zh_error_new(ZH_ERR_IO, "writing %s: %s", o->output, strerror(errno));
    }
  } else if (!err) {
    err = run_dot(format, &w, m, n, mf->name, fd);
  }
  if (fd >= 0)
    close(fd);
  if (err && opened)
    unlink(o->output); /* nothing half-drawn stays behind */
  if (wired)
    zh_wiring_free(&w);
  zh_hops_scraped_free(m, n);
  zh_runtime_config_free(rc);
  zh_manifest_free(mf);
  return err;
}

int zh_cli_graph_main(int argc, char **argv) {
  graph_opts o = {".", NULL, NULL, NULL};
  int st = parse(argc, argv, &o);
  if (st >= 0)
    return st;
  const char *format = format_of(o.output);
  if (!format)
    return usage("-o %s: the extension must be .svg, .png, .pdf or .dot", o.output);
  zh_error *err = draw(&o, format);
  if (err) {
    zh_cli_error("%s", zh_error_message(err));
    zh_error_free(err);
    return ZH_CLI_FAIL;
  }
  return ZH_CLI_OK;
}

/* The zerohop command line: subcommands and their shared helpers. main.c dispatches to a
 * table of subcommands; each lives in its own file (run.c, ...). */
#ifndef ZH_CLI_H
#define ZH_CLI_H

#include "zerohop/engine.h"

#include <signal.h>
#include <stdio.h>

#ifndef ZEROHOP_VERSION
#define ZEROHOP_VERSION "0.1.0"
#endif

/* Exit statuses shared by the subcommands. */
enum {
  ZH_CLI_OK = 0,
  ZH_CLI_FAIL = 1,      /* could not load, validate, link or instantiate */
  ZH_CLI_USAGE = 2,     /* bad command line */
  ZH_CLI_TIMEOUT = 124, /* the guest ran past --timeout; as timeout(1) reports it */
  ZH_CLI_TRAP = 134,    /* the guest trapped; like a native program's SIGABRT */
};

/* A subcommand gets the arguments after its own name. */
typedef struct zh_cli_command {
  const char *name;
  const char *summary;
  int (*main)(int argc, char **argv);
  void (*help)(FILE *out);
} zh_cli_command;

/* ---- run.c ---- */
int zh_cli_run_main(int argc, char **argv);
void zh_cli_run_help(FILE *out);

/* ---- up.c, build.c ---- */
int zh_cli_up_main(int argc, char **argv);
void zh_cli_up_help(FILE *out);
int zh_cli_graph_main(int argc, char **argv);
void zh_cli_graph_help(FILE *out);
int zh_cli_build_main(int argc, char **argv);
void zh_cli_build_help(FILE *out);
/* Runs the build commands of the app at `manifest_path` (file or directory); a CLI status. */
int zh_cli_build_app(const char *manifest_path);

/* ---- serve.c ---- */
int zh_cli_serve_main(int argc, char **argv);
void zh_cli_serve_help(FILE *out);

/* ---- bindgen.c ---- */
int zh_cli_bindgen_main(int argc, char **argv);
void zh_cli_bindgen_help(FILE *out);

/* ---- component_wit.c ---- */
int zh_cli_component_main(int argc, char **argv);
void zh_cli_component_help(FILE *out);

/* ---- image.c, registry.c, k8s.c (OCI images, registries, Kubernetes) ---- */
int zh_cli_image_main(int argc, char **argv);
void zh_cli_image_help(FILE *out);
int zh_cli_k8s_main(int argc, char **argv);
void zh_cli_k8s_help(FILE *out);
int zh_cli_registry_main(int argc, char **argv);
void zh_cli_registry_help(FILE *out);
/* Pulls REF (through the content cache `cache`, NULL: the default) into `dir` (NULL: the
 * cache's copy); *app_dir gets the directory holding spin.toml. A CLI status; errors are
 * printed. */
int zh_cli_registry_pull(const char *ref, bool insecure, const char *cache, const char *dir,
                         char **app_dir);
/* True when `from` is no existing path but reads as HOST/REPO[:TAG]. */
bool zh_cli_registry_is_ref(const char *from);

/* ---- values.c ---- */

/* Parses a decimal command-line argument as a value of type t; false if it is not one.
 * i32 accepts -2^31 .. 2^32-1 and i64 -2^63 .. 2^64-1 (the top half as unsigned). */
bool zh_cli_parse_value(zh_valtype t, const char *s, zh_value *out);
/* Prints a value on one line: integers signed decimal, floats in the shortest form that
 * reads back exactly ("nan", "inf", "-0" included). */
void zh_cli_print_value(FILE *out, const zh_value *v);

/* ---- units.c ---- */

/* A positive decimal number with a unit: ns, us, ms, s, m or h; a bare number is seconds
 * ("100ms", "1.5s", "2"). Truncated to whole nanoseconds; false if malformed or too big. */
bool zh_cli_parse_duration(const char *s, uint64_t *ns);
/* Bytes, or a decimal number with K/KiB, M/MiB or G/GiB (powers of 1024): "64KiB", "1.5G". */
bool zh_cli_parse_size(const char *s, uint64_t *bytes);

/* ---- util.c ---- */

/* Prints "zerohop: " and a printf-style message as exactly one line on stderr:
 * control characters (e.g. newlines inside engine messages) become spaces. */
void zh_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, but the message may continue on further lines (a trap's backtrace). */
void zh_cli_error_lines(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints `problem` with the subcommand's short usage and a pointer to its help, as one
 * line on stderr; returns 2. */
int zh_cli_usage_error(const char *command, const char *usage, const char *problem);
/* The same with a printf-style problem. A subcommand's file defines, for its own name,
 *   #define usage(...) zh_cli_usagef("up", usage_line, __VA_ARGS__) */
int zh_cli_usagef(const char *command, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* SIGINT and SIGTERM: the servers (serve, up) block them in every thread and wait for them
 * with sigwait, so a stop never lands on a worker. */
void zh_cli_stop_signals(sigset_t *set);
/* Reads a whole file into a malloc'd buffer; on failure returns false with errno set. */
bool zh_cli_read_file(const char *path, unsigned char **data, size_t *len);

/* A whole file's bytes: mapped when it is a regular file, read otherwise. */
typedef struct zh_cli_file {
  const unsigned char *data;
  size_t len;
  bool mapped;
} zh_cli_file;
/* Opens and maps (or reads) `path`; on failure returns false with errno set. */
bool zh_cli_map_file(const char *path, zh_cli_file *f);
/* Releases what zh_cli_map_file gave; the zero value is fine. */
void zh_cli_unmap_file(zh_cli_file *f);

#endif

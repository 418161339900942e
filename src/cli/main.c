/* zerohop: the command-line entry point. Dispatches to subcommands (run.c, ...). */
#include "cli.h"

#include <string.h>

static const zh_cli_command commands[] = {
    {"run", "run a WebAssembly module with WASI", zh_cli_run_main, zh_cli_run_help},
    {"serve", "serve a wasi:http component over HTTP/1.1", zh_cli_serve_main, zh_cli_serve_help},
    {"up", "run a Spin application (spin.toml)", zh_cli_up_main, zh_cli_up_help},
    {"build", "run the build commands of a Spin application", zh_cli_build_main, zh_cli_build_help},
    {"graph", "draw a Spin application's wiring (Graphviz)", zh_cli_graph_main, zh_cli_graph_help},
    {"bindgen", "generate C guest bindings for a WIT world", zh_cli_bindgen_main,
     zh_cli_bindgen_help},
    {"component", "inspect a component binary ('component wit X.wasm')", zh_cli_component_main,
     zh_cli_component_help},
    {"image", "build an OCI image of a Spin application", zh_cli_image_main, zh_cli_image_help},
    {"registry", "push or pull a Spin application to or from an OCI registry", zh_cli_registry_main,
     zh_cli_registry_help},
    {"k8s", "write Kubernetes manifests for a Spin application ('k8s scaffold')", zh_cli_k8s_main,
     zh_cli_k8s_help},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out) {
  fprintf(out,
          "zerohop %s: a WebAssembly engine and application host\n"
          "\n"
          "Usage: zerohop COMMAND [OPTIONS] [ARGS...]\n"
          "       zerohop help COMMAND\n"
          "\n"
          "Commands:\n",
          ZEROHOP_VERSION);
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "  %-10s %s\n", "help", "show help for a command");
  fprintf(out, "\n"
               "Options:\n"
               "  -h, --help     show this help\n"
               "  -V, --version  show the version\n"
               "\n"
               "Exit status: 0 on success, 2 for a usage error; `zerohop run` also exits with\n"
               "the guest's proc_exit code, 1 when the module cannot be loaded, 124 when\n"
               "--timeout expires and 134 when the guest traps ('zerohop help run' has details).\n"
               "\n"
               "Example: zerohop run build/examples/hello.wasm a b\n");
}

static const zh_cli_command *find_command(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

/* One line, like the subcommands' usage errors. */
static int unknown_command(const char *name) {
  zh_cli_error("unknown command '%s'; 'zerohop --help' lists the commands", name);
  return ZH_CLI_USAGE;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return ZH_CLI_USAGE;
  }
  const char *arg = argv[1];
  if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
    usage(stdout);
    return ZH_CLI_OK;
  }
  if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
    printf("zerohop %s\n", ZEROHOP_VERSION);
    return ZH_CLI_OK;
  }
  if (strcmp(arg, "help") == 0) {
    if (argc < 3) {
      usage(stdout);
      return ZH_CLI_OK;
    }
    const zh_cli_command *cmd = find_command(argv[2]);
    if (cmd == NULL)
      return unknown_command(argv[2]);
    cmd->help(stdout);
    return ZH_CLI_OK;
  }
  if (arg[0] == '-') {
    zh_cli_error("unknown option '%s'; 'zerohop --help' lists the options", arg);
    return ZH_CLI_USAGE;
  }
  const zh_cli_command *cmd = find_command(arg);
  if (cmd == NULL)
    return unknown_command(arg);
  return cmd->main(argc - 2, argv + 2);
}

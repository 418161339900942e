/* `zerohop component wit X.wasm`: a component binary's imports and exports as WIT, in the
 * form `jco wit` prints (zh_cm_component_wit says which), or the world a core module carries
 * in its component-type custom section (zh_cm_core_world_wit). A file that is neither, or is
 * not valid, exits 1 with one line naming the file, the section, the offset and the reason. */
#include "cli.h"

#include "zerohop/cm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define COMPONENT_USAGE "zerohop component wit COMPONENT.wasm"

void zh_cli_component_help(FILE *out) {
  fprintf(out, "Usage: " COMPONENT_USAGE "\n"
               "\n"
               "Subcommands:\n"
               "  wit   print the component's imports and exports as a WIT world; for a core\n"
               "        module, the world in its component-type custom section\n"
               "\n"
               "Exit status: 0 on success, 1 when the file cannot be read or is not a valid\n"
               "component (one line: file, section, offset, reason), 2 for a usage error.\n");
}

/* \0asm, version 1: a core module (whose world may be in a component-type section). */
static bool is_core_module(const unsigned char *b, size_t len) {
  static const unsigned char head[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
  return len >= 8 && memcmp(b, head, 8) == 0;
}

static int print_wit(const char *path) {
  zh_cli_file file = {0};
  if (!zh_cli_map_file(path, &file)) {
    zh_cli_error("%s: %s", path, strerror(errno));
    return ZH_CLI_FAIL;
  }
  bool component = zh_cm_is_component(file.data, file.len);
  if (!component && !is_core_module(file.data, file.len)) {
    zh_cli_error("%s: not a component binary (a component starts with \\0asm, version 0x0d, "
                 "layer 1) nor a core module",
                 path);
    zh_cli_unmap_file(&file);
    return ZH_CLI_FAIL;
  }
  zh_engine *engine = NULL;
  zh_cm_component *comp = NULL;
  char *text = NULL;
  zh_error *err = zh_engine_new(NULL, &engine);
  if (err == NULL && component)
    err = zh_cm_component_new(engine, file.data, file.len, path, &comp);
  if (err == NULL)
    err = component ? zh_cm_component_wit(comp, &text)
                    : zh_cm_core_world_wit(engine, file.data, file.len, path, &text);
  int status = ZH_CLI_OK;
  if (err != NULL) {
    const char *msg = zh_error_message(err);
    if (strstr(msg, path) != NULL)
      zh_cli_error("%s", msg);
    else
      zh_cli_error("%s: %s", path, msg);
    zh_error_free(err);
    status = ZH_CLI_FAIL;
  } else if (fputs(text, stdout) == EOF || fflush(stdout) != 0) {
    zh_cli_error("writing the WIT: %s", strerror(errno));
    status = ZH_CLI_FAIL;
  }
  free(text);
  zh_cm_component_free(comp);
  if (engine)
    zh_engine_free(engine);
  zh_cli_unmap_file(&file);
  return status;
}

int zh_cli_component_main(int argc, char **argv) {
  if (argc >= 1 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0)) {
    zh_cli_component_help(stdout);
    return ZH_CLI_OK;
  }
  if (argc < 1)
    return zh_cli_usage_error("component", COMPONENT_USAGE, "missing subcommand 'wit'");
  if (strcmp(argv[0], "wit") != 0) {
    char msg[256];
    snprintf(msg, sizeof msg, "unknown subcommand '%.100s'", argv[0]);
    return zh_cli_usage_error("component", COMPONENT_USAGE, msg);
  }
  if (argc != 2)
    return zh_cli_usage_error("component", COMPONENT_USAGE,
                              argc < 2 ? "missing COMPONENT.wasm" : "too many arguments");
  return print_wit(argv[1]);
}

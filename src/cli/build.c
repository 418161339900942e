/* `zerohop build`: runs the build command of each component of a spin.toml, as `spin build`
 * does: in the component's workdir (the manifest's directory by default) through /bin/sh,
 * one after the other, stopping at the first that fails. */
#include "cli.h"

#include "host/manifest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_line[] = "zerohop build [-f MANIFEST|DIR]";

void zh_cli_build_help(FILE *out) {
  fprintf(out,
          "Usage: %s\n"
          "\n"
          "Runs the [component.ID.build] command of every component of the app, in the\n"
          "component's `workdir` (default: the manifest's directory), through /bin/sh.\n"
          "\n"
          "Options:\n"
          "  -f, --from PATH   the manifest, or a directory holding spin.toml (default: .)\n"
          "  -h, --help        show this help\n"
          "\n"
          "Exit status: 0 when every command succeeded, 1 at the first that failed or when\n"
          "the manifest does not load, 2 for a usage error.\n",
          usage_line);
}

/* Runs `command` in `dir`; its exit status, or -1 if it could not be started. */
static int run_in(const char *dir, const char *command) {
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir) != 0)
      _exit(127);
    execl("/bin/sh", "sh", "-c", command, (char *)NULL);
    _exit(127);
  }
  if (pid < 0)
    return -1;
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
}

int zh_cli_build_app(const char *manifest_path) {
  zh_manifest *m = NULL;
  zh_error *err = zh_manifest_load(manifest_path, &m);
  if (err) {
    zh_cli_error("%s", zh_error_message(err));
    zh_error_free(err);
    return ZH_CLI_FAIL;
  }
  int st = ZH_CLI_OK;
  size_t built = 0;
  for (size_t i = 0; i < m->ncomponents && st == ZH_CLI_OK; i++) {
    const zh_manifest_component *c = &m->components[i];
    if (!c->has_build || !c->build_command)
      continue;
    char *dir = NULL;
    if (c->build_workdir && c->build_workdir[0] == '/') {
      dir = strdup(c->build_workdir);
    } else if (c->build_workdir) {
      size_t n = strlen(m->base_dir) + strlen(c->build_workdir) + 2;
      if ((dir = malloc(n)) != NULL)
        snprintf(dir, n, "%s/%s", m->base_dir, c->build_workdir);
    } else {
      dir = strdup(m->base_dir);
    }
    if (!dir) {
      zh_cli_error("out of memory");
      st = ZH_CLI_FAIL;
      break;
    }
    printf("Building component %s with `%s`\n", c->id, c->build_command);
    fflush(stdout);
    int code = run_in(dir, c->build_command);
    if (code != 0) {
      zh_cli_error("component `%s`: build command `%s` %s %d (in %s)", c->id, c->build_command,
                   code < 0 ? "could not start:" : "exited with", code < 0 ? errno : code, dir);
      st = ZH_CLI_FAIL;
    }
    free(dir);
    built++;
  }
  if (st == ZH_CLI_OK)
    printf(built ? "Finished building all components\n" : "No component has a build command\n");
  zh_manifest_free(m);
  return st;
}

int zh_cli_build_main(int argc, char **argv) {
  const char *from = ".";
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      zh_cli_build_help(stdout);
      return ZH_CLI_OK;
    }
    if ((strcmp(a, "-f") == 0 || strcmp(a, "--from") == 0) && i + 1 < argc) {
      from = argv[++i];
      continue;
    }
    char problem[300];
    snprintf(problem, sizeof problem, "unexpected argument '%s'", a);
    return zh_cli_usage_error("build", usage_line, problem);
  }
  return zh_cli_build_app(from);
}

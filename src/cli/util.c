/* Helpers shared by the subcommands: one-line error messages, usage errors, file input. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Formats and prints "zerohop: MESSAGE"; control characters become spaces, except
 * newlines when `keep_newlines` (a trap's backtrace reads better on its own lines). */
static void print_error(bool keep_newlines, const char *fmt, va_list ap) {
  char buf[4096];
  /* clang-tidy 14 flags every va_list use after the first file of a multi-file run. */
  /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
  vsnprintf(buf, sizeof buf, fmt, ap);
  size_t n = strlen(buf);
  while (n > 0 && buf[n - 1] == '\n')
    buf[--n] = 0;
  for (char *p = buf; *p; p++)
    if (((unsigned char)*p < 0x20 || *p == 0x7f) && !(keep_newlines && *p == '\n'))
      *p = ' ';
  fprintf(stderr, "zerohop: %s\n", buf);
}

void zh_cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  print_error(false, fmt, ap);
  va_end(ap);
}

void zh_cli_error_lines(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  print_error(true, fmt, ap);
  va_end(ap);
}

int zh_cli_usage_error(const char *command, const char *usage, const char *problem) {
  fprintf(stderr, "zerohop: %s\nUsage: %s\nTry 'zerohop help %s' for more information.\n", problem,
          usage, command);
  return ZH_CLI_USAGE;
}

bool zh_cli_read_file(const char *path, unsigned char **data, size_t *len) {
  *data = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  /* Size the buffer from fstat when it is a regular file; pipes just grow. */
  struct stat st;
  size_t cap = 65536;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      (uint64_t)st.st_size < SIZE_MAX)
    cap = (size_t)st.st_size + 1;
  unsigned char *buf = malloc(cap);
  size_t n = 0;
  int err = buf ? 0 : ENOMEM;
  while (err == 0) {
    if (n == cap) {
      size_t ncap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
      unsigned char *nbuf = ncap > cap ? realloc(buf, ncap) : NULL;
      if (nbuf == NULL) {
        err = ENOMEM;
        break;
      }
      buf = nbuf;
      cap = ncap;
    }
    ssize_t got = read(fd, buf + n, cap - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      err = errno;
    else if (got == 0)
      break;
    else
      n += (size_t)got;
  }
  close(fd);
  if (err != 0) {
    free(buf);
    errno = err;
    return false;
  }
  *data = buf;
  *len = n;
  return true;
}

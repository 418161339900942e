/* Helpers shared by the subcommands: one-line error messages, usage errors, file input. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
  /* One line, so that scripts and logs see the whole complaint together. */
  zh_cli_error("%s. Usage: %s; 'zerohop help %s' lists the options", problem, usage, command);
  return ZH_CLI_USAGE;
}

int zh_cli_usagef(const char *command, const char *usage, const char *fmt, ...) {
  char problem[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(problem, sizeof problem, fmt, ap);
  va_end(ap);
  return zh_cli_usage_error(command, usage, problem);
}

bool zh_cli_read_file(const char *path, unsigned char **data, size_t *len) {
  *data = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  /* Size the buffer from fstat when it is a regular file; pipes just grow. */
  struct stat st;
  size_t cap = 65536, expect = SIZE_MAX;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      (uint64_t)st.st_size < SIZE_MAX) {
    expect = (size_t)st.st_size;
    cap = expect + 1;
  }
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
    if (got < 0) {
      err = errno;
      break;
    }
    if (got == 0)
      break;
    n += (size_t)got;
    if (n == expect)
      break; /* the whole regular file in one read: skip the read that would see EOF */
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

bool zh_cli_map_file(const char *path, zh_cli_file *f) {
  memset(f, 0, sizeof *f);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  /* A regular file is mapped: `run` reads the module in place (zh_module_new_view), and mapping
   * the page cache saves read()'s copy into fresh pages (and faulting those pages in).
   * MAP_POPULATE maps every page in one go instead of one fault per page. */
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      (uint64_t)st.st_size < SIZE_MAX) {
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p != MAP_FAILED) {
      close(fd);
      f->data = p;
      f->len = (size_t)st.st_size;
      f->mapped = true;
      return true;
    }
  }
  close(fd);
  /* Pipes, devices, empty files and failed maps: read into memory. */
  unsigned char *data;
  if (!zh_cli_read_file(path, &data, &f->len))
    return false;
  f->data = data;
  return true;
}

void zh_cli_unmap_file(zh_cli_file *f) {
  if (f->mapped)
    munmap((void *)f->data, f->len);
  else
    free((void *)f->data);
  memset(f, 0, sizeof *f);
}

void zh_cli_stop_signals(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
}

/* Guest: directory trees and files through wasi-libc beneath the preopen "/data":
 * create, list, rename, remove; readdir with a tiny buffer (partial entries, cookies);
 * seek/tell/pread/pwrite; symlinks; a sparse file past 4 GiB (skipped if the host
 * filesystem refuses); times and sizes. Prints one "what=value" line per check. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static int count_entries(const char *dir, char *names, size_t size) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return -errno;
  int n = 0;
  names[0] = 0;
  /* collect sorted-insensitive: names are checked by membership below */
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    n++;
    strncat(names, de->d_name, size - strlen(names) - 2);
    strcat(names, ",");
  }
  closedir(d);
  return n;
}

/* Raw fd_readdir with a buffer smaller than one entry plus name: every name must still
 * come back, one cookie at a time. */
static int tiny_readdir(int fd, int *partial) {
  uint8_t buf[30];
  __wasi_dircookie_t cookie = 0;
  int names = 0;
  *partial = 0;
  for (int guard = 0; guard < 1000; guard++) {
    __wasi_size_t used;
    if (__wasi_fd_readdir(fd, buf, sizeof buf, cookie, &used) != 0)
      return -1;
    if (used < sizeof(__wasi_dirent_t))
      break;
    __wasi_dirent_t de;
    memcpy(&de, buf, sizeof de);
    if (sizeof de + de.d_namlen > used)
      (*partial)++;
    if (used == sizeof buf && sizeof de + de.d_namlen > sizeof buf) {
      /* read it again with room for the whole name */
      uint8_t big[sizeof de + 256];
      if (__wasi_fd_readdir(fd, big, sizeof big, cookie, &used) != 0)
        return -1;
    }
    names++;
    cookie = de.d_next;
  }
  return names;
}

int main(void) {
  char names[512];
  printf("mkdir=%d\n", mkdir("/data/tree", 0755));
  printf("mkdir_nested=%d\n", mkdir("/data/tree/sub", 0755));
  printf("mkdir_again=%d errno=%d\n", mkdir("/data/tree", 0755), errno == EEXIST);
  for (int i = 0; i < 5; i++) {
    char p[64];
    snprintf(p, sizeof p, "/data/tree/file-with-a-long-name-%d.txt", i);
    FILE *f = fopen(p, "w");
    fprintf(f, "content %d\n", i);
    fclose(f);
  }
  printf("entries=%d\n", count_entries("/data/tree", names, sizeof names));
  int fd = open("/data/tree", O_RDONLY | O_DIRECTORY);
  int partial;
  printf("tiny_readdir=%d partial>0=%d\n", tiny_readdir(fd, &partial), partial > 0);
  close(fd);
  printf("rename_file=%d\n",
         rename("/data/tree/file-with-a-long-name-0.txt", "/data/tree/sub/moved"));
  printf("rename_dir=%d\n", rename("/data/tree/sub", "/data/tree/sub2"));
  FILE *f = fopen("/data/tree/sub2/moved", "r");
  char line[64] = "";
  if (f) {
    fgets(line, sizeof line, f);
    fclose(f);
  }
  printf("moved_content=%s", line);
  printf("rmdir_nonempty=%d notempty=%d\n", rmdir("/data/tree/sub2"), errno == ENOTEMPTY);
  printf("unlink_dir=%d\n",
         unlink("/data/tree/sub2") == 0 ? 0 : (errno == EISDIR || errno == EPERM));
  printf("symlink=%d\n", symlink("sub2/moved", "/data/tree/link"));
  char target[64];
  ssize_t tl = readlink("/data/tree/link", target, sizeof target - 1);
  target[tl > 0 ? tl : 0] = 0;
  printf("readlink=%s\n", target);
  struct stat st, lst;
  printf("stat_follow=%d size=%lld\n", stat("/data/tree/link", &st), (long long)st.st_size);
  printf("lstat_link=%d islnk=%d\n", lstat("/data/tree/link", &lst), S_ISLNK(lst.st_mode));
  printf("unlink_link=%d\n", unlink("/data/tree/link"));
  /* remove the whole tree bottom-up */
  int bad = 0;
  for (int i = 1; i < 5; i++) {
    char p[64];
    snprintf(p, sizeof p, "/data/tree/file-with-a-long-name-%d.txt", i);
    bad += unlink(p) != 0;
  }
  bad += unlink("/data/tree/sub2/moved") != 0;
  bad += rmdir("/data/tree/sub2") != 0;
  bad += rmdir("/data/tree") != 0;
  printf("removed_tree=%d\n", bad);
  printf("gone=%d\n", access("/data/tree", F_OK) != 0 && errno == ENOENT);

  /* seek, tell, pread, pwrite, sizes, times */
  fd = open("/data/file.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
  printf("write=%zd\n", write(fd, "0123456789", 10));
  printf("tell=%lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  printf("seek_set=%lld\n", (long long)lseek(fd, 2, SEEK_SET));
  char b[8] = "";
  printf("read=%zd %.3s\n", read(fd, b, 3), b);
  printf("pread=%zd %.2s\n", pread(fd, b, 2, 8), b);
  printf("pwrite=%zd\n", pwrite(fd, "AB", 2, 0));
  printf("tell_after=%lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  printf("ftruncate=%d\n", ftruncate(fd, 4));
  fstat(fd, &st);
  printf("size=%lld\n", (long long)st.st_size);
  struct timespec ts[2] = {{1000000000, 5}, {1200000000, 7}};
  printf("futimens=%d\n", futimens(fd, ts));
  fstat(fd, &st);
  printf("mtime=%lld.%ld\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  printf("seek_neg=%lld einval=%d\n", (long long)lseek(fd, -100, SEEK_SET), errno == EINVAL);

  /* sparse, past 4 GiB */
  const off_t big = (off_t)5 << 30;
  ssize_t w = pwrite(fd, "END", 3, big);
  if (w != 3) {
    printf("sparse=skipped (%s)\n", strerror(errno));
  } else {
    fstat(fd, &st);
    char e[4] = "";
    ssize_t r = pread(fd, e, 3, big);
    off_t end = lseek(fd, 0, SEEK_END);
    printf("sparse=ok size_ok=%d read=%zd %.3s end_ok=%d\n", st.st_size == big + 3, r, e,
           end == big + 3);
    ftruncate(fd, 0);
  }
  close(fd);
  printf("unlink_file=%d\n", unlink("/data/file.bin"));
  printf("unlink_missing=%d enoent=%d\n", unlink("/data/file.bin"), errno == ENOENT);
  printf("open_missing_dir=%d enoent=%d\n", open("/data/nope/x", O_RDONLY), errno == ENOENT);
  close(open("/data/plain", O_WRONLY | O_CREAT, 0644));
  printf("file_slash=%d enotdir=%d\n", open("/data/plain/", O_RDONLY), errno == ENOTDIR);
  printf("file_as_dir=%d enotdir=%d\n", open("/data/plain/x", O_RDONLY), errno == ENOTDIR);
  printf("dir_via_dotdot=%d\n", mkdir("/data/d", 0755) == 0 && rmdir("/data/d/../d") == 0);
  unlink("/data/plain");
  return 0;
}

/* The task's resource use, for the Task service's Stats: an io.containerd.cgroups.v2.Metrics
 * (containerd's cgroups package), the message `ctr task metrics` and CRI's ContainerStats
 * decode.
 *
 * The app runs inside the shim, so the shim process is the task: what it measures of itself
 * is the container's use. It does not move itself into a cgroup of its own, so a cgroup's
 * counters would be someone else's too (containerd's, the node's); the figures come from the
 * kernel's per-process accounting instead:
 *
 *   memory.usage        resident set (VmRSS of /proc/self/status)
 *   memory.anon         its anonymous part (RssAnon): the heap, the guests' linear memories
 *   memory.file_mapped  its file-backed part (RssFile); memory.shmem: RssShmem
 *   memory.pgfault      minor + major page faults, memory.pgmajfault the major ones
 *   cpu.*_usec          user and system time of every thread (getrusage RUSAGE_SELF)
 *   pids.current        threads (a cgroup's pids counter counts threads too)
 *
 * Limits are 0: none is set on the process. */
#include "shim/shim.h"

#include "github.com/containerd/cgroups/v2/stats/metrics.pb-c.h"
#include "wasm/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef struct proc_status {
  uint64_t rss_kb, anon_kb, file_kb, shmem_kb, threads;
} proc_status;

static void field(const char *line, const char *key, uint64_t *dst) {
  size_t n = strlen(key);
  if (strncmp(line, key, n) == 0)
    *dst = strtoull(line + n, NULL, 10);
}

static void read_proc_status(proc_status *ps) {
  memset(ps, 0, sizeof *ps);
  FILE *f = fopen("/proc/self/status", "re");
  if (!f)
    return; /* no procfs: the memory figures stay 0 */
  char line[256];
  while (fgets(line, sizeof line, f)) {
    field(line, "VmRSS:", &ps->rss_kb);
    field(line, "RssAnon:", &ps->anon_kb);
    field(line, "RssFile:", &ps->file_kb);
    field(line, "RssShmem:", &ps->shmem_kb);
    field(line, "Threads:", &ps->threads);
  }
  fclose(f);
}

static uint64_t usec(struct timeval tv) {
  return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

zh_error *zh_shim_stats_metrics(uint8_t **out, size_t *out_len) {
  proc_status ps;
  read_proc_status(&ps);
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  getrusage(RUSAGE_SELF, &ru);

  Io__Containerd__Cgroups__V2__PidsStat pids = IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT;
  pids.current = ps.threads;
  Io__Containerd__Cgroups__V2__CPUStat cpu = IO__CONTAINERD__CGROUPS__V2__CPUSTAT__INIT;
  cpu.user_usec = usec(ru.ru_utime);
  cpu.system_usec = usec(ru.ru_stime);
  cpu.usage_usec = cpu.user_usec + cpu.system_usec;
  Io__Containerd__Cgroups__V2__MemoryStat mem = IO__CONTAINERD__CGROUPS__V2__MEMORY_STAT__INIT;
  mem.usage = ps.rss_kb * 1024u;
  mem.anon = ps.anon_kb * 1024u;
  mem.file_mapped = ps.file_kb * 1024u;
  mem.shmem = ps.shmem_kb * 1024u;
  mem.pgfault = (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
  mem.pgmajfault = (uint64_t)ru.ru_majflt;
  Io__Containerd__Cgroups__V2__Metrics m = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
  m.pids = &pids;
  m.cpu = &cpu;
  m.memory = &mem;

  size_t n = protobuf_c_message_get_packed_size(&m.base);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf)
    return zh_error_oom();
  protobuf_c_message_pack(&m.base, buf);
  *out = buf;
  *out_len = n;
  return NULL;
}

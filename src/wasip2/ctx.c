/* The WASI 0.2 context: configuration copies, the object table behind every resource rep,
 * and small value helpers.
 *
 * A rep is (generation << 32) | (index + 1). A slot's generation grows each time it is freed,
 * so a rep kept after its object died (a stream whose body was dropped) never finds the
 * next object put in that slot: lookups check index, generation and kind. */
#include "wasip2/wasip2_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

zh_error *wp2_oom(void) { return zh_error_new(ZH_ERR_RESOURCE, "wasip2: out of memory"); }

bool wp2_buf_append(wp2_buf *b, const void *data, size_t len) {
  if (len > SIZE_MAX - b->len - 1)
    return false;
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + len + 1)
      cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d)
      return false;
    b->data = d;
    b->cap = cap;
  }
  if (len)
    memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = 0;
  return true;
}

void wp2_buf_free(wp2_buf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

uint64_t wp2_now_ns(int clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the object table ---- */

zh_error *wp2_insert(zh_wasip2_ctx *cx, wp2_obj *o, uint64_t *rep) {
  uint32_t i;
  if (cx->free_head) {
    i = cx->free_head - 1;
    cx->free_head = cx->slots[i].next_free;
  } else {
    if (!cx->slots) {
      cx->slots = cx->few_slots;
      cx->cap = sizeof cx->few_slots / sizeof cx->few_slots[0];
    }
    if (cx->nslots == cx->cap) {
      uint32_t cap = cx->cap < 64 ? 64 : cx->cap * 2;
      bool moving = cx->slots == cx->few_slots;
      wp2_slot *s = cx->cap >= (1u << 30) ? NULL
                    : moving              ? malloc(cap * sizeof *s)
                                          : realloc(cx->slots, cap * sizeof *s);
      if (!s) {
        o->free_fn(cx, o);
        return wp2_oom();
      }
      if (moving)
        memcpy(s, cx->few_slots, cx->nslots * sizeof *s);
      cx->slots = s;
      cx->cap = cap;
    }
    i = cx->nslots++;
    cx->slots[i].gen = 1;
  }
  cx->slots[i].obj = o;
  cx->slots[i].next_free = 0;
  *rep = ((uint64_t)cx->slots[i].gen << 32) | (i + 1);
  return NULL;
}

static wp2_slot *slot_of(const zh_wasip2_ctx *cx, uint64_t rep) {
  uint32_t i = (uint32_t)rep;
  if (i == 0 || i > cx->nslots)
    return NULL;
  wp2_slot *s = &cx->slots[i - 1];
  return s->obj && s->gen == (uint32_t)(rep >> 32) ? s : NULL;
}

wp2_obj *wp2_get(const zh_wasip2_ctx *cx, uint64_t rep, wp2_kind kind) {
  wp2_slot *s = slot_of(cx, rep);
  return s && s->obj->kind == kind ? s->obj : NULL;
}

wp2_obj *wp2_take(zh_wasip2_ctx *cx, uint64_t rep, wp2_kind kind) {
  wp2_slot *s = slot_of(cx, rep);
  if (!s || s->obj->kind != kind)
    return NULL;
  wp2_obj *o = s->obj;
  s->obj = NULL;
  s->gen++;
  s->next_free = cx->free_head;
  cx->free_head = (uint32_t)(s - cx->slots) + 1;
  return o;
}

void wp2_remove(zh_wasip2_ctx *cx, uint64_t rep) {
  wp2_slot *s = slot_of(cx, rep);
  if (!s)
    return;
  wp2_obj *o = wp2_take(cx, rep, s->obj->kind);
  o->free_fn(cx, o);
}

void wp2_dtor(zh_wasip2_ctx *cx, uint64_t rep) { wp2_remove(cx, rep); }
void zh_wasip2_drop(zh_wasip2_ctx *cx, uint64_t rep) { wp2_remove(cx, rep); }

zh_error *wp2_arg(zh_wasip2_ctx *cx, const zh_val *v, wp2_kind kind, const char *what,
                  wp2_obj **out) {
  *out = NULL;
  if (v->kind != ZH_WIT_OWN && v->kind != ZH_WIT_BORROW)
    return zh_error_new(ZH_ERR_TRAP, "wasip2: %s: expected a resource handle", what);
  wp2_obj *o = wp2_get(cx, v->of.res.rep, kind);
  if (!o)
    return zh_error_new(ZH_ERR_TRAP, "wasip2: %s: resource is gone or of another type", what);
  *out = o;
  return NULL;
}

/* ---- values ---- */

void *wp2_obj_zalloc(zh_wasip2_ctx *cx, size_t n) {
  size_t at = cx->arena_used, size = (n + 15) & ~(size_t)15;
  if (size > sizeof cx->arena - at)
    return wp2_zalloc(n);
  cx->arena_used = (uint32_t)(at + size);
  return memset(cx->arena + at, 0, n);
}

void wp2_obj_free(zh_wasip2_ctx *cx, void *p) {
  uintptr_t a = (uintptr_t)p, lo = (uintptr_t)cx->arena;
  if (a < lo || a >= lo + sizeof cx->arena)
    free(p);
}

zh_error *wp2_ok(zh_val *out, zh_val *payload) { return zh_val_ok(out, payload); }

zh_error *wp2_ok_own(zh_wasip2_ctx *cx, zh_val *out, uint64_t rep) {
  zh_val own = zh_val_own(rep);
  zh_val *slot = cx->ret_slot;
  if (!slot)
    return zh_val_ok(out, &own);
  cx->ret_slot = NULL; /* one payload per call */
  *slot = own;
  memset(out, 0, sizeof *out);
  out->kind = ZH_WIT_RESULT;
  out->of.var.disc = 0;
  out->of.var.payload = slot;
  return NULL;
}
zh_error *wp2_err(zh_val *out, zh_val *payload) { return zh_val_err(out, payload); }

zh_error *wp2_err_enum(zh_val *out, uint32_t e) {
  zh_val v = zh_val_enum(e);
  return zh_val_err(out, &v);
}

zh_error *wp2_bytes(zh_val *out, const void *data, size_t len) {
  return zh_val_list_raw(out, ZH_WIT_U8, data, len);
}

zh_error *wp2_some(zh_val *out, zh_val *payload) { return zh_val_some(out, payload); }

zh_error *wp2_string_opt(zh_val *out, const char *s) {
  if (!s) {
    *out = zh_val_none();
    return NULL;
  }
  zh_val str;
  zh_error *err = zh_val_string_cstr(&str, s);
  return err ? err : zh_val_some(out, &str);
}

zh_error *wp2_tuple2(zh_val *out, zh_val *a, zh_val *b) {
  zh_error *err = zh_val_tuple(out, 2);
  if (err) {
    zh_val_drop(a);
    zh_val_drop(b);
    return err;
  }
  zh_val_fields(out)[0] = *a;
  zh_val_fields(out)[1] = *b;
  *a = zh_val_bool(false);
  *b = zh_val_bool(false);
  return NULL;
}

/* ---- the context ---- */

/* The configuration's string lists (argv, env and the allow lists) copied into one block,
 * cx->strings: a context is made and freed per request, and a calloc plus a strdup per
 * string were most of that. Out of memory leaves every list NULL. */
static bool copy_lists(zh_wasip2_ctx *cx, const zh_wasip2_config *c) {
  struct {
    char ***dst;
    const char *const *src;
    size_t n;
  } lists[] = {{&cx->argv, c->argv, c->argc},
               {&cx->env, c->env, c->envc},
               {&cx->net_allow, c->net_allow, c->nnet_allow},
               {&cx->http_allow, c->http_allow, c->nhttp_allow}};
  size_t ptrs = 0, bytes = 0;
  for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
    for (size_t i = 0; i < lists[l].n; i++) {
      const char *str = lists[l].src[i];
      bytes += strlen(str ? str : "") + 1;
      ptrs++;
    }
  if (!ptrs)
    return true;
  char **p = malloc(ptrs * sizeof *p + bytes);
  if (!p)
    return false;
  cx->strings = p;
  char *text = (char *)(p + ptrs);
  for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
    if (!lists[l].n)
      continue;
    *lists[l].dst = p;
    for (size_t i = 0; i < lists[l].n; i++) {
      const char *str = lists[l].src[i] ? lists[l].src[i] : "";
      size_t len = strlen(str) + 1;
      memcpy(text, str, len);
      *p++ = text;
      text += len;
    }
  }
  return true;
}

static zh_error *open_preopens(zh_wasip2_ctx *cx, const zh_wasip2_config *c) {
  if (!c->npreopens)
    return NULL;
  cx->preopens = calloc(c->npreopens, sizeof *cx->preopens);
  if (!cx->preopens)
    return wp2_oom();
  for (size_t i = 0; i < c->npreopens; i++) {
    const zh_wasi_preopen *p = &c->preopens[i];
    int fd = p->host_path ? open(p->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                          : fcntl(p->host_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
      return zh_error_new(ZH_ERR_IO, "wasip2: preopen \"%s\": %s",
                          p->host_path ? p->host_path : "fd", strerror(errno));
    cx->preopens[cx->npreopens].host_fd = fd;
    cx->preopens[cx->npreopens].read_only = p->read_only;
    cx->preopens[cx->npreopens].host_path = NULL;
    char *g = strdup(p->guest_path ? p->guest_path : ".");
    cx->preopens[cx->npreopens++].guest_path = g;
    if (!g)
      return wp2_oom();
  }
  return NULL;
}

zh_wasip2_ctx *zh_wasip2_new(const zh_wasip2_config *config, zh_error **err) {
  *err = NULL;
  static const zh_wasip2_config none;
  const zh_wasip2_config *c = config ? config : &none;
  zh_wasip2_ctx *cx = malloc(sizeof *cx);
  if (cx) /* all but the arena, which is cleared as it is handed out */
    memset(cx, 0, offsetof(zh_wasip2_ctx, arena));
  if (!cx) {
    *err = wp2_oom();
    return NULL;
  }
  bool ok = copy_lists(cx, c);
  if (ok) {
    cx->argc = c->argc;
    cx->envc = c->envc;
    cx->nnet_allow = c->nnet_allow;
    cx->nhttp_allow = c->nhttp_allow;
  }
  cx->http_allowed = c->http_allowed;
  cx->http_allowed_env = c->http_allowed_env;
  cx->dispatch = c->dispatch;
  cx->log = c->log;
  cx->log_env = c->log_env;
  cx->http_done = c->http_done;
  cx->capture_limit = c->capture_limit;
  memcpy(cx->stdio, c->stdio, sizeof cx->stdio);
  for (int i = 0; i < 3; i++)
    cx->stdio[i].data = NULL;
  if (!ok || (c->initial_cwd && !(cx->cwd = strdup(c->initial_cwd))))
    *err = wp2_oom();
  if (!*err && c->stdio[0].kind == ZH_WASI_STDIO_BUFFER && c->stdio[0].len) {
    if (!(cx->stdin_data = malloc(c->stdio[0].len)))
      *err = wp2_oom();
    else
      memcpy(cx->stdin_data, c->stdio[0].data, c->stdio[0].len);
    cx->stdin_len = c->stdio[0].len;
  }
  if (!*err)
    *err = open_preopens(cx, c);
  if (*err) {
    zh_wasip2_free(cx);
    return NULL;
  }
  return cx;
}

void zh_wasip2_free(zh_wasip2_ctx *cx) {
  if (!cx)
    return;
  /* Children before parents does not matter: objects refer to each other by rep only. */
  for (uint32_t i = 0; i < cx->nslots; i++)
    if (cx->slots[i].obj)
      wp2_remove(cx, ((uint64_t)cx->slots[i].gen << 32) | (i + 1));
  wp2_curl_free(cx);
  if (cx->slots != cx->few_slots)
    free(cx->slots);
  free(cx->strings);
  free(cx->cwd);
  free(cx->read_buf);
  free(cx->stdin_data);
  for (int i = 0; i < 3; i++)
    wp2_buf_free(&cx->captured[i]);
  for (size_t i = 0; i < cx->npreopens; i++) {
    close(cx->preopens[i].host_fd);
    free((char *)cx->preopens[i].guest_path);
  }
  free(cx->preopens);
  wp2_bindings_free(cx);
  free(cx);
}

void zh_wasip2_set_store(zh_wasip2_ctx *cx, zh_store *store) { cx->store = store; }

void zh_wasip2_set_user(zh_wasip2_ctx *cx, void *user) { cx->user = user; }

void *zh_wasip2_user(const zh_wasip2_ctx *cx) { return cx->user; }

static const char *captured(const zh_wasip2_ctx *cx, int slot, size_t *len) {
  *len = cx->captured[slot].len;
  return cx->captured[slot].data ? (const char *)cx->captured[slot].data : "";
}

const char *zh_wasip2_stdout_captured(const zh_wasip2_ctx *cx, size_t *len) {
  return captured(cx, 1, len);
}

const char *zh_wasip2_stderr_captured(const zh_wasip2_ctx *cx, size_t *len) {
  return captured(cx, 2, len);
}

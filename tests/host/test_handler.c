/* The app host's handler recognition (src/host/handler_kind.c) on components built by the
 * real toolchains, and the older Spin SDKs' fermyon:spin/inbound-http called end to end
 * (src/host/inbound_http.c): a request record in, the guest's response record out. */
#include "host/handler_kind.h"
#include "host/inbound_http.h"
#include "testlib.h"
#include "testutil.h"
#include "zerohop/cm.h"
#include "zerohop/wasip2.h"

#define COMP "build/components/"

static zh_engine *engine;

static zh_cm_component *load(const char *name) {
  uint8_t *bytes;
  size_t len;
  zh_cm_component *comp = NULL;
  if (!zh_test_read_file(name, &bytes, &len)) {
    fprintf(stderr, "cannot read %s (run make components)\n", name);
    return NULL;
  }
  zh_error *err = zh_cm_component_new(engine, bytes, len, name, &comp);
  if (err) {
    fprintf(stderr, "%s\n", zh_error_message(err));
    zh_error_free(err);
  }
  free(bytes);
  return comp;
}

/* Recognises `name`'s handler; on failure returns the error message (malloc'd) in *msg. */
static bool find(const char *name, bool wagi, zh_host_handler *h, char **msg) {
  zh_cm_component *comp = load(name);
  *msg = NULL;
  if (!comp)
    return false;
  zh_error *err = zh_host_handler_find(comp, wagi, "component `x`", h);
  bool ok = err == NULL;
  if (err) {
    *msg = strdup(zh_error_message(err));
    zh_error_free(err);
  }
  /* h's strings point into the component: copy them out before freeing it */
  if (ok) {
    h->iface = h->iface ? strdup(h->iface) : NULL;
    h->func = h->func ? strdup(h->func) : NULL;
  }
  zh_cm_component_free(comp);
  return ok;
}

static void check_kind(const char *name, bool wagi, zh_host_handler_kind kind, const char *iface,
                       const char *func) {
  zh_host_handler h;
  char *msg;
  bool ok = find(name, wagi, &h, &msg);
  CHECK(ok);
  if (!ok) {
    fprintf(stderr, "  %s: %s\n", name, msg ? msg : "?");
    free(msg);
    return;
  }
  CHECK_EQ_INT(h.kind, kind);
  CHECK(h.iface && strcmp(h.iface, iface) == 0);
  if (!h.iface || strcmp(h.iface, iface) != 0)
    fprintf(stderr, "  %s: %s, expected %s\n", name, h.iface ? h.iface : "NULL", iface);
  CHECK(h.func && strcmp(h.func, func) == 0);
  free((char *)h.iface);
  free((char *)h.func);
}

static void check_refused(const char *name, bool wagi, const char *const *parts) {
  zh_host_handler h;
  char *msg;
  CHECK(!find(name, wagi, &h, &msg));
  CHECK(msg != NULL);
  for (size_t i = 0; msg && parts[i]; i++) {
    bool has = strstr(msg, parts[i]) != NULL;
    CHECK(has);
    if (!has)
      fprintf(stderr, "  `%s` not in: %s\n", parts[i], msg);
  }
  free(msg);
}

static void test_kinds(void) {
  check_kind(COMP "c-http-hello.wasm", false, ZH_HOST_HANDLER_WASI_HTTP,
             "wasi:http/incoming-handler@0.2.12", "handle");
  check_kind(COMP "js-hello.wasm", false, ZH_HOST_HANDLER_WASI_HTTP,
             "wasi:http/incoming-handler@0.2.10", "handle");
  check_kind(COMP "spin-hello.wasm", false, ZH_HOST_HANDLER_WASI_HTTP,
             "wasi:http/incoming-handler@0.2.3", "handle");
  check_kind(COMP "host/spin_v1.wasm", false, ZH_HOST_HANDLER_SPIN_HTTP,
             "fermyon:spin/inbound-http", "handle-request");
  check_kind(COMP "c-args.wasm", false, ZH_HOST_HANDLER_WAGI_COMPONENT, "wasi:cli/run@0.2.12",
             "run");
  check_kind(COMP "c-args.wasm", true, ZH_HOST_HANDLER_WAGI_COMPONENT, "wasi:cli/run@0.2.12",
             "run");

  zh_host_handler h;
  CHECK(zh_host_handler_find(NULL, false, "module", &h) == NULL);
  CHECK_EQ_INT(h.kind, ZH_HOST_HANDLER_WAGI_MODULE);

  static const char *const none[] = {"component `x`", "exports no HTTP handler",
                                     "zerohop:test-no-handler/greeter",
                                     "wasi:http/incoming-handler@0.2.x", NULL};
  check_refused(COMP "host/no_handler.wasm", false, none);
  static const char *const not_wagi[] = {"component `x`", "wagi executor",
                                         "wasi:http/incoming-handler@0.2.12", NULL};
  check_refused(COMP "c-http-hello.wasm", true, not_wagi);
}

/* ---- inbound-http end to end ---- */

typedef struct spin_call {
  zh_store *store;
  zh_wasip2_ctx *cx;
  zh_cm_instance *inst;
  zh_cm_func *fn;
} spin_call;

static bool spin_open(zh_cm_component *comp, zh_cm_linker *linker, spin_call *sc) {
  memset(sc, 0, sizeof *sc);
  zh_error *err = NULL;
  sc->cx = zh_wasip2_new(NULL, &err);
  if (!err)
    err = zh_store_new(engine, &sc->store);
  if (!err) {
    zh_wasip2_set_store(sc->cx, sc->store);
    err = zh_cm_linker_instantiate(linker, comp, sc->store, sc->cx, &sc->inst);
  }
  if (err) {
    fprintf(stderr, "spin_v1: %s\n", zh_error_message(err));
    zh_error_free(err);
    return false;
  }
  sc->fn = zh_cm_instance_func(sc->inst, "fermyon:spin/inbound-http", "handle-request");
  return sc->fn != NULL;
}

static void spin_close(spin_call *sc) {
  zh_cm_instance_free(sc->inst);
  zh_wasip2_free(sc->cx);
  zh_store_free(sc->store);
}

static const char *header(const zh_host_spin_response *r, const char *name) {
  for (size_t i = 0; i < r->nheaders; i++) {
    zh_val *t = zh_val_fields((zh_val *)&r->headers[i]);
    if (strcmp(t[0].of.str.data, name) == 0)
      return t[1].of.str.data;
  }
  return NULL;
}

static bool str_is(const char *s, const char *want) { return s && strcmp(s, want) == 0; }

static void test_inbound_http(void) {
  zh_cm_component *comp = load(COMP "host/spin_v1.wasm");
  zh_cm_linker *linker = NULL;
  CHECK(comp != NULL);
  if (!comp)
    return;
  zh_error *err = zh_cm_linker_new(&linker);
  if (!err)
    err = zh_wasip2_define_linker(linker);
  CHECK(err == NULL);

  spin_call sc;
  CHECK(spin_open(comp, linker, &sc));
  if (sc.fn) {
    static const zh_wasip2_header hs[] = {
        {"host", (const uint8_t *)"localhost:3000", 14},
        {"x-echo-a", (const uint8_t *)"one", 3},
        {"x-teapot", (const uint8_t *)"", 0},
    };
    zh_val req, resp = zh_val_bool(false);
    bool method_ok = false;
    CHECK(zh_host_spin_http_request("PUT", "/api/items?id=7", hs, 3, (const uint8_t *)"payload", 7,
                                    &req, &method_ok) == NULL);
    CHECK(method_ok);
    err = zh_cm_func_call(sc.inst, sc.fn, &req, 1, &resp);
    CHECK(err == NULL);
    if (err) {
      fprintf(stderr, "handle-request: %s\n", zh_error_message(err));
      zh_error_free(err);
    } else {
      zh_host_spin_response r;
      CHECK(zh_host_spin_http_response(&resp, &r) == NULL);
      CHECK_EQ_INT(r.status, 418);
      CHECK(str_is(header(&r, "x-method"), "2")); /* put is case 2 */
      CHECK(str_is(header(&r, "x-uri"), "/api/items?id=7"));
      CHECK(str_is(header(&r, "x-params"), "0"));
      CHECK(str_is(header(&r, "x-headers"), "3"));
      CHECK(str_is(header(&r, "x-echo-a"), "one"));
      CHECK(r.body && r.body_len == 12 && memcmp(r.body, "echo:payload", 12) == 0);
    }
    zh_val_drop(&req);
    zh_val_drop(&resp);
  }
  spin_close(&sc);

  /* An empty body is still present; a guest without a body gives none; a status out of
   * range is refused with its value. One instance per request, as the host does. */
  static const struct {
    const char *header, *value;
    int status; /* 0: refused */
    bool body;
  } cases[] = {{"x-plain", "", 200, true},
               {"x-no-body", "", 200, false},
               {"x-status", "99", 0, true},
               {"x-status", "601", 0, true},
               {"x-status", "600", 600, true}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    if (!spin_open(comp, linker, &sc)) {
      CHECK(false);
      spin_close(&sc);
      continue;
    }
    zh_wasip2_header h = {cases[i].header, (const uint8_t *)cases[i].value, strlen(cases[i].value)};
    zh_val req, resp = zh_val_bool(false);
    bool method_ok;
    CHECK(zh_host_spin_http_request("GET", "/", &h, 1, NULL, 0, &req, &method_ok) == NULL);
    err = zh_cm_func_call(sc.inst, sc.fn, &req, 1, &resp);
    CHECK(err == NULL);
    zh_error_free(err);
    zh_host_spin_response r;
    zh_error *rerr = zh_host_spin_http_response(&resp, &r);
    if (cases[i].status == 0) {
      CHECK(rerr != NULL && strstr(zh_error_message(rerr), cases[i].value) != NULL);
    } else {
      CHECK(rerr == NULL);
      CHECK_EQ_INT(r.status, cases[i].status);
      CHECK(cases[i].body ? r.body_len == 5 && memcmp(r.body, "echo:", 5) == 0 : r.body == NULL);
    }
    zh_error_free(rerr);
    zh_val_drop(&req);
    zh_val_drop(&resp);
    spin_close(&sc);
  }

  /* Methods the interface has no case for answer 405: nothing is built. */
  zh_val req;
  bool method_ok = true;
  CHECK(zh_host_spin_http_request("TRACE", "/", NULL, 0, NULL, 0, &req, &method_ok) == NULL);
  CHECK(!method_ok);
  static const char *const ok_methods[] = {"GET",   "POST", "PUT",    "DELETE",
                                           "PATCH", "HEAD", "OPTIONS"};
  for (size_t i = 0; i < 7; i++) {
    CHECK(zh_host_spin_http_request(ok_methods[i], "/", NULL, 0, NULL, 0, &req, &method_ok) ==
          NULL);
    CHECK(method_ok && zh_val_fields(&req)[0].of.u == i);
    zh_val_drop(&req);
  }
  zh_cm_linker_free(linker);
  zh_cm_component_free(comp);
}

int main(void) {
  zh_error *err = zh_engine_new(NULL, &engine);
  if (err) {
    fprintf(stderr, "%s\n", zh_error_message(err));
    return 1;
  }
  test_kinds();
  test_inbound_http();
  zh_engine_free(engine);
  TEST_SUMMARY();
}

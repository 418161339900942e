/* Variables for the app host (src/host/variables.c, wasi_config.c): names, Spin's templates,
 * the providers and their precedence, required and secret variables, and the two guest
 * interfaces driven through real components: vars-c (C, `zerohop bindgen c` + jco) and
 * vars-js (componentize-js), both built by mk/sqlvars.mk. */
#include "host/host_instance.h"
#include "host/variables.h"
#include "host/wasi_config.h"
#include "testlib.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define VARS_C "build/components/sqlvars/vars-c.wasm"
#define VARS_JS "build/components/sqlvars/vars-js.wasm"

/* ---- log capture ---- */

typedef struct log_sink {
  char text[8192];
  size_t len;
  int lines;
} log_sink;

static void sink_line(void *env, const char *line) {
  log_sink *s = env;
  int n = snprintf(s->text + s->len, sizeof s->text - s->len, "%s\n", line);
  if (n > 0 && s->len + (size_t)n < sizeof s->text)
    s->len += (size_t)n;
  s->lines++;
}

/* ---- names and templates ---- */

static void test_names(void) {
  const char *good[] = {"a", "abc", "a1b2c3", "a_1", "a_1_b_3"};
  const char *bad[] = {"", "aX", "1bc", "_x", "x.y", "x_", "a__b", "x-y"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    zh_error *err = zh_host_vars_check_name(good[i]);
    CHECK(err == NULL);
    zh_error_free(err);
  }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    zh_error *err = zh_host_vars_check_name(bad[i]);
    CHECK(err != NULL && zh_error_status(err) == ZH_ERR_INVALID);
    if (err) {
      char want[64];
      snprintf(want, sizeof want, "\"%s\"", bad[i]);
      CHECK(strstr(zh_error_message(err), want) != NULL);
    }
    zh_error_free(err);
  }
}

static const char *fixed_lookup(void *env, const char *name, size_t len) {
  (void)env;
  if (len == 3 && memcmp(name, "who", 3) == 0)
    return "world";
  if (len == 4 && memcmp(name, "port", 4) == 0)
    return "8080";
  if (len == 5 && memcmp(name, "empty", 5) == 0)
    return "";
  return NULL;
}

static void expect_render(const char *tmpl, const char *want) {
  char *out = NULL;
  zh_error *err = zh_host_vars_render(tmpl, fixed_lookup, NULL, &out);
  CHECK(err == NULL);
  CHECK(out && strcmp(out, want) == 0);
  if (out && strcmp(out, want) != 0)
    fprintf(stderr, "  render \"%s\" gave \"%s\", expected \"%s\"\n", tmpl, out, want);
  zh_error_free(err);
  free(out);
}

static void expect_render_error(const char *tmpl, const char *want) {
  char *out = NULL;
  zh_error *err = zh_host_vars_render(tmpl, fixed_lookup, NULL, &out);
  CHECK(err != NULL && out == NULL);
  if (err) {
    CHECK(strstr(zh_error_message(err), want) != NULL);
    if (!strstr(zh_error_message(err), want))
      fprintf(stderr, "  render \"%s\": %s\n", tmpl, zh_error_message(err));
  }
  zh_error_free(err);
}

static void test_templates(void) {
  expect_render("", "");
  expect_render("plain", "plain");
  expect_render("hello {{ who }}!", "hello world!");
  expect_render("{{who}}{{ port }}", "world8080");
  expect_render("http://h:{{\tport\n}}/x", "http://h:8080/x");
  expect_render("a{{ empty }}b", "ab");
  expect_render("only }} closes", "only }} closes");
  expect_render("{ {who} }", "{ {who} }");
  expect_render_error("x {{ who }} {{ port", "unmatched '{{' at byte 12");
  expect_render_error("a {{ nobody }}", "unknown variable \"nobody\" at byte 2");
  expect_render_error("{{}}", "unknown variable \"\" at byte 0");
}

/* ---- resolving ---- */

static const zh_host_var_decl decls[] = {
    {"greeting", "hi", false, false},
    {"who", NULL, true, false},
    {"token", NULL, true, true},
    {"port", "3000", false, false},
};

/* Resolves `decls` with `env` and `cli`, and one component using them. */
static zh_error *resolve(const char *const *env, size_t nenv, const zh_host_var_pair *cli,
                         size_t ncli, log_sink *sink, zh_host_vars **out) {
  static const zh_host_var_pair comp_vars[] = {
      {"message", "{{ greeting }}, {{ who }}!"},
      {"api_token", "{{token}}"},
      {"url", "http://localhost:{{ port }}/"},
      {"literal", "no templates here"},
  };
  zh_host_vars_component comp = {"web", comp_vars, 4};
  zh_host_vars_config cfg = {.vars = decls,
                             .nvars = 4,
                             .components = &comp,
                             .ncomponents = 1,
                             .cli = cli,
                             .ncli = ncli,
                             .env = env,
                             .nenv = nenv,
                             .log = sink_line,
                             .log_env = sink};
  return zh_host_vars_new(&cfg, out);
}

static void test_precedence(void) {
  log_sink sink = {0};
  const char *env_all[] = {"PATH=/bin", "SPIN_VARIABLE_WHO=spin-env", "ZEROHOP_VARIABLE_WHO=zh-env",
                           "SPIN_VARIABLE_TOKEN=t0k", "SPIN_VARIABLE_GREETING=env-greeting"};
  zh_host_var_pair cli[] = {{"who", "cli-first"}, {"who", "cli-last"}};
  zh_host_vars *v = NULL;

  /* --variable beats the environment; the last assignment wins */
  zh_error *err = resolve(env_all, 5, cli, 2, &sink, &v);
  CHECK(err == NULL);
  if (v) {
    CHECK(strcmp(zh_host_vars_value(v, "who"), "cli-last") == 0);
    CHECK(strcmp(zh_host_vars_value(v, "greeting"), "env-greeting") == 0); /* env beats default */
    CHECK(strcmp(zh_host_vars_value(v, "port"), "3000") == 0);             /* the default */
    CHECK(zh_host_vars_value(v, "nope") == NULL);
    struct zh_host_vars_inst *web = zh_host_vars_inst(v, "web");
    CHECK(strcmp(zh_host_vars_inst_get(web, "message"), "env-greeting, cli-last!") == 0);
    CHECK(strcmp(zh_host_vars_inst_get(web, "url"), "http://localhost:3000/") == 0);
    CHECK(strcmp(zh_host_vars_inst_get(web, "literal"), "no templates here") == 0);
    CHECK(zh_host_vars_inst_get(web, "who") == NULL); /* app variables are not component ones */
    CHECK(zh_host_vars_inst_count(zh_host_vars_inst(v, "other")) == 0);
  }
  zh_host_vars_free(v);
  zh_error_free(err);

  /* ZEROHOP_VARIABLE_ beats SPIN_VARIABLE_ */
  err = resolve(env_all, 5, NULL, 0, &sink, &v);
  CHECK(err == NULL && v && strcmp(zh_host_vars_value(v, "who"), "zh-env") == 0);
  zh_host_vars_free(v);
  zh_error_free(err);

  /* SPIN_VARIABLE_ alone; names are upper-cased, values are not */
  const char *env_spin[] = {"SPIN_VARIABLE_WHO=Spin Env", "SPIN_VARIABLE_TOKEN=x",
                            "spin_variable_port=9", "SPIN_VARIABLE_PORTX=9"};
  err = resolve(env_spin, 4, NULL, 0, &sink, &v);
  CHECK(err == NULL && v);
  if (v) {
    CHECK(strcmp(zh_host_vars_value(v, "who"), "Spin Env") == 0);
    CHECK(strcmp(zh_host_vars_value(v, "port"), "3000") == 0);
  }
  zh_host_vars_free(v);
  zh_error_free(err);

  /* the process's own environment when none is given */
  setenv("SPIN_VARIABLE_WHO", "from-process", 1);
  setenv("ZEROHOP_VARIABLE_TOKEN", "process-token", 1);
  err = resolve(NULL, 0, NULL, 0, &sink, &v);
  CHECK(err == NULL && v);
  if (v) {
    CHECK(strcmp(zh_host_vars_value(v, "who"), "from-process") == 0);
    CHECK(strcmp(zh_host_vars_value(v, "token"), "process-token") == 0);
  }
  zh_host_vars_free(v);
  zh_error_free(err);
  unsetenv("SPIN_VARIABLE_WHO");
  unsetenv("ZEROHOP_VARIABLE_TOKEN");

  /* a --variable for a name the app lacks is a warning, not an error */
  zh_host_var_pair stray[] = {{"who", "w"}, {"token", "t"}, {"stray", "s"}};
  log_sink warn = {0};
  err = resolve(NULL, 0, stray, 3, &warn, &v);
  CHECK(err == NULL && v);
  CHECK(strstr(warn.text, "--variable stray") != NULL);
  zh_host_vars_free(v);
  zh_error_free(err);
}

/* The runtime config's providers come after --variable and the default environment, in
 * their own order, before the defaults. */
static void test_runtime_providers(void) {
  char dot[] = "/tmp/zh-dotenv-XXXXXX";
  int fd = mkstemp(dot);
  CHECK(fd >= 0);
  if (fd < 0)
    return;
  const char *text =
      "# app secrets\n\nMYAPP_GREETING='dot greeting'\nexport MYAPP_TOKEN=\"dottok\"\n"
      "MYAPP_PORT=from-dotenv\n";
  CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
  close(fd);
  zh_host_var_pair statics[] = {{"who", "static-who"}, {"port", "1"}, {"token", "static-tok"}};
  zh_host_vars_provider ps[] = {
      {.kind = ZH_HOST_VARS_ENV, .prefix = "MYAPP", .dotenv_path = dot},
      {.kind = ZH_HOST_VARS_STATIC, .values = statics, .nvalues = 3},
  };
  const char *env[] = {"MYAPP_PORT=7"};
  log_sink sink = {0};
  zh_host_vars_config cfg = {.vars = decls,
                             .nvars = 4,
                             .providers = ps,
                             .nproviders = 2,
                             .env = env,
                             .nenv = 1,
                             .log = sink_line,
                             .log_env = &sink};
  zh_host_vars *v = NULL;
  zh_error *err = zh_host_vars_new(&cfg, &v);
  CHECK(err == NULL && v);
  if (v) {
    CHECK(strcmp(zh_host_vars_value(v, "port"), "7") == 0); /* environment before dotenv */
    CHECK(strcmp(zh_host_vars_value(v, "greeting"), "dot greeting") == 0);
    CHECK(strcmp(zh_host_vars_value(v, "token"), "dottok") == 0); /* env provider first */
    CHECK(strcmp(zh_host_vars_value(v, "who"), "static-who") == 0);
    zh_host_vars_log_summary(v);
    CHECK(strstr(sink.text, "variable port = \"7\" (environment MYAPP_PORT)") != NULL);
    CHECK(strstr(sink.text, "variable greeting = \"dot greeting\" (dotenv MYAPP_GREETING)"));
    CHECK(strstr(sink.text, "variable who = \"static-who\" (runtime config, static provider)"));
    CHECK(strstr(sink.text, "dottok") == NULL); /* token is secret */
  }
  zh_host_vars_free(v);
  zh_error_free(err);

  /* the default environment and --variable still come first */
  const char *env2[] = {"SPIN_VARIABLE_WHO=spin-who", "MYAPP_WHO=myapp-who"};
  zh_host_var_pair cli[] = {{"token", "cli-tok"}};
  cfg.env = env2, cfg.nenv = 2, cfg.cli = cli, cfg.ncli = 1;
  err = zh_host_vars_new(&cfg, &v);
  CHECK(err == NULL && v);
  if (v) {
    CHECK(strcmp(zh_host_vars_value(v, "who"), "spin-who") == 0);
    CHECK(strcmp(zh_host_vars_value(v, "token"), "cli-tok") == 0);
    CHECK(strcmp(zh_host_vars_value(v, "port"), "from-dotenv") == 0);
  }
  zh_host_vars_free(v);
  zh_error_free(err);

  /* a dotenv line without `=` names the file and line; a missing file names the file */
  FILE *f = fopen(dot, "w");
  if (f) {
    fputs("A=1\nnot a pair\n", f);
    fclose(f);
  }
  err = zh_host_vars_new(&cfg, &v);
  CHECK(err != NULL && strstr(zh_error_message(err), dot) &&
        strstr(zh_error_message(err), "line 2"));
  zh_error_free(err);
  unlink(dot);
  err = zh_host_vars_new(&cfg, &v);
  CHECK(err != NULL && zh_error_status(err) == ZH_ERR_IO && strstr(zh_error_message(err), dot));
  zh_error_free(err);
}

static void test_required_and_errors(void) {
  log_sink sink = {0};
  zh_host_vars *v = (zh_host_vars *)&sink; /* must be reset to NULL on failure */
  /* one missing: named, with how to set it */
  const char *env1[] = {"SPIN_VARIABLE_TOKEN=hunter2-secret"};
  zh_error *err = resolve(env1, 1, NULL, 0, &sink, &v);
  CHECK(err != NULL && v == NULL);
  if (err) {
    const char *m = zh_error_message(err);
    CHECK(zh_error_status(err) == ZH_ERR_INVALID);
    CHECK(strstr(m, "required variable \"who\" has no value") != NULL);
    CHECK(strstr(m, "--variable who=VALUE") != NULL && strstr(m, "SPIN_VARIABLE_WHO") != NULL);
    CHECK(strstr(m, "hunter2-secret") == NULL);
  }
  zh_error_free(err);
  /* two missing: both named in one message */
  err = resolve(NULL, 0, NULL, 0, &sink, &v);
  CHECK(err != NULL && strstr(zh_error_message(err), "\"who\", \"token\" have no value") != NULL);
  zh_error_free(err);

  /* default and required together, or neither */
  zh_host_var_decl both = {"x", "d", true, false}, neither = {"y", NULL, false, false};
  zh_host_vars_config c1 = {.vars = &both, .nvars = 1}, c2 = {.vars = &neither, .nvars = 1};
  err = zh_host_vars_new(&c1, &v);
  CHECK(err != NULL && strstr(zh_error_message(err), "variable \"x\"") != NULL);
  zh_error_free(err);
  err = zh_host_vars_new(&c2, &v);
  CHECK(err != NULL && strstr(zh_error_message(err), "variable \"y\"") != NULL);
  zh_error_free(err);

  /* a bad app variable name; a bad component variable name; a template naming an unknown
   * variable: each names the component and the variable */
  zh_host_var_decl bad = {"Bad", "d", false, false};
  zh_host_vars_config c3 = {.vars = &bad, .nvars = 1};
  err = zh_host_vars_new(&c3, &v);
  CHECK(err != NULL && strstr(zh_error_message(err), "invalid variable name \"Bad\"") != NULL);
  zh_error_free(err);
  zh_host_var_decl secret = {"key", "s3cr3t-default", false, true};
  zh_host_var_pair cv[] = {{"ok", "{{ key }}"}, {"Upper", "x"}};
  zh_host_vars_component comp = {"api", cv, 2};
  zh_host_vars_config c4 = {.vars = &secret, .nvars = 1, .components = &comp, .ncomponents = 1};
  err = zh_host_vars_new(&c4, &v);
  CHECK(err != NULL);
  if (err) {
    CHECK(strstr(zh_error_message(err), "component \"api\": variable \"Upper\"") != NULL);
    CHECK(strstr(zh_error_message(err), "s3cr3t-default") == NULL);
  }
  zh_error_free(err);
  zh_host_var_pair cv2[] = {{"ok", "{{ key }}"}, {"later", "{{ key }}/{{ missing }}"}};
  comp.vars = cv2;
  err = zh_host_vars_new(&c4, &v);
  CHECK(err != NULL);
  if (err) {
    const char *m = zh_error_message(err);
    CHECK(strstr(m, "component \"api\": variable \"later\"") != NULL);
    CHECK(strstr(m, "unknown variable \"missing\"") != NULL);
    CHECK(strstr(m, "s3cr3t-default") == NULL);
  }
  zh_error_free(err);
}

/* A secret's value appears in no log line and no message; other values do in the summary. */
static void test_secret_never_printed(void) {
  log_sink sink = {0};
  const char *env[] = {"SPIN_VARIABLE_WHO=visible-who", "ZEROHOP_VARIABLE_TOKEN=TOPSECRET-42"};
  zh_host_var_pair cli[] = {{"stray", "x"}};
  zh_host_vars *v = NULL;
  zh_error *err = resolve(env, 2, cli, 1, &sink, &v);
  CHECK(err == NULL && v);
  if (!v) {
    zh_error_free(err);
    return;
  }
  zh_host_vars_log_summary(v);
  CHECK(sink.lines == 5); /* the stray warning and four variables */
  CHECK(strstr(sink.text, "TOPSECRET-42") == NULL);
  CHECK(strstr(sink.text, "variable token = <secret> (environment ZEROHOP_VARIABLE_TOKEN)") !=
        NULL);
  CHECK(strstr(sink.text, "variable who = \"visible-who\" (environment SPIN_VARIABLE_WHO)") !=
        NULL);
  CHECK(strstr(sink.text, "variable port = \"3000\" (default)") != NULL);
  /* the guest still gets the secret: that is what it is for */
  CHECK(strcmp(zh_host_vars_inst_get(zh_host_vars_inst(v, "web"), "api_token"), "TOPSECRET-42") ==
        0);
  /* a template error after the secret resolved does not show it either */
  char *out = NULL;
  zh_error *e2 = zh_host_vars_render_app(v, "{{ token }}{{ token", &out);
  CHECK(e2 != NULL && strstr(zh_error_message(e2), "TOPSECRET-42") == NULL);
  zh_error_free(e2);
  e2 = zh_host_vars_render_app(v, "Bearer {{ token }}", &out);
  CHECK(e2 == NULL && out && strcmp(out, "Bearer TOPSECRET-42") == 0);
  free(out);
  zh_error_free(e2);
  zh_host_vars_free(v);
  zh_error_free(err);
}

static void test_parse_assignment(void) {
  char *k = NULL, *val = NULL;
  zh_error *err = zh_host_vars_parse_assignment("who=a=b c", &k, &val);
  CHECK(err == NULL && k && val && strcmp(k, "who") == 0 && strcmp(val, "a=b c") == 0);
  free(k), free(val);
  err = zh_host_vars_parse_assignment("empty=", &k, &val);
  CHECK(err == NULL && strcmp(k, "empty") == 0 && strcmp(val, "") == 0);
  free(k), free(val);
  err = zh_host_vars_parse_assignment("token:hunter2", &k, &val);
  CHECK(err != NULL && zh_error_status(err) == ZH_ERR_USAGE && k == NULL && val == NULL);
  CHECK(err && strstr(zh_error_message(err), "hunter2") == NULL); /* a typo may hold a secret */
  zh_error_free(err);
  err = zh_host_vars_parse_assignment("=v", &k, &val);
  CHECK(err != NULL && zh_error_status(err) == ZH_ERR_USAGE);
  zh_error_free(err);

  char path[] = "/tmp/zh-vars-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd >= 0) {
    CHECK(write(fd, "file value\nline 2", 17) == 17);
    close(fd);
    char arg[64];
    snprintf(arg, sizeof arg, "token=@%s", path);
    err = zh_host_vars_parse_assignment(arg, &k, &val);
    CHECK(err == NULL && val && strcmp(val, "file value\nline 2") == 0);
    free(k), free(val);
    unlink(path);
    err = zh_host_vars_parse_assignment(arg, &k, &val);
    CHECK(err != NULL && zh_error_status(err) == ZH_ERR_IO &&
          strstr(zh_error_message(err), path) != NULL);
    zh_error_free(err);
  }
}

/* ---- the guest interfaces ---- */

/* Calls IFACE#FUNC with at most one string argument; the result is the caller's to drop. */
static bool call(zh_test_instance *t, const char *iface, const char *func, const char *arg,
                 zh_val *res) {
  zh_cm_func *f = zh_cm_instance_func(t->inst, iface, func);
  CHECK(f != NULL);
  if (!f)
    return false;
  zh_val a;
  zh_error *err = arg ? zh_val_string_cstr(&a, arg) : NULL;
  if (!err)
    err = zh_cm_func_call(t->inst, f, arg ? &a : NULL, arg ? 1 : 0, res);
  if (arg)
    zh_val_drop(&a);
  if (err)
    fprintf(stderr, "  %s#%s: %s\n", iface, func, zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);
  return err == NULL;
}

static bool is_str(const zh_val *v, const char *s) {
  return v && v->kind == ZH_WIT_STRING && v->of.str.len == strlen(s) &&
         memcmp(v->of.str.data, s, v->of.str.len) == 0;
}

/* get(name): ok(want), or err(case) whose message holds `msg`. */
static void expect_get(zh_test_instance *t, const char *name, int err_case, const char *want) {
  zh_val r;
  if (!call(t, "zerohop:vars-guest/spin-vars", "get", name, &r))
    return;
  if (err_case < 0) {
    CHECK(zh_val_case(&r) == 0 && is_str(zh_val_payload(&r), want));
  } else {
    zh_val *e = zh_val_case(&r) == 1 ? zh_val_payload(&r) : NULL;
    CHECK(e && (int)zh_val_case(e) == err_case);
    zh_val *m = e ? zh_val_payload(e) : NULL;
    CHECK(m && m->kind == ZH_WIT_STRING && strstr(m->of.str.data, want) != NULL);
    if (m && m->kind == ZH_WIT_STRING && !strstr(m->of.str.data, want))
      fprintf(stderr, "  get(%s): %s\n", name, m->of.str.data);
  }
  zh_val_drop(&r);
}

static void guest_checks(const char *path, zh_engine *engine, zh_cm_linker *linker,
                         const zh_host_vars *v) {
  zh_cm_component *comp = zh_test_load_component(engine, path);
  CHECK(comp != NULL);
  if (!comp)
    return;
  zh_host_instance hi = {.component_id = "web", .vars = zh_host_vars_inst(v, "web")};
  zh_test_instance t;
  if (zh_test_instance_start(engine, linker, comp, &hi, &t)) {
    hi.p2 = t.p2;
    /* fermyon:spin/variables get */
    expect_get(&t, "message", -1, "hello, guest!");
    expect_get(&t, "api_token", -1, "tok-123");
    expect_get(&t, "url", -1, "http://localhost:3000/");
    expect_get(&t, "who", 1, "no variable \"who\" for component \"web\""); /* app-level only */
    expect_get(&t, "nope", 1, "nope");
    expect_get(&t, "Bad", 0, "\"Bad\"");
    expect_get(&t, "a__b", 0, "two underscores");
    expect_get(&t, "", 0, "must not be empty");

    /* wasi:config/store get: some, none for undefined, io for an invalid name */
    zh_val r;
    if (call(&t, "zerohop:vars-guest/config", "get", "message", &r)) {
      zh_val *opt = zh_val_case(&r) == 0 ? zh_val_payload(&r) : NULL;
      CHECK(opt && zh_val_case(opt) == 1 && is_str(zh_val_payload(opt), "hello, guest!"));
      zh_val_drop(&r);
    }
    if (call(&t, "zerohop:vars-guest/config", "get", "nope", &r)) {
      zh_val *opt = zh_val_case(&r) == 0 ? zh_val_payload(&r) : NULL;
      CHECK(opt && zh_val_case(opt) == 0);
      zh_val_drop(&r);
    }
    if (call(&t, "zerohop:vars-guest/config", "get", "Not-Valid", &r)) {
      zh_val *e = zh_val_case(&r) == 1 ? zh_val_payload(&r) : NULL;
      CHECK(e && zh_val_case(e) == 1 && strstr(zh_val_payload(e)->of.str.data, "Not-Valid"));
      zh_val_drop(&r);
    }
    /* get-all: the component's variables in manifest order */
    if (call(&t, "zerohop:vars-guest/config", "get-all", NULL, &r)) {
      zh_val *list = zh_val_case(&r) == 0 ? zh_val_payload(&r) : NULL;
      CHECK(list && zh_val_list_len(list) == 4);
      const char *want[4][2] = {{"message", "hello, guest!"},
                                {"api_token", "tok-123"},
                                {"url", "http://localhost:3000/"},
                                {"literal", "no templates here"}};
      for (size_t i = 0; list && i < 4 && i < zh_val_list_len(list); i++) {
        zh_val *pair = zh_val_fields(&zh_val_list_items(list)[i]);
        CHECK(is_str(&pair[0], want[i][0]) && is_str(&pair[1], want[i][1]));
      }
      zh_val_drop(&r);
    }
    zh_test_instance_end(&t);
  }

  /* No host state (as while a template initialises): error values, no trap */
  if (zh_test_instance_start(engine, linker, comp, NULL, &t)) {
    expect_get(&t, "message", 3, "initialises");
    zh_val r;
    if (call(&t, "zerohop:vars-guest/config", "get-all", NULL, &r)) {
      zh_val *e = zh_val_case(&r) == 1 ? zh_val_payload(&r) : NULL;
      CHECK(e && zh_val_case(e) == 0); /* upstream */
      zh_val_drop(&r);
    }
    zh_test_instance_end(&t);
  }
  zh_cm_component_free(comp);
}

static void test_guests(void) {
  const char *env[] = {"SPIN_VARIABLE_WHO=guest", "SPIN_VARIABLE_TOKEN=tok-123",
                       "SPIN_VARIABLE_GREETING=hello"};
  log_sink sink = {0};
  zh_host_vars *v = NULL;
  zh_engine *engine = NULL;
  zh_cm_linker *linker = NULL;
  zh_error *err = resolve(env, 3, NULL, 0, &sink, &v);
  if (!err)
    err = zh_engine_new(NULL, &engine);
  if (!err)
    err = zh_cm_linker_new(&linker);
  if (!err)
    err = zh_wasip2_define_linker(linker);
  if (!err)
    err = zh_host_vars_define_linker(linker);
  if (!err)
    err = zh_host_wasi_config_define_linker(linker);
  CHECK(err == NULL);
  if (err)
    fprintf(stderr, "  setup: %s\n", zh_error_message(err));
  else {
    guest_checks(VARS_C, engine, linker, v);
    guest_checks(VARS_JS, engine, linker, v);
  }
  zh_error_free(err);
  zh_cm_linker_free(linker);
  zh_engine_free(engine);
  zh_host_vars_free(v);
}

int main(void) {
  test_names();
  test_templates();
  test_precedence();
  test_runtime_providers();
  test_required_and_errors();
  test_secret_never_printed();
  test_parse_assignment();
  test_guests();
  TEST_SUMMARY();
}

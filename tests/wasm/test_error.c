/* Error values: constructors, accessors, texts, prefixing and NULL-safety. */
#include "testlib.h"
#include "wasm/error.h"

#include <string.h>

static void test_status_texts(void) {
  const zh_status all[] = {ZH_OK,       ZH_ERR_MALFORMED,  ZH_ERR_INVALID,     ZH_ERR_UNLINKABLE,
                           ZH_ERR_TRAP, ZH_ERR_EXHAUSTION, ZH_ERR_INTERRUPTED, ZH_ERR_RESOURCE,
                           ZH_ERR_EXIT, ZH_ERR_USAGE,      ZH_ERR_IO};
  size_t n = sizeof all / sizeof all[0];
  for (size_t i = 0; i < n; i++) {
    const char *t = zh_status_text(all[i]);
    CHECK(t != NULL && t[0] != '\0');
    if (!t)
      continue;
    for (size_t j = 0; j < i; j++)
      CHECK(strcmp(t, zh_status_text(all[j])) != 0);
  }
  CHECK(strcmp(zh_status_text(ZH_OK), "ok") == 0);
  CHECK(strcmp(zh_status_text(ZH_ERR_MALFORMED), "malformed module") == 0);
  CHECK(strcmp(zh_status_text(ZH_ERR_INVALID), "invalid module") == 0);
  CHECK(strcmp(zh_status_text(ZH_ERR_EXHAUSTION), "call stack exhausted") == 0);
  CHECK(strcmp(zh_status_text((zh_status)999), "unknown status") == 0);
}

static void test_trap_texts(void) {
  static const struct {
    zh_trap_code code;
    const char *text;
    zh_status status;
  } cases[] = {
      {ZH_TRAP_UNREACHABLE, "unreachable", ZH_ERR_TRAP},
      {ZH_TRAP_MEMORY_OOB, "out of bounds memory access", ZH_ERR_TRAP},
      {ZH_TRAP_TABLE_OOB, "out of bounds table access", ZH_ERR_TRAP},
      {ZH_TRAP_INT_DIV_ZERO, "integer divide by zero", ZH_ERR_TRAP},
      {ZH_TRAP_INT_OVERFLOW, "integer overflow", ZH_ERR_TRAP},
      {ZH_TRAP_INVALID_CONVERSION, "invalid conversion to integer", ZH_ERR_TRAP},
      {ZH_TRAP_INDIRECT_NULL, "uninitialized element", ZH_ERR_TRAP},
      {ZH_TRAP_SIGNATURE_MISMATCH, "indirect call type mismatch", ZH_ERR_TRAP},
      {ZH_TRAP_UNDEFINED_ELEMENT, "undefined element", ZH_ERR_TRAP},
      {ZH_TRAP_STACK_OVERFLOW, "call stack exhausted", ZH_ERR_EXHAUSTION},
      {ZH_TRAP_INTERRUPTED, "interrupted", ZH_ERR_INTERRUPTED},
      {ZH_TRAP_HOST, "host function failed", ZH_ERR_TRAP},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    CHECK(strcmp(zh_trap_text(cases[i].code), cases[i].text) == 0);

    zh_error *e = zh_error_trap_new(cases[i].code, NULL);
    CHECK_EQ_INT(zh_error_status(e), cases[i].status);
    CHECK_EQ_INT(zh_error_trap(e), cases[i].code);
    CHECK(strcmp(zh_error_message(e), cases[i].text) == 0);
    zh_error_free(e);

    e = zh_error_trap_new(cases[i].code, "at %s+%d", "f", 12);
    char want[128];
    snprintf(want, sizeof want, "%s: at f+12", cases[i].text);
    CHECK(strcmp(zh_error_message(e), want) == 0);
    CHECK_EQ_INT(zh_error_status(e), cases[i].status);
    zh_error_free(e);

    e = zh_error_trap_new(cases[i].code, "%s", ""); /* empty detail: just the text */
    CHECK(strcmp(zh_error_message(e), cases[i].text) == 0);
    zh_error_free(e);
  }
  CHECK(strcmp(zh_trap_text(ZH_TRAP_NONE), "no trap") == 0);
  CHECK(strcmp(zh_trap_text((zh_trap_code)999), "unknown trap") == 0);
}

static void test_new(void) {
  zh_error *e = zh_error_new(ZH_ERR_INVALID, "func %u: type mismatch at offset %#x", 3u, 0x2au);
  CHECK_EQ_INT(zh_error_status(e), ZH_ERR_INVALID);
  CHECK_EQ_INT(zh_error_trap(e), ZH_TRAP_NONE);
  CHECK(strcmp(zh_error_message(e), "func 3: type mismatch at offset 0x2a") == 0);
  CHECK_EQ_INT(zh_error_exit_code(e), 0);
  zh_error_free(e);

  /* Longer than any internal stack buffer. */
  char big[5000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  e = zh_error_new(ZH_ERR_IO, "[%s]", big);
  CHECK_EQ_INT(strlen(zh_error_message(e)), sizeof big + 1);
  CHECK(zh_error_message(e)[0] == '[' && zh_error_message(e)[sizeof big] == ']');
  zh_error_free(e);

  /* Exactly at the small-buffer boundary. */
  char edge[256];
  memset(edge, 'y', 255);
  edge[255] = '\0';
  e = zh_error_new(ZH_ERR_IO, "%s", edge);
  CHECK(strcmp(zh_error_message(e), edge) == 0);
  zh_error_free(e);

  e = zh_error_new(ZH_ERR_USAGE, NULL);
  CHECK(strcmp(zh_error_message(e), "usage error") == 0);
  zh_error_free(e);

  /* Statuses that imply a trap code. */
  e = zh_error_new(ZH_ERR_TRAP, "host said no");
  CHECK_EQ_INT(zh_error_trap(e), ZH_TRAP_HOST);
  zh_error_free(e);
  e = zh_error_new(ZH_ERR_EXHAUSTION, "deep");
  CHECK_EQ_INT(zh_error_trap(e), ZH_TRAP_STACK_OVERFLOW);
  zh_error_free(e);
  e = zh_error_new(ZH_ERR_INTERRUPTED, "stop");
  CHECK_EQ_INT(zh_error_trap(e), ZH_TRAP_INTERRUPTED);
  zh_error_free(e);
}

static void test_exit(void) {
  const int codes[] = {0, 1, 3, 255, -1, 2147483647};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    zh_error *e = zh_error_exit(codes[i]);
    CHECK_EQ_INT(zh_error_status(e), ZH_ERR_EXIT);
    CHECK_EQ_INT(zh_error_exit_code(e), codes[i]);
    CHECK_EQ_INT(zh_error_trap(e), ZH_TRAP_NONE);
    char want[64];
    snprintf(want, sizeof want, "exited with code %d", codes[i]);
    CHECK(strcmp(zh_error_message(e), want) == 0);
    zh_error_free(e);
  }
}

static void test_prefix(void) {
  zh_error *e = zh_error_new(ZH_ERR_UNLINKABLE, "unknown import");
  CHECK(zh_error_prefix(e, "import %s.%s", "env", "f") == e);
  CHECK(strcmp(zh_error_message(e), "import env.f: unknown import") == 0);
  zh_error_prefix(e, "module %d:", 7); /* ends in ':' -> a space is added */
  CHECK(strcmp(zh_error_message(e), "module 7: import env.f: unknown import") == 0);
  zh_error_prefix(e, "in %s ", "a.wasm"); /* ends in ' ' -> nothing added */
  CHECK(strcmp(zh_error_message(e), "in a.wasm module 7: import env.f: unknown import") == 0);
  zh_error_prefix(e, "%s", ""); /* empty context: unchanged */
  CHECK(strcmp(zh_error_message(e), "in a.wasm module 7: import env.f: unknown import") == 0);
  CHECK(zh_error_prefix(e, NULL) == e);
  CHECK_EQ_INT(zh_error_status(e), ZH_ERR_UNLINKABLE);
  zh_error_free(e);

  /* Prefixing keeps trap code and exit code. */
  e = zh_error_trap_new(ZH_TRAP_INT_DIV_ZERO, NULL);
  zh_error_prefix(e, "func %u", 9u);
  CHECK(strcmp(zh_error_message(e), "func 9: integer divide by zero") == 0);
  CHECK_EQ_INT(zh_error_trap(e), ZH_TRAP_INT_DIV_ZERO);
  zh_error_free(e);
  e = zh_error_exit(4);
  zh_error_prefix(e, "wasi");
  CHECK_EQ_INT(zh_error_exit_code(e), 4);
  zh_error_free(e);

  CHECK(zh_error_prefix(NULL, "ctx %d", 1) == NULL);
}

static void test_null_and_oom(void) {
  CHECK_EQ_INT(zh_error_status(NULL), ZH_OK);
  CHECK_EQ_INT(zh_error_trap(NULL), ZH_TRAP_NONE);
  CHECK(zh_error_message(NULL) != NULL && zh_error_message(NULL)[0] == '\0');
  CHECK_EQ_INT(zh_error_exit_code(NULL), 0);
  zh_error_free(NULL);

  /* The preallocated error survives every operation and is never freed. */
  zh_error *oom = zh_error_oom();
  CHECK(oom != NULL && oom == zh_error_oom());
  CHECK_EQ_INT(zh_error_status(oom), ZH_ERR_RESOURCE);
  CHECK(strcmp(zh_error_message(oom), "out of memory") == 0);
  CHECK(zh_error_prefix(oom, "context") == oom);
  CHECK(strcmp(zh_error_message(oom), "out of memory") == 0);
  zh_error_free(oom);
  zh_error_free(oom);
  CHECK(strcmp(zh_error_message(zh_error_oom()), "out of memory") == 0);
}

int main(void) {
  test_status_texts();
  test_trap_texts();
  test_new();
  test_exit();
  test_prefix();
  test_null_and_oom();
  TEST_SUMMARY();
}

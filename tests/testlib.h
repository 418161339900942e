/* A minimal test harness: CHECK records a failure and continues; each test binary ends
 * with TEST_SUMMARY(), printing "N passed, M failed" and exiting non-zero on failure. */
#ifndef ZH_TESTLIB_H
#define ZH_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int zh_test_passed, zh_test_failed;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (cond) {                                                                                    \
      zh_test_passed++;                                                                            \
    } else {                                                                                       \
      zh_test_failed++;                                                                            \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                     \
    }                                                                                              \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
  do {                                                                                             \
    long long zh_a_ = (long long)(a), zh_b_ = (long long)(b);                                      \
    if (zh_a_ == zh_b_) {                                                                          \
      zh_test_passed++;                                                                            \
    } else {                                                                                       \
      zh_test_failed++;                                                                            \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, expected %s == %lld\n", __FILE__,       \
              __LINE__, #a, zh_a_, #b, zh_b_);                                                     \
    }                                                                                              \
  } while (0)

#define TEST_SUMMARY()                                                                             \
  do {                                                                                             \
    printf("%s: %d passed, %d failed\n", __FILE__, zh_test_passed, zh_test_failed);                \
    return zh_test_failed ? 1 : 0;                                                                 \
  } while (0)

#endif

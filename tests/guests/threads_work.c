/* Guest for tests/wasm/test_threads.c: pure functions that stores on several threads
 * run at once. Exports are called directly, without _start. */
#include <stdint.h>

static uint32_t table[4096];

/* A mixing loop over linear memory: its result depends on every iteration, so threads
 * that shared state by mistake would disagree with the single-threaded answer. */
__attribute__((export_name("churn"))) uint32_t churn(uint32_t seed, uint32_t rounds) {
  uint32_t h = seed;
  for (uint32_t i = 0; i < 4096; i++)
    table[i] = h = h * 1103515245u + 12345u;
  for (uint32_t r = 0; r < rounds; r++)
    for (uint32_t i = 0; i < 4096; i++) {
      h ^= table[(h >> 7) & 4095];
      table[i] = h = (h << 5 | h >> 27) + i;
    }
  return h;
}

/* Reads far past the end of memory: a guard-page trap. */
__attribute__((export_name("oob"))) uint32_t oob(uint32_t where) {
  return *(volatile uint32_t *)(uintptr_t)(0xfff00000u + where);
}

int main(void) { return (int)churn(1, 1) & 0; }

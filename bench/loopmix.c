/* List processing, small matrix kernels and a state machine mixed in one loop, as the
 * main loop of a simulation or a request handler mixes them: each iteration pops work from
 * an intrusive queue, runs a 4x4 matrix step on the item, and advances a per-item protocol
 * state machine that decides whether the item is requeued, split or retired.
 * Usage: loopmix [ROUNDS] (default 80). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define ITEMS 2048u
#define STEPS 200000u

typedef struct work {
  struct work *next;
  float m[16];
  uint32_t state, hits;
} work;

static uint32_t rng = 12345u;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

/* m = m * r, 4x4, with r a fixed rotation-like matrix scaled to stay bounded. */
static void step_matrix(float *m) {
  static const float r[16] = {0.6f, -0.8f, 0.0f, 0.0f, 0.8f, 0.6f, 0.0f, 0.0f,
                              0.0f, 0.0f,  1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f};
  float out[16];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) {
      float s = 0.0f;
      for (int k = 0; k < 4; k++)
        s += m[i * 4 + k] * r[k * 4 + j];
      out[i * 4 + j] = s;
    }
  for (int i = 0; i < 16; i++)
    m[i] = out[i];
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 80;
  work *pool = calloc(ITEMS, sizeof *pool);
  if (!pool)
    return 1;
  uint32_t sum = 0;
  for (int r = 0; r < rounds; r++) {
    work *head = NULL, *tail = NULL;
    for (uint32_t i = 0; i < ITEMS; i++) {
      work *w = &pool[i];
      for (int k = 0; k < 16; k++)
        w->m[k] = (float)((next() % 200) - 100) / 100.0f;
      w->state = next() % 5;
      w->hits = 0;
      w->next = NULL;
      if (tail)
        tail->next = w;
      else
        head = w;
      tail = w;
    }
    uint32_t retired = 0;
    for (uint32_t s = 0; s < STEPS && head; s++) {
      work *w = head; /* pop */
      head = w->next;
      if (!head)
        tail = NULL;
      w->next = NULL;
      step_matrix(w->m);
      w->hits++;
      int requeue = 1;
      switch (w->state) {
      case 0: /* handshake */
        w->state = w->m[0] > 0.0f ? 1 : 2;
        break;
      case 1: /* reading */
        w->state = (w->hits & 3) == 0 ? 3 : 1;
        break;
      case 2: /* waiting */
        w->state = w->m[5] > 0.5f || w->hits > 6 ? 1 : 2;
        break;
      case 3: /* writing */
        w->state = w->hits > 12 ? 4 : 1;
        break;
      default: /* closing */
        retired++;
        sum = sum * 31u + w->hits + (uint32_t)(int32_t)(w->m[10] * 1000.0f);
        w->state = 0; /* reused: back to the end of the queue as a new item */
        w->hits = 0;
        requeue = (retired & 7) != 0;
      }
      if (requeue) {
        if (tail)
          tail->next = w;
        else
          head = w;
        tail = w;
      }
    }
    sum += retired;
  }
  printf("loopmix: %u\n", sum);
  free(pool);
  return 0;
}

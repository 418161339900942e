/* Guest: allocates until malloc fails or a cap is reached, and reports how far it got.
 *
 *   cli_memory.wasm malloc CAP_KIB    64 KiB blocks, until NULL or CAP_KIB in total
 *   cli_memory.wasm realloc CAP_KIB   one block grown by half each step, contents checked
 *
 * Prints one line, "malloc: N KiB in B blocks, then NULL" (or "..., cap reached") and exits 0:
 * running out of linear memory is an ordinary failure inside the guest, not a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK (64 * 1024)

/* The blocks are chained into a list that is walked at the end: a block that is only
 * written and leaked could be optimised away together with its malloc. */
static int by_malloc(size_t cap) {
  void **head = NULL;
  size_t total = 0;
  int failed = 0;
  while (total + BLOCK <= cap) {
    void **p = malloc(BLOCK);
    if (p == NULL) {
      failed = 1;
      break;
    }
    p[0] = head;
    ((char *)p)[BLOCK - 1] = 1; /* touch the far end too: the memory must really be there */
    head = p;
    total += BLOCK;
  }
  size_t blocks = 0;
  while (head != NULL) {
    void **next = head[0];
    blocks += ((char *)head)[BLOCK - 1];
    free(head);
    head = next;
  }
  printf("malloc: %zu KiB in %zu blocks, then %s\n", total / 1024, blocks,
         failed ? "NULL" : "cap reached");
  return 0;
}

/* Byte i of the buffer holds (i * 7) mod 251: a pattern that a bad copy would break. */
static int by_realloc(size_t cap) {
  size_t size = 1024;
  unsigned char *buf = malloc(size);
  if (buf == NULL) {
    printf("realloc: first malloc failed\n");
    return 1;
  }
  for (size_t i = 0; i < size; i++)
    buf[i] = (unsigned char)(i * 7 % 251);
  int failed = 0;
  for (;;) {
    size_t next = size + size / 2;
    if (next > cap)
      break;
    unsigned char *grown = realloc(buf, next);
    if (grown == NULL) {
      failed = 1; /* buf is still valid and still holds `size` bytes */
      break;
    }
    buf = grown;
    for (size_t i = size; i < next; i++)
      buf[i] = (unsigned char)(i * 7 % 251);
    size = next;
  }
  for (size_t i = 0; i < size; i++) {
    if (buf[i] != (unsigned char)(i * 7 % 251)) {
      printf("realloc: byte %zu corrupted\n", i);
      return 1;
    }
  }
  printf("realloc: %zu bytes intact, then %s\n", size, failed ? "NULL" : "cap reached");
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: cli_memory malloc|realloc CAP_KIB\n");
    return 2;
  }
  size_t cap = (size_t)strtoul(argv[2], NULL, 10) * 1024;
  if (strcmp(argv[1], "malloc") == 0)
    return by_malloc(cap);
  if (strcmp(argv[1], "realloc") == 0)
    return by_realloc(cap);
  fprintf(stderr, "cli_memory: unknown mode %s\n", argv[1]);
  return 2;
}

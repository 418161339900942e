/* Pointer chasing: a singly linked list whose nodes sit in shuffled order in memory (every
 * step is a dependent load to an unpredictable address), and an unbalanced binary search tree
 * built from pseudo-random keys, searched and walked recursively.
 * Usage: chase [ROUNDS] (default 36). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define LIST_NODES (1u << 15)
#define TREE_KEYS (1u << 14)

typedef struct node {
  struct node *next;
  uint32_t value;
} node;

typedef struct tree {
  struct tree *left, *right;
  uint32_t key, count;
} tree;

static uint64_t rng = 88172645463325252ull;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

static node *build_list(node *pool, uint32_t n) {
  uint32_t *order = malloc(n * sizeof *order);
  for (uint32_t i = 0; i < n; i++)
    order[i] = i;
  for (uint32_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
    uint32_t j = next() % (i + 1), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (uint32_t i = 0; i < n; i++) {
    pool[order[i]].value = i * 2654435761u;
    pool[order[i]].next = i + 1 < n ? &pool[order[i + 1]] : NULL;
  }
  node *head = &pool[order[0]];
  free(order);
  return head;
}

static tree *insert(tree *pool, uint32_t *used, tree *root, uint32_t key) {
  tree **at = &root;
  while (*at) {
    if (key == (*at)->key) {
      (*at)->count++;
      return root;
    }
    at = key < (*at)->key ? &(*at)->left : &(*at)->right;
  }
  tree *t = &pool[(*used)++];
  t->left = t->right = NULL;
  t->key = key;
  t->count = 1;
  *at = t;
  return root;
}

static uint32_t find(const tree *t, uint32_t key) {
  while (t && t->key != key)
    t = key < t->key ? t->left : t->right;
  return t ? t->count : 0;
}

/* In-order walk: a checksum that depends on the order of the keys. */
static uint32_t walk(const tree *t, uint32_t acc) {
  if (!t)
    return acc;
  acc = walk(t->left, acc);
  acc = acc * 16777619u ^ t->key ^ t->count;
  return walk(t->right, acc);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 36;
  node *pool = malloc(LIST_NODES * sizeof *pool);
  tree *tpool = malloc(TREE_KEYS * sizeof *tpool);
  if (!pool || !tpool)
    return 1;
  node *head = build_list(pool, LIST_NODES);
  uint32_t sum = 0;
  for (int r = 0; r < rounds; r++) {
    for (int pass = 0; pass < 16; pass++)
      for (const node *p = head; p; p = p->next)
        sum += p->value ^ (uint32_t)pass;
    uint32_t used = 0;
    tree *root = NULL;
    for (uint32_t i = 0; i < TREE_KEYS; i++)
      root = insert(tpool, &used, root, next() % (TREE_KEYS * 2));
    for (uint32_t i = 0; i < TREE_KEYS; i++)
      sum += find(root, next() % (TREE_KEYS * 2));
    sum = walk(root, sum);
  }
  printf("chase: %u\n", sum);
  free(pool);
  free(tpool);
  return 0;
}

/* Group snapshots: three linked instances (a main module, an adapter that imports its
 * memory, table and global, a fixup module that fills the table), snapshotted after
 * mutation and stamped thousands of times with store rollback in between, sequentially
 * and from four threads. The modules are written in WAT and built with wabt's wat2wasm
 * at test time. */
#include "testlib.h"
#include "testutil.h"
#include "zerohop/engine.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char WAT_A[] =
    "(module\n"
    "  (type $r (func (result i32)))\n"
    "  (memory (export \"mem\") 1)\n"
    "  (table $t (export \"tab\") 4 funcref)\n"
    "  (global $g (export \"g\") (mut i32) (i32.const 0))\n"
    "  (global $fr (export \"fr\") (mut funcref) (ref.null func))\n"
    "  (data (i32.const 0) \"original\")\n"
    "  (elem (i32.const 0) func $ida)\n"
    "  (func $ida (export \"ida\") (result i32) (i32.load (i32.const 16)))\n"
    "  (func (export \"call\") (param i32) (result i32)\n"
    "    (call_indirect (type $r) (local.get 0)))\n"
    "  (func (export \"store\") (param i32 i32) (i32.store (local.get 0) (local.get 1)))\n"
    "  (func (export \"setg\") (param i32) (global.set $g (local.get 0)))\n"
    "  (func (export \"keep\") (global.set $fr (table.get $t (i32.const 1))))\n"
    "  (func (export \"grow\") (result i32) (table.grow $t (ref.null func) (i32.const 3))))\n";

static const char WAT_B[] =
    "(module\n"
    "  (import \"a\" \"mem\" (memory 1))\n"
    "  (import \"a\" \"tab\" (table 4 funcref))\n"
    "  (import \"a\" \"g\" (global $g (mut i32)))\n"
    "  (import \"a\" \"ida\" (func $ida (result i32)))\n"
    "  (import \"env\" \"host\" (func $host (result i32)))\n"
    "  (import \"ext\" \"f\" (func $ext (result i32)))\n"
    "  (func $idb (export \"idb\") (result i32) (global.get $g))\n"
    "  (func (export \"bump\") (result i32)\n"
    "    (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))\n"
    "    (global.set $g (i32.add (global.get $g) (i32.const 1)))\n"
    "    (i32.add (i32.mul (i32.load (i32.const 16)) (i32.const 1000)) (global.get $g)))\n"
    "  (func (export \"host\") (result i32) (call $host))\n"
    "  (func (export \"ext\") (result i32) (call $ext))\n"
    "  (func (export \"ida_via_b\") (result i32) (call $ida)))\n";

static const char WAT_C[] =
    "(module\n"
    "  (import \"a\" \"tab\" (table 4 funcref))\n"
    "  (import \"a\" \"ida\" (func $ida (result i32)))\n"
    "  (import \"b\" \"idb\" (func $idb (result i32)))\n"
    "  (func $idc (export \"idc\") (result i32) (i32.const 300))\n"
    "  (elem (table 0) (i32.const 1) func $idb $ida)\n"
    "  (elem $p func $idc)\n"
    "  (func (export \"fill\") (table.init 0 $p (i32.const 3) (i32.const 0) (i32.const 1))))\n";

/* Outside the group: a counter every copy shares. */
static const char WAT_X[] =
    "(module\n"
    "  (global $c (mut i32) (i32.const 0))\n"
    "  (func (export \"f\") (result i32)\n"
    "    (global.set $c (i32.add (global.get $c) (i32.const 1))) (global.get $c)))\n";

static bool ok(zh_error *err) {
  if (!err)
    return true;
  fprintf(stderr, "unexpected error: %s\n", zh_error_message(err));
  zh_error_free(err);
  return false;
}

/* True when `err` has `status` and its message contains `text`; frees it. */
static bool fails_with(zh_error *err, zh_status status, const char *text) {
  bool good = err && zh_error_status(err) == status && strstr(zh_error_message(err), text);
  if (!good)
    fprintf(stderr, "expected status %d with \"%s\", got %s\n", (int)status, text,
            err ? zh_error_message(err) : "success");
  zh_error_free(err);
  return good;
}

typedef struct fixture {
  zh_engine *engine;
  zh_module *a, *b, *c, *x;
  zh_store *ext_store; /* holds X, which outlives every snapshot */
  zh_instance *ext;
} fixture;

static zh_value call0(zh_store *s, zh_instance *inst, const char *name, bool *good) {
  zh_value r = zh_i32(-1);
  zh_func *f = zh_instance_func(inst, name);
  if (!f || !ok(zh_func_call(s, f, NULL, 0, &r, 1)))
    *good = false;
  return r;
}

static int32_t call_i(zh_store *s, zh_instance *inst, const char *name, int32_t arg, bool *good) {
  zh_value a = zh_i32(arg), r = zh_i32(-1);
  zh_func *f = zh_instance_func(inst, name);
  if (!f || !ok(zh_func_call(s, f, &a, 1, &r, 1)))
    *good = false;
  return r.of.i32;
}

static bool call_void(zh_store *s, zh_instance *inst, const char *name, const zh_value *args,
                      size_t n) {
  zh_func *f = zh_instance_func(inst, name);
  return f && ok(zh_func_call(s, f, args, n, NULL, 0));
}

/* env.host: the data of the instance that called it, and whether a rollback in the middle
 * of the call was refused. */
static zh_error *host_fn(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  (void)env;
  (void)args;
  zh_error *err = zh_store_release_to(zh_caller_store(caller), 0);
  bool refused = err && zh_error_status(err) == ZH_ERR_USAGE;
  zh_error_free(err);
  intptr_t data = (intptr_t)zh_instance_data(zh_caller_instance(caller));
  results[0] = zh_i32(refused ? (int32_t)data : -1);
  return NULL;
}

/* Instantiates A, B, C in a fresh store and mutates them: mem[16] = 7, g = 5, global fr
 * takes table[1] (B's idb, placed there by C). */
static zh_store *make_group(fixture *fx, zh_instance *g[3]) {
  zh_store *s;
  if (!ok(zh_store_new(fx->engine, &s)))
    return NULL;
  static const zh_valtype res[] = {ZH_I32};
  zh_functype ft = {0, 1, NULL, res};
  zh_func *host = zh_func_new_host(s, &ft, host_fn, NULL);
  bool good = host != NULL;
  good = good && ok(zh_instance_new(s, fx->a, NULL, 0, &g[0]));
  zh_extern ea[4] = {0};
  const char *names[] = {"mem", "tab", "g", "ida"};
  for (int i = 0; good && i < 4; i++)
    good = zh_instance_export(g[0], names[i], &ea[i]);
  if (good) {
    zh_extern ib[6] = {ea[0],
                       ea[1],
                       ea[2],
                       ea[3],
                       {ZH_EXTERN_FUNC, {.func = host}},
                       {ZH_EXTERN_FUNC, {.func = zh_instance_func(fx->ext, "f")}}};
    good = ok(zh_instance_new(s, fx->b, ib, 6, &g[1]));
  }
  if (good) {
    zh_extern ic[3] = {ea[1], ea[3], {ZH_EXTERN_FUNC, {.func = zh_instance_func(g[1], "idb")}}};
    good = ok(zh_instance_new(s, fx->c, ic, 3, &g[2]));
  }
  if (good) {
    zh_value args[2] = {zh_i32(16), zh_i32(7)};
    zh_value five = zh_i32(5);
    good = call_void(s, g[0], "store", args, 2) && call_void(s, g[0], "setg", &five, 1) &&
           call_void(s, g[0], "keep", NULL, 0);
  }
  if (!good) {
    zh_store_free(s);
    return NULL;
  }
  return s;
}

static zh_func *table_at(zh_instance *inst, uint32_t i) {
  zh_extern t;
  zh_value v;
  if (!zh_instance_export(inst, "tab", &t) || zh_table_get(t.of.table, i, &v))
    return (zh_func *)(uintptr_t)1; /* never a valid function */
  return v.of.funcref;
}

/* Checks one fresh copy against the snapshot's state, then changes it; returns the number
 * of failed checks (threads count their own). */
static int check_copy(zh_store *s, zh_instance *const c[3], intptr_t tag) {
  int fail = 0;
  bool good = true;
#define EXPECT(cond) fail += !(cond)
  zh_memory *mem = zh_instance_memory(c[0], "mem");
  EXPECT(mem && zh_instance_memory(c[1], "mem") == NULL);
  EXPECT(mem && memcmp(zh_memory_data(mem), "original", 8) == 0);
  /* Table references aim at this copy's own functions. */
  EXPECT(table_at(c[0], 0) == zh_instance_func(c[0], "ida"));
  EXPECT(table_at(c[0], 1) == zh_instance_func(c[1], "idb"));
  EXPECT(table_at(c[0], 2) == zh_instance_func(c[0], "ida"));
  EXPECT(table_at(c[0], 3) == NULL);
  zh_extern fr;
  EXPECT(zh_instance_export(c[0], "fr", &fr) &&
         zh_global_get(fr.of.global).of.funcref == zh_instance_func(c[1], "idb"));
  /* State as snapshotted, then private changes. */
  EXPECT(call_i(s, c[0], "call", 0, &good) == 7);
  EXPECT(call_i(s, c[0], "call", 1, &good) == 5);
  EXPECT(call0(s, c[1], "bump", &good).of.i32 == 8006);
  EXPECT(call_i(s, c[0], "call", 0, &good) == 8);
  EXPECT(call_i(s, c[0], "call", 1, &good) == 6);
  EXPECT(call_i(s, c[0], "call", 2, &good) == 8);
  EXPECT(call0(s, c[1], "ida_via_b", &good).of.i32 == 8);
  /* The passive segment holds this copy's idc. */
  EXPECT(call_void(s, c[2], "fill", NULL, 0));
  EXPECT(table_at(c[0], 3) == zh_instance_func(c[2], "idc"));
  EXPECT(call_i(s, c[0], "call", 3, &good) == 300);
  /* User data: NULL in a copy, then what was set, seen by the host function. */
  EXPECT(zh_instance_data(c[1]) == NULL);
  EXPECT(call0(s, c[1], "host", &good).of.i32 == 0);
  zh_instance_set_data(c[1], (void *)tag);
  EXPECT(call0(s, c[1], "host", &good).of.i32 == (int32_t)tag);
  if (mem)
    memcpy(zh_memory_data(mem), "changed!", 8);
  EXPECT(good);
#undef EXPECT
  return fail;
}

static zh_error *stamp(const zh_snapshot *snap, zh_store *s, zh_instance *c[3]) {
  return zh_snapshot_instantiate(snap, s, c);
}

static void test_stamps(fixture *fx, const zh_snapshot *snap) {
  zh_store *s;
  if (!ok(zh_store_new(fx->engine, &s)))
    return;
  zh_mark base = zh_store_mark(s);
  int fails = 0, cycles = 0;
  for (int i = 0; i < 1000; i++) {
    zh_mark m = zh_store_mark(s);
    zh_instance *c[3];
    if (!ok(stamp(snap, s, c))) {
      fails++;
      break;
    }
    fails += check_copy(s, c, 1000 + i);
    if (!ok(zh_store_release_to(s, m)))
      fails++;
    cycles++;
  }
  CHECK_EQ_INT(fails, 0);
  CHECK_EQ_INT(cycles, 1000);
  CHECK(zh_store_mark(s) == base);

  /* Two live copies do not share state; the shared outside instance is shared. */
  zh_instance *x[3], *y[3];
  CHECK(ok(stamp(snap, s, x)));
  CHECK(ok(stamp(snap, s, y)));
  bool good = true;
  CHECK_EQ_INT(call0(s, x[1], "bump", &good).of.i32, 8006);
  CHECK_EQ_INT(call0(s, x[1], "bump", &good).of.i32, 9007);
  CHECK_EQ_INT(call0(s, y[1], "bump", &good).of.i32, 8006);
  CHECK(call_void(s, x[2], "fill", NULL, 0));
  CHECK(table_at(x[0], 3) == zh_instance_func(x[2], "idc"));
  CHECK(table_at(y[0], 3) == NULL);
  memcpy(zh_memory_data(zh_instance_memory(x[0], "mem")), "XXXXXXXX", 8);
  CHECK(memcmp(zh_memory_data(zh_instance_memory(y[0], "mem")), "original", 8) == 0);
  int32_t e1 = call0(s, x[1], "ext", &good).of.i32;
  int32_t e2 = call0(s, y[1], "ext", &good).of.i32;
  CHECK_EQ_INT(e2, e1 + 1);
  CHECK(good);
  /* Copies in one store are distinct objects. */
  CHECK(zh_instance_func(x[0], "ida") != zh_instance_func(y[0], "ida"));
  /* A mark that was released already is refused. */
  zh_mark later = zh_store_mark(s);
  CHECK(ok(zh_store_release_to(s, base)));
  CHECK(fails_with(zh_store_release_to(s, later), ZH_ERR_USAGE, "already released"));
  zh_store_free(s);
}

/* A store keeps a released copy's memory mapped and resets it in place for the next
 * copy: pages written anywhere (first, middle, last of the image) read as the image again,
 * grown pages are gone (an access there traps) and the size is the image's. Its table's
 * element array is kept too: a grown, rewritten table is the snapshot's again. */
static void test_reset_in_place(fixture *fx, const zh_snapshot *snap) {
  zh_store *s;
  if (!ok(zh_store_new(fx->engine, &s)))
    return;
  int fails = 0;
  bool good = true;
  for (int i = 0; i < 50; i++) {
    zh_mark m = zh_store_mark(s);
    zh_instance *c[3];
    if (!ok(stamp(snap, s, c))) {
      fails++;
      break;
    }
    zh_memory *mem = zh_instance_memory(c[0], "mem");
    uint8_t *d = zh_memory_data(mem);
    fails += zh_memory_size(mem) != 65536;
    fails += memcmp(d, "original", 8) != 0;
    fails += d[16] != 7 || d[40000] != 0 || d[65535] != 0;
    zh_extern tab;
    fails += !zh_instance_export(c[0], "tab", &tab) || zh_table_size(tab.of.table) != 4;
    fails += table_at(c[0], 0) != zh_instance_func(c[0], "ida");
    fails += table_at(c[0], 1) != zh_instance_func(c[1], "idb");
    fails += table_at(c[0], 3) != NULL;
    /* Past the image: out of bounds in every fresh copy. */
    zh_value args[2] = {zh_i32(65536 + 100), zh_i32(1)};
    zh_error *err = zh_func_call(s, zh_instance_func(c[0], "store"), args, 2, NULL, 0);
    fails += zh_error_status(err) != ZH_ERR_TRAP;
    zh_error_free(err);
    memcpy(d, "scribble", 8);
    d[40000] = (uint8_t)(i + 1);
    d[65535] = 0xee;
    uint32_t old = 0;
    fails += !ok(zh_memory_grow(mem, 2, &old)) || old != 1;
    args[1] = zh_i32(i + 1);
    fails += !call_void(s, c[0], "store", args, 2); /* now in bounds */
    d[3 * 65536 - 1] = 0xaa;
    fails += call0(s, c[1], "bump", &good).of.i32 != 8006;
    if (i % 2) /* every other copy grows its table and fills the new slots */
      fails += call0(s, c[0], "grow", &good).of.i32 != 4;
    zh_value f = {.type = ZH_FUNCREF, .of.funcref = zh_instance_func(c[1], "idb")};
    for (uint32_t k = 0; k < zh_table_size(tab.of.table); k++)
      fails += !ok(zh_table_set(tab.of.table, k, &f));
    fails += !ok(zh_store_release_to(s, m));
  }
  CHECK_EQ_INT(fails, 0);
  CHECK(good);
  zh_store_free(s);
}

typedef struct worker {
  fixture *fx;
  const zh_snapshot *snap;
  int fails, cycles;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  zh_store *s;
  if (!ok(zh_store_new(w->fx->engine, &s))) {
    w->fails++;
    return NULL;
  }
  for (int i = 0; i < 500; i++) {
    zh_mark m = zh_store_mark(s);
    zh_instance *c[3];
    if (!ok(stamp(w->snap, s, c))) {
      w->fails++;
      break;
    }
    w->fails += check_copy(s, c, 7 + i);
    if (!ok(zh_store_release_to(s, m)))
      w->fails++;
    w->cycles++;
  }
  zh_store_free(s);
  return NULL;
}

static void test_threads(fixture *fx, const zh_snapshot *snap) {
  pthread_t t[4];
  worker w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker){fx, snap, 0, 0};
    CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    CHECK_EQ_INT(w[i].fails, 0);
    CHECK_EQ_INT(w[i].cycles, 500);
  }
}

/* A snapshot of the group as make_group leaves it; with `bumps`, B's bump runs that many
 * times first (mem[16] = 7 + bumps, g = 5 + bumps). */
static zh_snapshot *make_snapshot(fixture *fx, int bumps) {
  zh_instance *g[3];
  zh_store *s = make_group(fx, g);
  if (!s)
    return NULL;
  bool good = true;
  for (int i = 0; i < bumps; i++)
    call0(s, g[1], "bump", &good);
  zh_snapshot *snap = NULL;
  if (!good || !ok(zh_snapshot_new(s, g, 3, &snap))) {
    zh_store_free(s);
    return NULL;
  }
  return snap;
}

/* The next bump of a fresh copy of a snapshot made after `bumps` bumps. */
static int32_t first_bump(int bumps) { return (8 + bumps) * 1000 + 6 + bumps; }

/* Copies of different snapshots alternate in one store: the blocks a store keeps from
 * released copies go only to copies of the same member of the same snapshot, also after
 * that snapshot is freed and another takes its place. */
static void test_alternating(fixture *fx) {
  zh_snapshot *s1 = make_snapshot(fx, 0), *s2 = make_snapshot(fx, 1);
  zh_store *s = NULL;
  CHECK(s1 && s2 && ok(zh_store_new(fx->engine, &s)));
  if (!s1 || !s2 || !s) {
    zh_snapshot_free(s1);
    zh_snapshot_free(s2);
    zh_store_free(s);
    return;
  }
  /* A one-instance snapshot of another module: its member 0 is not A. */
  zh_store *xs = NULL;
  zh_instance *xi = NULL;
  zh_snapshot *sx = NULL;
  CHECK(ok(zh_store_new(fx->engine, &xs)) && ok(zh_instance_new(xs, fx->x, NULL, 0, &xi)) &&
        ok(zh_snapshot_new(xs, &xi, 1, &sx)));
  if (!sx)
    zh_store_free(xs);
  int fails = 0;
  bool good = true;
  for (int i = 0; i < 200; i++) {
    zh_snapshot *snap = i % 3 == 1 ? s2 : s1;
    zh_mark m = zh_store_mark(s);
    zh_instance *c[3];
    if (sx && i % 2 == 0) {
      zh_instance *cx;
      fails += !ok(zh_snapshot_instantiate(sx, s, &cx));
      fails += cx == NULL || call0(s, cx, "f", &good).of.i32 != 1;
      fails += !ok(zh_store_release_to(s, m));
    }
    if (!ok(zh_snapshot_instantiate(snap, s, c))) {
      fails++;
      break;
    }
    fails += call0(s, c[1], "bump", &good).of.i32 != first_bump(snap == s2);
    fails += table_at(c[0], 1) != zh_instance_func(c[1], "idb");
    fails += call_i(s, c[0], "call", 2, &good) != 8 + (snap == s2);
    fails += !ok(zh_store_release_to(s, m));
  }
  CHECK_EQ_INT(fails, 0);
  CHECK(good);
  /* s1 goes while the store keeps blocks of its copies; a new snapshot may even reuse its
   * address. Its copies are still built right. */
  zh_snapshot_free(s1);
  zh_snapshot *s3 = make_snapshot(fx, 2);
  CHECK(s3 != NULL);
  for (int i = 0; s3 && i < 20; i++) {
    zh_mark m = zh_store_mark(s);
    zh_instance *c[3];
    if (!ok(zh_snapshot_instantiate(s3, s, c))) {
      fails++;
      break;
    }
    fails += call0(s, c[1], "bump", &good).of.i32 != first_bump(2);
    fails += table_at(c[0], 2) != zh_instance_func(c[0], "ida");
    fails += !ok(zh_store_release_to(s, m));
  }
  CHECK_EQ_INT(fails, 0);
  zh_snapshot_free(s3);
  zh_snapshot_free(s2);
  zh_snapshot_free(sx);
  zh_store_free(s);
}

/* Imported globals from outside the group: an immutable one is shared, a mutable one is
 * refused. */
static void test_outside_globals(fixture *fx) {
  zh_module *m = zh_test_wat_module(fx->engine,
                                    "(module (import \"x\" \"g\" (global i32))\n"
                                    "  (func (export \"get\") (result i32) (global.get 0)))",
                                    "imm.wat");
  zh_module *mm =
      zh_test_wat_module(fx->engine, "(module (import \"x\" \"g\" (global (mut i32))))", "mut.wat");
  zh_store *s = NULL, *t = NULL;
  CHECK(m && mm && ok(zh_store_new(fx->engine, &s)) && ok(zh_store_new(fx->engine, &t)));
  zh_global *gi = NULL, *gm = NULL;
  zh_value v = zh_i32(42);
  zh_instance *a = NULL, *b = NULL;
  if (m && mm && s && t && ok(zh_global_new(fx->ext_store, &v, false, &gi)) &&
      ok(zh_global_new(fx->ext_store, &v, true, &gm))) {
    zh_extern ei = {ZH_EXTERN_GLOBAL, {.global = gi}}, em = {ZH_EXTERN_GLOBAL, {.global = gm}};
    CHECK(ok(zh_instance_new(s, m, &ei, 1, &a)));
    CHECK(ok(zh_instance_new(s, mm, &em, 1, &b)));
    zh_snapshot *snap = NULL;
    zh_instance *both[2] = {a, b};
    CHECK(fails_with(zh_snapshot_new(s, both, 2, &snap), ZH_ERR_UNLINKABLE,
                     "instance 1 imports global \"x\".\"g\" from outside the group"));
    if (ok(zh_snapshot_new(s, &a, 1, &snap))) {
      s = NULL; /* the snapshot owns it */
      zh_instance *c;
      bool good = true;
      CHECK(ok(zh_snapshot_instantiate(snap, t, &c)));
      CHECK_EQ_INT(call0(t, c, "get", &good).of.i32, 42);
      CHECK(good);
      zh_snapshot_free(snap);
    }
  }
  zh_store_free(s);
  zh_store_free(t);
  zh_module_free(m);
  zh_module_free(mm);
}

/* A group past 254 members takes the lookup path for table elements: each member's table
 * holds its own function, and member k > 0 also imports member k-1's function. */
static void test_large_group(fixture *fx) {
  enum { N = 300 };
  zh_module *m0 = zh_test_wat_module(fx->engine,
                                     "(module (table (export \"tab\") 2 funcref)\n"
                                     "  (func $f (export \"f\") (result i32) (i32.const 1))\n"
                                     "  (elem (i32.const 0) func $f $f))",
                                     "first.wat");
  zh_module *mk =
      zh_test_wat_module(fx->engine,
                         "(module (import \"p\" \"f\" (func $p (result i32)))\n"
                         "  (table (export \"tab\") 2 funcref)\n"
                         "  (func $f (export \"f\") (result i32) (i32.add (call $p) (i32.const "
                         "1)))\n"
                         "  (elem (i32.const 0) func $f $p))",
                         "next.wat");
  zh_store *s = NULL, *t = NULL;
  static zh_instance *g[N], *c[N];
  bool built = m0 && mk && ok(zh_store_new(fx->engine, &s)) && ok(zh_store_new(fx->engine, &t));
  for (int k = 0; built && k < N; k++) {
    zh_extern imp = {ZH_EXTERN_FUNC, {.func = k ? zh_instance_func(g[k - 1], "f") : NULL}};
    built = ok(zh_instance_new(s, k ? mk : m0, &imp, k ? 1 : 0, &g[k]));
  }
  CHECK(built);
  zh_snapshot *snap = NULL;
  if (built && ok(zh_snapshot_new(s, g, N, &snap))) {
    s = NULL;
    for (int round = 0; round < 3; round++) {
      zh_mark mark = zh_store_mark(t);
      CHECK(ok(zh_snapshot_instantiate(snap, t, c)));
      int fails = 0;
      for (int k = 0; k < N; k++) {
        fails += table_at(c[k], 0) != zh_instance_func(c[k], "f");
        fails += k > 0 && table_at(c[k], 1) != zh_instance_func(c[k - 1], "f");
      }
      CHECK_EQ_INT(fails, 0);
      bool good = true;
      CHECK_EQ_INT(call0(t, c[N - 1], "f", &good).of.i32, N);
      CHECK(good);
      CHECK(ok(zh_store_release_to(t, mark)));
    }
    zh_snapshot_free(snap);
  }
  zh_store_free(s);
  zh_store_free(t);
  zh_module_free(m0);
  zh_module_free(mk);
}

/* Instances outside the group in the snapshot's own store: the store becomes the
 * snapshot's, so their functions are refused, as imports and as references in tables. */
static void test_same_store(fixture *fx) {
  zh_module *imp = zh_test_wat_module(fx->engine,
                                      "(module (import \"p\" \"f\" (func $p (result i32)))\n"
                                      "  (func (export \"g\") (result i32) (call $p)))",
                                      "imp.wat");
  zh_store *s = NULL;
  zh_instance *xi = NULL, *a = NULL, *u = NULL;
  CHECK(imp && ok(zh_store_new(fx->engine, &s)) && ok(zh_instance_new(s, fx->x, NULL, 0, &xi)) &&
        ok(zh_instance_new(s, fx->a, NULL, 0, &a)));
  if (!imp || !a) {
    zh_store_free(s);
    zh_module_free(imp);
    return;
  }
  zh_extern fx_f = {ZH_EXTERN_FUNC, {.func = zh_instance_func(xi, "f")}};
  CHECK(ok(zh_instance_new(s, imp, &fx_f, 1, &u)));
  zh_snapshot *snap = NULL;
  CHECK(fails_with(zh_snapshot_new(s, &u, 1, &snap), ZH_ERR_UNLINKABLE,
                   "instance 0 imports function \"p\".\"f\" from an instance outside the "
                   "group in the same store"));
  zh_extern tab;
  zh_value ref = {ZH_FUNCREF, {.funcref = zh_instance_func(xi, "f")}};
  CHECK(zh_instance_export(a, "tab", &tab) && ok(zh_table_set(tab.of.table, 3, &ref)));
  CHECK(fails_with(zh_snapshot_new(s, &a, 1, &snap), ZH_ERR_UNLINKABLE,
                   "instance 0's table 0 refers to a function of an instance outside the "
                   "group in the same store"));
  /* With X in the group, both are fine, and the copies call X's copy. */
  zh_instance *grp[3] = {xi, a, u};
  CHECK(ok(zh_snapshot_new(s, grp, 3, &snap)));
  if (snap) {
    zh_store *t;
    zh_instance *c[3];
    if (ok(zh_store_new(fx->engine, &t))) {
      CHECK(ok(zh_snapshot_instantiate(snap, t, c)));
      bool good = true;
      CHECK(table_at(c[1], 3) == zh_instance_func(c[0], "f"));
      CHECK_EQ_INT(call0(t, c[2], "g", &good).of.i32, 1);
      CHECK_EQ_INT(call0(t, c[2], "g", &good).of.i32, 2);
      CHECK_EQ_INT(call0(t, c[0], "f", &good).of.i32, 3);
      CHECK(good);
      zh_store_free(t);
    }
    zh_snapshot_free(snap);
  } else {
    zh_store_free(s);
  }
  zh_module_free(imp);
}

static void test_refusals(fixture *fx) {
  zh_instance *g[3];
  zh_store *s = make_group(fx, g);
  CHECK(s != NULL);
  if (!s)
    return;
  zh_snapshot *snap = (zh_snapshot *)1;
  zh_instance *order[3] = {g[0], g[2], g[1]};
  CHECK(fails_with(zh_snapshot_new(s, order, 3, &snap), ZH_ERR_UNLINKABLE,
                   "instance 1 imports function \"b\".\"idb\" from instance 2 of the group, "
                   "which is not before it"));
  CHECK(snap == NULL);
  zh_instance *first_b[3] = {g[1], g[0], g[2]};
  CHECK(fails_with(zh_snapshot_new(s, first_b, 3, &snap), ZH_ERR_UNLINKABLE,
                   "instance 0 imports memory \"a\".\"mem\" from instance 1"));
  zh_instance *no_a[2] = {g[1], g[2]};
  CHECK(fails_with(zh_snapshot_new(s, no_a, 2, &snap), ZH_ERR_UNLINKABLE,
                   "instance 0 imports memory \"a\".\"mem\" from outside the group"));
  zh_instance *other[2] = {g[0], fx->ext};
  CHECK(fails_with(zh_snapshot_new(s, other, 2, &snap), ZH_ERR_USAGE,
                   "instance 1 belongs to another store"));
  zh_instance *twice[2] = {g[0], g[0]};
  CHECK(fails_with(zh_snapshot_new(s, twice, 2, &snap), ZH_ERR_USAGE, "listed twice"));
  CHECK(fails_with(zh_snapshot_new(s, g, 0, &snap), ZH_ERR_USAGE, "at least one"));
  /* After refusals the store is the caller's, unchanged: it still snapshots. */
  CHECK(ok(zh_snapshot_new(s, g, 3, &snap)));
  zh_store *other_engine_store = NULL;
  zh_engine *e2 = NULL;
  if (ok(zh_engine_new(NULL, &e2)) && ok(zh_store_new(e2, &other_engine_store))) {
    zh_instance *c[3];
    CHECK(fails_with(zh_snapshot_instantiate(snap, other_engine_store, c), ZH_ERR_USAGE,
                     "another engine"));
    CHECK(c[0] == NULL && c[2] == NULL);
  }
  zh_store_free(other_engine_store);
  zh_engine_free(e2);
  CHECK_EQ_INT(zh_snapshot_count(snap), 3);
  zh_snapshot_free(snap);
}

int main(void) {
  fixture fx = {0};
  if (!ok(zh_engine_new(NULL, &fx.engine)))
    return 1;
  fx.a = zh_test_wat_module(fx.engine, WAT_A, "a.wat");
  fx.b = zh_test_wat_module(fx.engine, WAT_B, "b.wat");
  fx.c = zh_test_wat_module(fx.engine, WAT_C, "c.wat");
  fx.x = zh_test_wat_module(fx.engine, WAT_X, "x.wat");
  CHECK(fx.a && fx.b && fx.c && fx.x);
  if (fx.a && fx.b && fx.c && fx.x && ok(zh_store_new(fx.engine, &fx.ext_store)) &&
      ok(zh_instance_new(fx.ext_store, fx.x, NULL, 0, &fx.ext))) {
    zh_instance *g[3];
    zh_store *s = make_group(&fx, g);
    CHECK(s != NULL);
    zh_snapshot *snap = NULL;
    if (s) {
      /* The group ran before: the outside counter is at 0, mem[16] at 7. */
      CHECK(ok(zh_snapshot_new(s, g, 3, &snap)));
      if (!snap)
        zh_store_free(s);
    }
    if (snap) {
      test_stamps(&fx, snap);
      test_reset_in_place(&fx, snap);
      test_threads(&fx, snap);
      zh_snapshot_free(snap);
    }
    test_refusals(&fx);
    test_alternating(&fx);
    test_outside_globals(&fx);
    test_large_group(&fx);
    test_same_store(&fx);
  }
  zh_store_free(fx.ext_store);
  zh_module_free(fx.a);
  zh_module_free(fx.b);
  zh_module_free(fx.c);
  zh_module_free(fx.x);
  zh_engine_free(fx.engine);
  TEST_SUMMARY();
}

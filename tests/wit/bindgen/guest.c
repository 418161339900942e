/* Guest for tests/wit/test_bindgen.c, written against the generated bindings of world
 * zh:bg/guest (tests/wit/bindgen/wit/). Exports transform their arguments in ways the host
 * checks; `run` calls every import and returns one bit per import whose result was right. */
#include "guest.h"

#include <stdlib.h>
#include <string.h>

static guest_string_t lit(const char *s) {
  guest_string_t r;
  guest_string_set(&r, s);
  return r;
}

static bool eq(const guest_string_t *s, const char *want) {
  return s->len == strlen(want) && memcmp(s->ptr, want, s->len) == 0;
}

/* ---- exports ---- */

void guest_version(guest_string_t *ret) { guest_string_dup(ret, "bindgen-1"); }

/* Moves the argument into the result: "hi NAME", one more tag, age + 1, home mirrored. */
void guest_api_greet(guest_types_person_t *p, guest_types_person_t *ret) {
  *ret = *p;
  uint8_t *name = malloc(p->name.len + 3);
  memcpy(name, "hi ", 3);
  memcpy(name + 3, p->name.ptr, p->name.len);
  guest_string_free(&p->name);
  ret->name.ptr = name;
  ret->name.len += 3;
  ret->tags.ptr = realloc(ret->tags.ptr, (ret->tags.len + 1) * sizeof *ret->tags.ptr);
  guest_string_dup(&ret->tags.ptr[ret->tags.len++], "greeted");
  ret->age++;
  if (ret->home.is_some) {
    int32_t x = ret->home.val.x;
    ret->home.val.x = ret->home.val.y;
    ret->home.val.y = x;
  }
}

void guest_api_area(guest_types_shape_t *s, guest_result_f64_string_t *ret) {
  ret->is_err = false;
  switch (s->tag) {
  case GUEST_TYPES_SHAPE_CIRCLE:
    ret->val.ok = (double)s->val.circle * s->val.circle;
    break;
  case GUEST_TYPES_SHAPE_RECT:
    ret->val.ok = (double)s->val.rect.f0 * s->val.rect.f1;
    break;
  case GUEST_TYPES_SHAPE_BIG:
    ret->val.ok = (double)s->val.big;
    break;
  case GUEST_TYPES_SHAPE_MAYBE:
    if (s->val.maybe.is_some) {
      ret->val.ok = s->val.maybe.val;
      break;
    }
    ret->is_err = true;
    guest_string_dup(&ret->val.err, "maybe not");
    break;
  case GUEST_TYPES_SHAPE_LABEL:
    ret->is_err = true;
    ret->val.err = s->val.label; /* moved: the post-return frees it */
    return;
  default:
    ret->is_err = true;
    guest_string_dup(&ret->val.err, "empty");
    break;
  }
  guest_types_shape_free(s);
}

void guest_api_flip(guest_types_many_t m, guest_types_small_t s, guest_types_color_t c,
                    guest_tuple3_types_many_types_small_types_color_t *ret) {
  ret->f0 = ~m;
  ret->f1 = s ^ (GUEST_TYPES_SMALL_READ | GUEST_TYPES_SMALL_WRITE | GUEST_TYPES_SMALL_EXEC);
  ret->f2 = (guest_types_color_t)((c + 1) % 3);
}

/* Flags wider than 32 (40 here): every flag inverted. */
void guest_api_flip_perms(guest_types_perms_t *p, guest_types_perms_t *ret) {
  for (unsigned i = 0; i < 40; i++)
    guest_types_perms_set(ret, i, !guest_types_perms_has(p, i));
}

int64_t guest_api_sum(guest_list_s64_t *xs) {
  int64_t s = 0;
  for (size_t i = 0; i < xs->len; i++)
    s += xs->ptr[i];
  guest_list_s64_free(xs);
  return s;
}

void guest_api_maybe(guest_option_u32_t *x, guest_option_u32_t *ret) {
  ret->is_some = x->is_some;
  ret->val = x->is_some ? x->val * 2 : 0;
}

void guest_api_classify(float x, guest_types_shape_t *ret) {
  if (x < 0) {
    ret->tag = GUEST_TYPES_SHAPE_NONE;
  } else if (x == 0) {
    ret->tag = GUEST_TYPES_SHAPE_LABEL;
    guest_string_dup(&ret->val.label, "zero");
  } else if (x == 2.5f) {
    ret->tag = GUEST_TYPES_SHAPE_MAYBE;
    ret->val.maybe.is_some = true;
    ret->val.maybe.val = x;
  } else if (x < 1) {
    ret->tag = GUEST_TYPES_SHAPE_CIRCLE;
    ret->val.circle = x;
  } else if (x < 100) {
    ret->tag = GUEST_TYPES_SHAPE_RECT;
    ret->val.rect.f0 = (uint32_t)x;
    ret->val.rect.f1 = (uint32_t)x * 2;
  } else {
    ret->tag = GUEST_TYPES_SHAPE_BIG;
    ret->val.big = (uint64_t)x << 20;
  }
}

void guest_api_prims(bool a, int8_t b, uint8_t c, int16_t d, uint16_t e, int32_t f, uint32_t g,
                     int64_t h, uint64_t i, float j, double k, uint32_t l,
                     guest_tuple12_bool_s8_u8_s16_u16_s32_u32_s64_u64_f32_f64_char_t *ret) {
  ret->f0 = !a;
  ret->f1 = (int8_t)(b - 1);
  ret->f2 = (uint8_t)(c + 1);
  ret->f3 = (int16_t)(d - 1);
  ret->f4 = (uint16_t)(e + 1);
  ret->f5 = f - 1;
  ret->f6 = g + 1;
  ret->f7 = h - 1;
  ret->f8 = i + 1;
  ret->f9 = j * 2;
  ret->f10 = k * 2;
  ret->f11 = l + 1;
}

/* More than 16 flat parameters: they arrive through memory. */
void guest_api_wide(guest_types_person_t *a, guest_types_person_t *b, guest_types_person_t *c,
                    guest_types_person_t *d, guest_list_string_t *ret) {
  guest_types_person_t *all[4] = {a, b, c, d};
  ret->len = 4;
  ret->ptr = malloc(4 * sizeof *ret->ptr);
  for (int i = 0; i < 4; i++) {
    ret->ptr[i] = all[i]->name;
    all[i]->name.ptr = NULL;
    all[i]->name.len = 0;
    guest_types_person_free(all[i]);
  }
}

void guest_api_check(bool ok, guest_result_void_void_t *ret) { ret->is_err = !ok; }

/* ---- imports ---- */

uint32_t guest_api_run(void) {
  uint32_t bits = 0;
  guest_string_t msg = lit("hello from the guest");
  guest_host_log(&msg);
  guest_log_line(&msg);

  guest_string_t a = lit("foo"), b = lit("bar"), r;
  guest_host_concat(&a, &b, &r);
  bits |= eq(&r, "foobar") << 0;
  guest_string_free(&r);

  guest_string_t tags[2] = {lit("x"), lit("y")};
  guest_types_person_t p = {.name = lit("ann"),
                            .nick = {true, lit("annie")},
                            .tags = {tags, 2},
                            .age = 40,
                            .home = {true, {3, -4}}};
  guest_host_describe(&p, &r);
  bits |= eq(&r, "ann/annie/2/40/3,-4") << 1;
  guest_string_free(&r);

  guest_types_shape_t s = {.tag = GUEST_TYPES_SHAPE_BIG, .val.big = 1ull << 40};
  guest_result_u64_string_t res;
  guest_host_pick(&s, &res);
  bits |= (!res.is_err && res.val.ok == (1ull << 40) + 1) << 2;
  s.tag = GUEST_TYPES_SHAPE_LABEL;
  s.val.label = lit("lbl");
  guest_host_pick(&s, &res);
  bits |= (res.is_err && eq(&res.val.err, "lbl!")) << 3;
  guest_result_u64_string_free(&res);
  s.tag = GUEST_TYPES_SHAPE_CIRCLE;
  s.val.circle = 1.5f;
  guest_host_pick(&s, &res);
  bits |= (!res.is_err && res.val.ok == 15) << 4;

  guest_tuple3_types_many_types_color_types_small_t fl;
  guest_host_echo_flags(GUEST_TYPES_MANY_B31 | GUEST_TYPES_MANY_B0, GUEST_TYPES_COLOR_BLUE,
                        GUEST_TYPES_SMALL_EXEC, &fl);
  bits |= (fl.f0 == (GUEST_TYPES_MANY_B31 | GUEST_TYPES_MANY_B0) &&
           fl.f1 == GUEST_TYPES_COLOR_BLUE && fl.f2 == GUEST_TYPES_SMALL_EXEC)
          << 5;

  double sum = guest_host_prims(true, -2, 3, -4, 5, -6, 7, -8, 9, 0.5f, 0.25, 0x1F600);
  bits |= (sum == 1 - 2 + 3 - 4 + 5 - 6 + 7 - 8 + 9 + 0.5 + 0.25 + 0x1F600) << 6;

  guest_types_person_t q = p;
  q.age = 2;
  bits |= (guest_host_wide(&p, &q, &p, &q) == 84) << 7;

  uint8_t data[] = {1, 2, 3, 250};
  guest_types_bytes_t bytes = {data, sizeof data};
  bits |= (guest_host_checksum(&bytes) == 256) << 8;

  guest_host_own_counter_t c = guest_host_constructor_counter(10);
  guest_host_method_counter_add(guest_host_borrow_counter(c), 5);
  bits |= (guest_host_method_counter_get(guest_host_borrow_counter(c)) == 15) << 9;
  bits |= (guest_host_peek(guest_host_borrow_counter(c)) == 15) << 10;
  bits |= (guest_host_consume(c) == 115) << 11; /* c is the host's now */
  guest_host_own_counter_t d = guest_host_static_counter_make(7);
  bits |= (guest_host_method_counter_get(guest_host_borrow_counter(d)) == 7) << 12;
  guest_host_counter_drop_own(d);
  return bits;
}

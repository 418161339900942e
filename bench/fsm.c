/* Switch-heavy state machines: a tokenizer for a JSON-like text (one switch per byte over
 * the lexer state and the byte's class) and a table-free DFA that recognises numbers with
 * optional fraction and exponent. The text is generated, so the run is deterministic.
 * Usage: fsm [ROUNDS] (default 24). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define TEXT_BYTES (1u << 20)

static uint32_t rng = 2463534242u;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

/* Appends one generated token (and maybe whitespace) at p; returns the new end. */
static char *gen_token(char *p) {
  static const char *const words[] = {"true", "false", "null", "\"key\"", "\"a\\\"b\""};
  switch (next() % 8) {
  case 0:
  case 1: {
    int digits = 1 + (int)(next() % 6);
    if (next() % 4 == 0)
      *p++ = '-';
    for (int i = 0; i < digits; i++)
      *p++ = (char)('0' + next() % 10);
    if (next() % 3 == 0) {
      *p++ = '.';
      *p++ = (char)('0' + next() % 10);
    }
    if (next() % 5 == 0) {
      *p++ = 'e';
      *p++ = '+';
      *p++ = (char)('1' + next() % 9);
    }
    break;
  }
  case 2:
  case 3: {
    const char *w = words[next() % 5];
    while (*w)
      *p++ = *w++;
    break;
  }
  default:
    *p++ = "{}[]:,"[next() % 6];
  }
  if (next() % 3 == 0)
    *p++ = " \n\t"[next() % 3];
  return p;
}

enum { S_START, S_NUM, S_STR, S_ESC, S_WORD };
enum { C_SPACE, C_DIGIT, C_MINUS, C_QUOTE, C_BSLASH, C_ALPHA, C_PUNCT, C_OTHER };

static int classify(unsigned char c) {
  switch (c) {
  case ' ':
  case '\n':
  case '\t':
  case '\r':
    return C_SPACE;
  case '-':
    return C_MINUS;
  case '"':
    return C_QUOTE;
  case '\\':
    return C_BSLASH;
  case '{':
  case '}':
  case '[':
  case ']':
  case ':':
  case ',':
    return C_PUNCT;
  default:
    if (c >= '0' && c <= '9')
      return C_DIGIT;
    if ((c >= 'a' && c <= 'z') || c == '.' || c == '+')
      return C_ALPHA;
    return C_OTHER;
  }
}

/* Counts tokens per kind; returns a checksum over the counts. */
static uint32_t tokenize(const char *text, size_t n, uint32_t counts[5]) {
  int state = S_START;
  for (size_t i = 0; i < n; i++) {
    int c = classify((unsigned char)text[i]);
    switch (state) {
    case S_START:
      switch (c) {
      case C_DIGIT:
      case C_MINUS:
        state = S_NUM;
        break;
      case C_QUOTE:
        state = S_STR;
        break;
      case C_ALPHA:
        state = S_WORD;
        break;
      case C_PUNCT:
        counts[4]++;
        break;
      default:
        break;
      }
      break;
    case S_NUM:
      switch (c) {
      case C_DIGIT:
      case C_ALPHA:
      case C_MINUS:
        break;
      case C_PUNCT:
        counts[0]++;
        counts[4]++;
        state = S_START;
        break;
      default:
        counts[0]++;
        state = S_START;
      }
      break;
    case S_STR:
      switch (c) {
      case C_BSLASH:
        state = S_ESC;
        break;
      case C_QUOTE:
        counts[1]++;
        state = S_START;
        break;
      default:
        break;
      }
      break;
    case S_ESC:
      state = S_STR;
      break;
    case S_WORD:
      switch (c) {
      case C_ALPHA:
        break;
      case C_PUNCT:
        counts[2]++;
        counts[4]++;
        state = S_START;
        break;
      default:
        counts[2]++;
        state = S_START;
      }
      break;
    }
  }
  return counts[0] * 3u + counts[1] * 5u + counts[2] * 7u + counts[4];
}

/* A number DFA: sign? digits (. digits)? (e sign? digits)?; counts the valid numbers among
 * the maximal runs of number characters. */
static uint32_t numbers(const char *text, size_t n) {
  uint32_t valid = 0;
  int st = 0;
  for (size_t i = 0; i <= n; i++) {
    char ch = i < n ? text[i] : ' ';
    int next_st;
    switch (st) {
    case 0: /* outside */
      next_st = ch == '-' ? 1 : (ch >= '0' && ch <= '9') ? 2 : 0;
      break;
    case 1: /* sign */
      next_st = (ch >= '0' && ch <= '9') ? 2 : 8;
      break;
    case 2: /* integer digits */
      next_st = (ch >= '0' && ch <= '9') ? 2 : ch == '.' ? 3 : ch == 'e' ? 5 : 9;
      break;
    case 3: /* dot */
      next_st = (ch >= '0' && ch <= '9') ? 4 : 8;
      break;
    case 4: /* fraction */
      next_st = (ch >= '0' && ch <= '9') ? 4 : ch == 'e' ? 5 : 9;
      break;
    case 5: /* e */
      next_st = (ch == '+' || ch == '-') ? 6 : (ch >= '0' && ch <= '9') ? 7 : 8;
      break;
    case 6: /* exponent sign */
      next_st = (ch >= '0' && ch <= '9') ? 7 : 8;
      break;
    case 7: /* exponent digits */
      next_st = (ch >= '0' && ch <= '9') ? 7 : 9;
      break;
    default: /* 8: invalid until a separator */
      next_st = (ch == ' ' || ch == ',' || ch == ']' || ch == '}') ? 0 : 8;
    }
    if (next_st == 9) {
      valid++;
      next_st = 0;
    }
    st = next_st;
  }
  return valid;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 24;
  char *text = malloc(TEXT_BYTES + 64);
  if (!text)
    return 1;
  char *p = text;
  while (p < text + TEXT_BYTES)
    p = gen_token(p);
  size_t n = (size_t)(p - text);
  uint32_t sum = 0;
  for (int r = 0; r < rounds; r++) {
    uint32_t counts[5] = {0};
    sum = sum * 31u + tokenize(text, n, counts);
    sum = sum * 31u + numbers(text + (size_t)r, n - (size_t)r);
  }
  printf("fsm: %u\n", sum);
  free(text);
  return 0;
}

/* TOML dates and times (RFC 3339 with TOML's relaxations: a space may separate date and
 * time, the offset may be missing, either part may stand alone). Every field is range
 * checked, including the day against the month and leap years. */
#include "toml/toml.h"

#include <stdbool.h>

/* Reads exactly n decimal digits at s[*i]. */
static bool digits(const char *s, size_t len, size_t *i, int n, int *out) {
  int v = 0;
  for (int k = 0; k < n; k++) {
    if (*i >= len || s[*i] < '0' || s[*i] > '9')
      return false;
    v = v * 10 + (s[(*i)++] - '0');
  }
  *out = v;
  return true;
}

static bool expect(const char *s, size_t len, size_t *i, char c) {
  if (*i < len && s[*i] == c) {
    (*i)++;
    return true;
  }
  return false;
}

static int days_in_month(int year, int month) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
    return 29;
  return days[month - 1];
}

static bool parse_date(const char *s, size_t len, size_t *i, zh_toml_datetime *dt) {
  if (!digits(s, len, i, 4, &dt->year) || !expect(s, len, i, '-') ||
      !digits(s, len, i, 2, &dt->month) || !expect(s, len, i, '-') ||
      !digits(s, len, i, 2, &dt->day))
    return false;
  return dt->month >= 1 && dt->month <= 12 && dt->day >= 1 &&
         dt->day <= days_in_month(dt->year, dt->month);
}

/* TOML 1.0 requires the seconds; a fraction has at least one digit, and digits past
 * nanoseconds are accepted and dropped. Second 60 is RFC 3339's leap second. */
static bool parse_time(const char *s, size_t len, size_t *i, zh_toml_datetime *dt) {
  if (!digits(s, len, i, 2, &dt->hour) || !expect(s, len, i, ':') ||
      !digits(s, len, i, 2, &dt->minute) || !expect(s, len, i, ':') ||
      !digits(s, len, i, 2, &dt->second))
    return false;
  if (dt->hour > 23 || dt->minute > 59 || dt->second > 60)
    return false;
  dt->nanosecond = 0;
  if (expect(s, len, i, '.')) {
    int n = 0;
    uint32_t scale = 100000000;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
      dt->nanosecond += (uint32_t)(s[*i] - '0') * scale;
      scale /= 10;
      (*i)++;
      n++;
    }
    if (n == 0)
      return false;
  }
  return true;
}

static bool parse_offset(const char *s, size_t len, size_t *i, zh_toml_datetime *dt) {
  if (expect(s, len, i, 'Z') || expect(s, len, i, 'z')) {
    dt->offset_minutes = 0;
    return true;
  }
  if (*i >= len || (s[*i] != '+' && s[*i] != '-'))
    return false;
  int sign = s[(*i)++] == '-' ? -1 : 1, h, m;
  if (!digits(s, len, i, 2, &h) || !expect(s, len, i, ':') || !digits(s, len, i, 2, &m) || h > 23 ||
      m > 59)
    return false;
  dt->offset_minutes = sign * (h * 60 + m);
  dt->offset_unknown = sign < 0 && h == 0 && m == 0;
  return true;
}

int zh_toml_datetime_parse(const char *s, size_t len, zh_toml_datetime *out) {
  zh_toml_datetime dt = {0};
  size_t i = 0;
  if (len >= 3 && s[2] == ':') {
    if (!parse_time(s, len, &i, &dt) || i != len)
      return -1;
    *out = dt;
    return ZH_TOML_TIME_LOCAL;
  }
  if (!parse_date(s, len, &i, &dt))
    return -1;
  if (i == len) {
    *out = dt;
    return ZH_TOML_DATE_LOCAL;
  }
  if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
    return -1;
  i++;
  if (!parse_time(s, len, &i, &dt))
    return -1;
  int type = ZH_TOML_DATETIME_LOCAL;
  if (i < len) {
    if (!parse_offset(s, len, &i, &dt) || i != len)
      return -1;
    type = ZH_TOML_DATETIME;
  }
  *out = dt;
  return type;
}

/* Table-driven CRC-32 (IEEE, reflected) over a 1 MiB buffer, repeated: byte loads, shifts and
 * a table lookup per byte. Usage: crc32 [ROUNDS] (default 80). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BUF_SIZE (1u << 20)

static uint32_t table[256];
static uint8_t buf[BUF_SIZE];

static void make_table(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
}

static uint32_t crc32(uint32_t crc, const uint8_t *p, size_t n) {
  crc = ~crc;
  for (size_t i = 0; i < n; i++)
    crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

int main(int argc, char **argv) {
  unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 80;
  make_table();
  uint32_t x = 0x12345678u; /* xorshift32 fill */
  for (size_t i = 0; i < BUF_SIZE; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    buf[i] = (uint8_t)x;
  }
  uint32_t crc = 0;
  for (unsigned r = 0; r < rounds; r++) {
    crc = crc32(crc, buf, BUF_SIZE);
    buf[r % BUF_SIZE] ^= (uint8_t)crc; /* each round sees different data */
  }
  printf("crc32 rounds=%u checksum=%08x\n", rounds, (unsigned)crc);
  return 0;
}

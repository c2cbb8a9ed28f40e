/*
 * siphash.c - SipHash-1-3 (Aumasson and Bernstein, 2012; the reduced-round
 * variant that Rust and Python use for hash tables), the keyed 64-bit hash of
 * customer ids. A keyed PRF keeps the table safe from crafted collisions as
 * long as the key is secret; 1-3 rounds cost half of 2-4 on the ingest path.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <string.h>

#include "internal.h"

static inline uint64_t rotl(uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const unsigned char *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v; /* one unaligned load where the byte order allows it */
  memcpy(&v, p, sizeof v);
  return v;
#else
  return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
         (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
         (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
#endif
}

#define SIPROUND(v0, v1, v2, v3) \
  do {                           \
    v0 += v1;                    \
    v1 = rotl(v1, 13);           \
    v1 ^= v0;                    \
    v0 = rotl(v0, 32);           \
    v2 += v3;                    \
    v3 = rotl(v3, 16);           \
    v3 ^= v2;                    \
    v0 += v3;                    \
    v3 = rotl(v3, 21);           \
    v3 ^= v0;                    \
    v2 += v1;                    \
    v1 = rotl(v1, 17);           \
    v1 ^= v2;                    \
    v2 = rotl(v2, 32);           \
  } while (0)

uint64_t cxm__siphash13(const uint64_t key[2], const void *data, size_t len) {
  const unsigned char *p = (const unsigned char *)data;
  uint64_t v0 = key[0] ^ UINT64_C(0x736f6d6570736575);
  uint64_t v1 = key[1] ^ UINT64_C(0x646f72616e646f6d);
  uint64_t v2 = key[0] ^ UINT64_C(0x6c7967656e657261);
  uint64_t v3 = key[1] ^ UINT64_C(0x7465646279746573);
  size_t blocks = len / 8;
  for (size_t i = 0; i < blocks; i++, p += 8) {
    uint64_t m = load_le64(p);
    v3 ^= m;
    SIPROUND(v0, v1, v2, v3);
    v0 ^= m;
  }
  uint64_t b = (uint64_t)len << 56;
  switch (len & 7) {
    case 7: b |= (uint64_t)p[6] << 48; /* fall through */
    case 6: b |= (uint64_t)p[5] << 40; /* fall through */
    case 5: b |= (uint64_t)p[4] << 32; /* fall through */
    case 4: b |= (uint64_t)p[3] << 24; /* fall through */
    case 3: b |= (uint64_t)p[2] << 16; /* fall through */
    case 2: b |= (uint64_t)p[1] << 8;  /* fall through */
    case 1: b |= (uint64_t)p[0]; break;
    default: break;
  }
  v3 ^= b;
  SIPROUND(v0, v1, v2, v3);
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND(v0, v1, v2, v3);
  SIPROUND(v0, v1, v2, v3);
  SIPROUND(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

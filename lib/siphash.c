/*
 * siphash.c - SipHash-1-3 (Aumasson and Bernstein, 2012; the reduced-round
 * variant that Rust and Python use for hash tables), the keyed 64-bit hash of
 * customer ids. A keyed PRF keeps the table safe from crafted collisions as
 * long as the key is secret; 1-3 rounds cost half of 2-4 on the ingest path.
 *
 * A batch of ids is hashed four at a time in the 64-bit lanes of 256-bit
 * registers (checked at run time): one id's SipHash is a serial chain that
 * leaves most of a core idle, four side by side are not. With AVX-512VL the
 * lanes rotate in one instruction and read each id with one masked load;
 * with AVX2 only, a rotate is two shifts and an or. The lanes compute
 * exactly the scalar function.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <string.h>

#include "internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(CXM_NO_SIMD)
#include <immintrin.h>
#define SIP_AVX2 1
#endif

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

/* The last word: the 0..7 trailing bytes and the length in the top byte. */
static inline uint64_t tail_word(const unsigned char *p, size_t len) {
  uint64_t b = (uint64_t)len << 56;
  p += len & ~(size_t)7;
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
  return b;
}

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
  uint64_t b = tail_word((const unsigned char *)data, len);
  v3 ^= b;
  SIPROUND(v0, v1, v2, v3);
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND(v0, v1, v2, v3);
  SIPROUND(v0, v1, v2, v3);
  SIPROUND(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

#ifdef SIP_AVX2
#define SIP_TARGET __attribute__((target("avx2")))

SIP_TARGET static inline __m256i rotl4(__m256i x, int b) {
  return _mm256_or_si256(_mm256_slli_epi64(x, b), _mm256_srli_epi64(x, 64 - b));
}

/* Rotations by 16 and 32 are byte shuffles: one instruction, not three. */
#define ROT16_MASK                                                              \
  _mm256_setr_epi8(6, 7, 0, 1, 2, 3, 4, 5, 14, 15, 8, 9, 10, 11, 12, 13, 6, 7, \
                   0, 1, 2, 3, 4, 5, 14, 15, 8, 9, 10, 11, 12, 13)
#define ROT32(x) _mm256_shuffle_epi32((x), _MM_SHUFFLE(2, 3, 0, 1))

#define SIPROUND4(v0, v1, v2, v3)            \
  do {                                       \
    v0 = _mm256_add_epi64(v0, v1);           \
    v1 = rotl4(v1, 13);                      \
    v1 = _mm256_xor_si256(v1, v0);           \
    v0 = ROT32(v0);                          \
    v2 = _mm256_add_epi64(v2, v3);           \
    v3 = _mm256_shuffle_epi8(v3, rot16);     \
    v3 = _mm256_xor_si256(v3, v2);           \
    v0 = _mm256_add_epi64(v0, v3);           \
    v3 = rotl4(v3, 21);                      \
    v3 = _mm256_xor_si256(v3, v0);           \
    v2 = _mm256_add_epi64(v2, v1);           \
    v1 = rotl4(v1, 17);                      \
    v1 = _mm256_xor_si256(v1, v2);           \
    v2 = ROT32(v2);                          \
  } while (0)

/* The last word as tail_word() builds it, with one load when the id has
   at least 8 bytes: its last 8 bytes shifted down to the trailing ones. */
static inline uint64_t tail_word_fast(const unsigned char *p, size_t len) {
  if (len < 8) return tail_word(p, len);
  unsigned r = (unsigned)(len & 7);
  uint64_t t = r ? load_le64(p + len - 8) >> (64 - 8 * r) : 0;
  return t | (uint64_t)len << 56;
}

SIP_TARGET static inline __m256i words4(const unsigned char *const p[4], size_t off) {
  return _mm256_set_epi64x((long long)load_le64(p[3] + off), (long long)load_le64(p[2] + off),
                           (long long)load_le64(p[1] + off), (long long)load_le64(p[0] + off));
}

/* Four ids of any lengths: lane l absorbs its len[l] / 8 + 1 words. Ids of
   one length (the usual case) run in lockstep; otherwise a lane whose words
   are done keeps its state (blend) while longer ones go on. */
SIP_TARGET static void sip4(const uint64_t key[2], const unsigned char *const p[4],
                            const size_t len[4], uint64_t out[4]) {
  const __m256i rot16 = ROT16_MASK;
  __m256i k0 = _mm256_set1_epi64x((long long)key[0]);
  __m256i k1 = _mm256_set1_epi64x((long long)key[1]);
  __m256i v0 = _mm256_xor_si256(k0, _mm256_set1_epi64x(0x736f6d6570736575LL));
  __m256i v1 = _mm256_xor_si256(k1, _mm256_set1_epi64x(0x646f72616e646f6dLL));
  __m256i v2 = _mm256_xor_si256(k0, _mm256_set1_epi64x(0x6c7967656e657261LL));
  __m256i v3 = _mm256_xor_si256(k1, _mm256_set1_epi64x(0x7465646279746573LL));
  __m256i tail = _mm256_set_epi64x(
      (long long)tail_word_fast(p[3], len[3]), (long long)tail_word_fast(p[2], len[2]),
      (long long)tail_word_fast(p[1], len[1]), (long long)tail_word_fast(p[0], len[0]));
  size_t nb = len[0] / 8;
  if (len[1] / 8 == nb && len[2] / 8 == nb && len[3] / 8 == nb) {
    for (size_t r = 0; r < nb; r++) {
      __m256i m = words4(p, 8 * r);
      v3 = _mm256_xor_si256(v3, m);
      SIPROUND4(v0, v1, v2, v3);
      v0 = _mm256_xor_si256(v0, m);
    }
    v3 = _mm256_xor_si256(v3, tail);
    SIPROUND4(v0, v1, v2, v3);
    v0 = _mm256_xor_si256(v0, tail);
  } else {
    size_t lb[4], maxb = 0;
    for (int l = 0; l < 4; l++) {
      lb[l] = len[l] / 8;
      if (lb[l] > maxb) maxb = lb[l];
    }
    for (size_t r = 0; r <= maxb; r++) {
      long long w[4], act[4];
      for (int l = 0; l < 4; l++) {
        w[l] = r < lb[l] ? (long long)load_le64(p[l] + 8 * r) : 0;
        act[l] = r <= lb[l] ? -1 : 0;
      }
      __m256i keep = _mm256_set_epi64x(act[3], act[2], act[1], act[0]);
      __m256i last = _mm256_cmpeq_epi64(
          _mm256_set_epi64x((long long)lb[3], (long long)lb[2], (long long)lb[1], (long long)lb[0]),
          _mm256_set1_epi64x((long long)r));
      __m256i m = _mm256_blendv_epi8(_mm256_set_epi64x(w[3], w[2], w[1], w[0]), tail, last);
      __m256i a0 = v0, a1 = v1, a2 = v2, a3 = _mm256_xor_si256(v3, m);
      SIPROUND4(a0, a1, a2, a3);
      a0 = _mm256_xor_si256(a0, m);
      v0 = _mm256_blendv_epi8(v0, a0, keep);
      v1 = _mm256_blendv_epi8(v1, a1, keep);
      v2 = _mm256_blendv_epi8(v2, a2, keep);
      v3 = _mm256_blendv_epi8(v3, a3, keep);
    }
  }
  v2 = _mm256_xor_si256(v2, _mm256_set1_epi64x(0xff));
  SIPROUND4(v0, v1, v2, v3);
  SIPROUND4(v0, v1, v2, v3);
  SIPROUND4(v0, v1, v2, v3);
  __m256i h = _mm256_xor_si256(_mm256_xor_si256(v0, v1), _mm256_xor_si256(v2, v3));
  _mm256_storeu_si256((__m256i *)(void *)out, h);
}

static int have_avx2(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

/* AVX-512VL: the same four lanes with one-instruction rotates (vprolq)
   where AVX2 needs two shifts and an or. Only 256-bit registers: 512-bit
   instructions lower the core's clock for the whole ingest loop around the
   hash (an eight-lane zmm variant made the batch ingest slower: 7.37 against
   8.69 M events per CPU second for the AVX2 lanes at 10,000 customers);
   256-bit integer work does not. 24-byte ids, best of 40 x 50 batches of
   4096 on the development Xeon: 5.0 ns per id against 7.6 for the AVX2
   lanes. (Reading each id by one masked load and transposing the rows was
   slower, 12.5 ns: likely the unpacks and permutes, all on one port.) */
#define SIP_VL_TARGET __attribute__((target("avx2,avx512f,avx512vl")))

#define SIPROUND4R(v0, v1, v2, v3)           \
  do {                                       \
    v0 = _mm256_add_epi64(v0, v1);           \
    v1 = _mm256_rol_epi64(v1, 13);           \
    v1 = _mm256_xor_si256(v1, v0);           \
    v0 = _mm256_rol_epi64(v0, 32);           \
    v2 = _mm256_add_epi64(v2, v3);           \
    v3 = _mm256_rol_epi64(v3, 16);           \
    v3 = _mm256_xor_si256(v3, v2);           \
    v0 = _mm256_add_epi64(v0, v3);           \
    v3 = _mm256_rol_epi64(v3, 21);           \
    v3 = _mm256_xor_si256(v3, v0);           \
    v2 = _mm256_add_epi64(v2, v1);           \
    v1 = _mm256_rol_epi64(v1, 17);           \
    v1 = _mm256_xor_si256(v1, v2);           \
    v2 = _mm256_rol_epi64(v2, 32);           \
  } while (0)

/* The whole words of ids of 8 to 39 bytes (emails, UUIDs, hex keys) in
   straight code: no loop counter, and no register renaming between the
   rounds that a loop needs (callgrind, 24-byte ids: 62.7 -> 55.7
   instructions per id with the AVX2 lanes). */
#define SIP4_WORDS(nb, W)                          \
  do {                                             \
    switch (nb) {                                  \
      case 1: W(0); break;                         \
      case 2: W(0); W(1); break;                   \
      case 3: W(0); W(1); W(2); break;             \
      case 4: W(0); W(1); W(2); W(3); break;       \
      default:                                     \
        for (size_t r_ = 0; r_ < (nb); r_++) W(r_); \
    }                                              \
  } while (0)

/* The lockstep hash of four ids with nb whole words each and their last
   words (init, p, nb, tail, out in scope), with the rounds of ROUND (the
   AVX-512VL rotates or the AVX2 shifts and shuffles) and WORD (absorbing
   word r with them): the two lanes' functions differ only there. */
#define SIP4_ABSORB(ROUND, r)                \
  do {                                       \
    __m256i m = words4(p, 8 * (r));          \
    v3 = _mm256_xor_si256(v3, m);            \
    ROUND(v0, v1, v2, v3);                   \
    v0 = _mm256_xor_si256(v0, m);            \
  } while (0)
#define SIP4_LOCKSTEP(ROUND, WORD)                                               \
  do {                                                                           \
    __m256i v0 = init[0], v1 = init[1], v2 = init[2], v3 = init[3];              \
    SIP4_WORDS(nb, WORD);                                                        \
    v3 = _mm256_xor_si256(v3, tail);                                             \
    ROUND(v0, v1, v2, v3);                                                       \
    v0 = _mm256_xor_si256(v0, tail);                                             \
    v2 = _mm256_xor_si256(v2, _mm256_set1_epi64x(0xff));                         \
    ROUND(v0, v1, v2, v3);                                                       \
    ROUND(v0, v1, v2, v3);                                                       \
    ROUND(v0, v1, v2, v3);                                                       \
    __m256i h = _mm256_xor_si256(_mm256_xor_si256(v0, v1), _mm256_xor_si256(v2, v3)); \
    _mm256_storeu_si256((__m256i *)(void *)out, h);                              \
  } while (0)

/* Four ids with the same number nb of whole words and their last words. */
SIP_VL_TARGET static CXM_INLINE void sip4vl(const __m256i init[4], const unsigned char *const p[4],
                                            size_t nb, __m256i tail, uint64_t out[4]) {
#define SIP4R_WORD(r) SIP4_ABSORB(SIPROUND4R, r)
  SIP4_LOCKSTEP(SIPROUND4R, SIP4R_WORD);
#undef SIP4R_WORD
}

/* The ids of events i .. i + 3 as in cxm__siphash13_ids: an invalid range
   reads as an empty id (at a valid address: no byte of it is read). */
static inline void ids4(const unsigned char *data, const int64_t *off, size_t i,
                        const unsigned char *p[4], size_t len[4]) {
  static const unsigned char none[1] = {0};
  for (int l = 0; l < 4; l++) {
    int64_t a = off[i + (size_t)l], z = off[i + (size_t)l + 1];
    int ok = a >= 0 && z > a;
    len[l] = ok ? (size_t)(z - a) : 0;
    p[l] = ok ? data + a : none;
  }
}

/* The usual group of four: valid ids of one whole-word count nb >= 1 (the
   tail then comes from each id's last 8 bytes, shifted in the lanes). The
   checks, lengths and tails of the four take a few vector instructions
   where the general path (ids4, tail_word_fast) takes about a hundred
   scalar ones: 0 when the group is not of that kind. z > a is compared,
   not z - a > 0, which can wrap. */
SIP_TARGET static inline int lanes4(const unsigned char *data, const int64_t *off,
                                    const unsigned char *p[4], size_t *nb, __m256i *tail) {
  __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)off);
  __m256i z = _mm256_loadu_si256((const __m256i *)(const void *)(off + 1));
  __m256i len = _mm256_sub_epi64(z, a);
  __m256i w = _mm256_srli_epi64(len, 3);
  __m256i bad = _mm256_or_si256(_mm256_cmpgt_epi64(_mm256_setzero_si256(), a),
                                _mm256_cmpgt_epi64(_mm256_set1_epi64x(8), len));
  bad = _mm256_or_si256(bad, _mm256_cmpeq_epi64(_mm256_cmpgt_epi64(z, a), _mm256_setzero_si256()));
  __m256i same = _mm256_cmpeq_epi64(w, _mm256_permute4x64_epi64(w, 0));
  if (!_mm256_testc_si256(same, _mm256_set1_epi64x(-1)) || !_mm256_testz_si256(bad, bad))
    return 0;
  for (int l = 0; l < 4; l++) p[l] = data + off[l];
  *nb = (size_t)(off[1] - off[0]) / 8;
  __m256i last = _mm256_set_epi64x(
      (long long)load_le64(data + off[4] - 8), (long long)load_le64(data + off[3] - 8),
      (long long)load_le64(data + off[2] - 8), (long long)load_le64(data + off[1] - 8));
  /* the r = len % 8 trailing bytes are the top r of the last 8: shifted by
     64 - 8r, which is 64 (all out) for r = 0 */
  __m256i sh = _mm256_sub_epi64(_mm256_set1_epi64x(64),
                                _mm256_slli_epi64(_mm256_and_si256(len, _mm256_set1_epi64x(7)), 3));
  *tail = _mm256_or_si256(_mm256_srlv_epi64(last, sh), _mm256_slli_epi64(len, 56));
  return 1;
}

/* The initial state of every lane under the key, set once per batch. */
SIP_TARGET static inline void sip4_init(const uint64_t key[2], __m256i init[4]) {
  __m256i k0 = _mm256_set1_epi64x((long long)key[0]);
  __m256i k1 = _mm256_set1_epi64x((long long)key[1]);
  init[0] = _mm256_xor_si256(k0, _mm256_set1_epi64x(0x736f6d6570736575LL));
  init[1] = _mm256_xor_si256(k1, _mm256_set1_epi64x(0x646f72616e646f6dLL));
  init[2] = _mm256_xor_si256(k0, _mm256_set1_epi64x(0x6c7967656e657261LL));
  init[3] = _mm256_xor_si256(k1, _mm256_set1_epi64x(0x7465646279746573LL));
}

/* Groups of four whose ids share the word count go through sip4vl, others
   through the blending AVX2 lanes. */
SIP_VL_TARGET static size_t ids_vl(const uint64_t key[2], size_t n, const unsigned char *data,
                                   const int64_t *off, uint64_t *out) {
  __m256i init[4];
  sip4_init(key, init);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const unsigned char *p[4];
    size_t l[4], nb;
    __m256i tail;
    if (lanes4(data, off + i, p, &nb, &tail)) {
      sip4vl(init, p, nb, tail, out + i);
      continue;
    }
    ids4(data, off, i, p, l);
    nb = l[0] / 8;
    if (l[1] / 8 == nb && l[2] / 8 == nb && l[3] / 8 == nb) {
      tail = _mm256_set_epi64x(
          (long long)tail_word_fast(p[3], l[3]), (long long)tail_word_fast(p[2], l[2]),
          (long long)tail_word_fast(p[1], l[1]), (long long)tail_word_fast(p[0], l[0]));
      sip4vl(init, p, nb, tail, out + i);
    } else {
      sip4(key, p, l, out + i);
    }
  }
  return i;
}

/* sip4's lockstep case for lanes4's groups, the initial state given. */
SIP_TARGET static CXM_INLINE void sip4ls(const __m256i init[4], const unsigned char *const p[4],
                                         size_t nb, __m256i tail, uint64_t out[4]) {
  const __m256i rot16 = ROT16_MASK; /* SIPROUND4's */
#define SIP4_WORD(r) SIP4_ABSORB(SIPROUND4, r)
  SIP4_LOCKSTEP(SIPROUND4, SIP4_WORD);
#undef SIP4_WORD
}

SIP_TARGET static size_t ids_avx2(const uint64_t key[2], size_t n, const unsigned char *data,
                                  const int64_t *off, uint64_t *out) {
  __m256i init[4];
  sip4_init(key, init);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const unsigned char *p[4];
    size_t l[4], nb;
    __m256i tail;
    if (lanes4(data, off + i, p, &nb, &tail)) {
      sip4ls(init, p, nb, tail, out + i);
      continue;
    }
    ids4(data, off, i, p, l);
    sip4(key, p, l, out + i);
  }
  return i;
}

static int have_avx512vl(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
}
#endif

void cxm__siphash13_ids(const uint64_t key[2], size_t n, const unsigned char *data,
                        const int64_t *off, uint64_t *out) {
  size_t i = 0;
#ifdef SIP_AVX2
  if (n >= 4) {
    if (have_avx512vl())
      i = ids_vl(key, n, data, off, out);
    else if (have_avx2())
      i = ids_avx2(key, n, data, off, out);
  }
#endif
  for (; i < n; i++) {
    int64_t a = off[i], z = off[i + 1];
    out[i] = a >= 0 && z > a ? cxm__siphash13(key, data + a, (size_t)(z - a))
                             : cxm__siphash13(key, "", 0);
  }
}

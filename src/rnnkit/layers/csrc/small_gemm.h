// Hand-written kernels for the skinny products over all steps, where MKL is slow on CPUs it
// has no tuned path for (AMD Zen 3, one thread: x @ W_ih^T at 30720x14 @ 14x128 takes 8.3 ms
// in MKL, 3.6-4.5 ms here; dx at 30720x128 @ 128x14 8.7 ms in MKL, 5.2-5.8 ms here):
//   rows_small_k  C[r] = A[r] @ B      (K = input size, small: x @ W_ih^T)
//   rows_small_n  C[r] = A[r] @ B      (N = input size, small: dgates @ W_ih = dx)
// Rows come as ranges of a flat row index (one range per sequence with lengths), so padding
// costs nothing. Each kernel splits its rows over the torch threads; results do not depend on
// the thread count. (The weight gradient, a sum over all rows, stays with BLAS: a packed 6x16
// register-tile kernel measured no faster than MKL there, 9.0 vs 10.3 ms at shape A.)
#pragma once
#include <ATen/Parallel.h>
#include "ftz.h"
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace rnnkit {

using Ranges = std::vector<std::pair<int64_t, int64_t>>;  // [row0, row1) of a flat row index

// Largest K (rows_small_k) and N (rows_small_n) the kernels take; beyond it MKL is efficient.
constexpr int64_t SMALL_DIM = 32;

inline int64_t ranges_rows(const Ranges& rs) {
  int64_t n = 0;
  for (auto& r : rs) n += r.second - r.first;
  return n;
}

// Calls f(row0, row1) over all rows of `rs`, cut into pieces of about `grain` rows, in parallel.
template <typename F>
inline void for_rows(const Ranges& rs, int64_t grain, const F& f) {
  std::vector<std::pair<int64_t, int64_t>> pieces;
  for (auto& r : rs)
    for (int64_t a = r.first; a < r.second; a += grain)
      pieces.emplace_back(a, std::min(r.second, a + grain));
  pfor(0, (int64_t)pieces.size(), 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) f(pieces[p].first, pieces[p].second);
  });
}

// C[r, :N] = A[r, :K] @ B[K, N] for r in rs; B row-major contiguous (ld N), K <= SMALL_DIM.
// Columns in tiles of 64 held in registers across the K loop.
template <typename T>
inline void rows_small_k(const Ranges& rs, int64_t K, int64_t N, const T* A, int64_t lda,
                         const T* B, T* C, int64_t ldc) {
  constexpr int64_t NT = 256 / (int64_t)sizeof(T);  // 64 float columns (8 AVX2 registers)
  for_rows(rs, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* a = A + r * lda;
      T* c = C + r * ldc;
      int64_t n0 = 0;
      for (; n0 + NT <= N; n0 += NT) {
        T acc[NT];
#pragma omp simd
        for (int64_t n = 0; n < NT; ++n) acc[n] = T(0);
        for (int64_t k = 0; k < K; ++k) {
          const T av = a[k];
          const T* b = B + k * N + n0;
#pragma omp simd
          for (int64_t n = 0; n < NT; ++n) acc[n] += av * b[n];
        }
        std::memcpy(c + n0, acc, sizeof(T) * NT);
      }
      if (n0 < N) {
        const int64_t w = N - n0;
        T acc[NT];
        for (int64_t n = 0; n < w; ++n) acc[n] = T(0);
        for (int64_t k = 0; k < K; ++k) {
          const T av = a[k];
          const T* b = B + k * N + n0;
#pragma omp simd
          for (int64_t n = 0; n < w; ++n) acc[n] += av * b[n];
        }
        std::memcpy(c + n0, acc, sizeof(T) * w);
      }
    }
  });
}

// C[r, :N] = A[r, :K] @ B[K, N] for r in rs; N <= SMALL_DIM. B is copied into a panel padded to
// NP = 32 columns so each row's result is a fixed-width register block.
template <typename T>
inline void rows_small_n(const Ranges& rs, int64_t K, int64_t N, const T* A, int64_t lda,
                         const T* B, int64_t ldb, T* C, int64_t ldc) {
  constexpr int64_t NP = SMALL_DIM;
  std::vector<T> panel(K * NP, T(0));
  for (int64_t k = 0; k < K; ++k) std::memcpy(panel.data() + k * NP, B + k * ldb, sizeof(T) * N);
  const T* P = panel.data();
  const bool narrow = N <= NP / 2;
  for_rows(rs, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* a = A + r * lda;
      T acc[NP];
      if (narrow) {  // N <= 16: half the panel width, half the work
#pragma omp simd
        for (int64_t n = 0; n < NP / 2; ++n) acc[n] = T(0);
        for (int64_t k = 0; k < K; ++k) {
          const T av = a[k];
          const T* b = P + k * NP;
#pragma omp simd
          for (int64_t n = 0; n < NP / 2; ++n) acc[n] += av * b[n];
        }
      } else {
#pragma omp simd
        for (int64_t n = 0; n < NP; ++n) acc[n] = T(0);
        for (int64_t k = 0; k < K; ++k) {
          const T av = a[k];
          const T* b = P + k * NP;
#pragma omp simd
          for (int64_t n = 0; n < NP; ++n) acc[n] += av * b[n];
        }
      }
      std::memcpy(C + r * ldc, acc, sizeof(T) * N);
    }
  });
}

// ---- float: GCC/Clang vector types (8 lanes; AVX2 registers on x86-64-v3, pairs of SSE or
// NEON registers elsewhere), several independent accumulators to hide the FMA latency.
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));  // unaligned loads/stores
inline v8 ld8(const float* p) { return *(const v8u*)p; }
inline void st8(float* p, v8 v) { *(v8u*)p = v; }
inline v8 bc8(float a) { return v8{a, a, a, a, a, a, a, a}; }

template <>
inline void rows_small_k<float>(const Ranges& rs, int64_t K, int64_t N, const float* A,
                                int64_t lda, const float* B, float* C, int64_t ldc) {
  const int64_t N8 = N / 8 * 8;
  for_rows(rs, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* a = A + r * lda;
      float* c = C + r * ldc;
      int64_t n0 = 0;
      for (; n0 + 64 <= N8; n0 += 64) {  // 8 registers of the row's output
        v8 c0 = bc8(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        for (int64_t k = 0; k < K; ++k) {
          const v8 av = bc8(a[k]);
          const float* b = B + k * N + n0;
          c0 += av * ld8(b); c1 += av * ld8(b + 8); c2 += av * ld8(b + 16); c3 += av * ld8(b + 24);
          c4 += av * ld8(b + 32); c5 += av * ld8(b + 40); c6 += av * ld8(b + 48); c7 += av * ld8(b + 56);
        }
        st8(c + n0, c0); st8(c + n0 + 8, c1); st8(c + n0 + 16, c2); st8(c + n0 + 24, c3);
        st8(c + n0 + 32, c4); st8(c + n0 + 40, c5); st8(c + n0 + 48, c6); st8(c + n0 + 56, c7);
      }
      for (; n0 < N8; n0 += 8) {
        v8 c0 = bc8(0);
        for (int64_t k = 0; k < K; ++k) c0 += bc8(a[k]) * ld8(B + k * N + n0);
        st8(c + n0, c0);
      }
      for (int64_t n = N8; n < N; ++n) {
        float acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += a[k] * B[k * N + n];
        c[n] = acc;
      }
    }
  });
}

template <>
inline void rows_small_n<float>(const Ranges& rs, int64_t K, int64_t N, const float* A,
                                int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
  constexpr int64_t NP = SMALL_DIM;  // panel width: 4 registers
  std::vector<float> panel(K * NP, 0.f);
  for (int64_t k = 0; k < K; ++k) std::memcpy(panel.data() + k * NP, B + k * ldb, sizeof(float) * N);
  const float* P = panel.data();
  const int64_t nv = (N + 7) / 8;  // registers per row that matter
  for_rows(rs, 256, [&](int64_t r0, int64_t r1) {
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {  // 4 rows at once: independent accumulators
      v8 acc[4][4];
      for (int i = 0; i < 4; ++i) for (int v = 0; v < 4; ++v) acc[i][v] = bc8(0);
      const float* a0 = A + r * lda;
      if (nv <= 2) {
        for (int64_t k = 0; k < K; ++k) {
          const v8 p0 = ld8(P + k * NP), p1 = ld8(P + k * NP + 8);
          for (int i = 0; i < 4; ++i) {
            const v8 av = bc8(a0[i * lda + k]);
            acc[i][0] += av * p0; acc[i][1] += av * p1;
          }
        }
      } else {
        for (int64_t k = 0; k < K; ++k) {
          const v8 p0 = ld8(P + k * NP), p1 = ld8(P + k * NP + 8);
          const v8 p2 = ld8(P + k * NP + 16), p3 = ld8(P + k * NP + 24);
          for (int i = 0; i < 4; ++i) {
            const v8 av = bc8(a0[i * lda + k]);
            acc[i][0] += av * p0; acc[i][1] += av * p1; acc[i][2] += av * p2; acc[i][3] += av * p3;
          }
        }
      }
      for (int i = 0; i < 4; ++i) {
        float out[NP];
        for (int v = 0; v < 4; ++v) st8(out + 8 * v, acc[i][v]);
        std::memcpy(C + (r + i) * ldc, out, sizeof(float) * N);
      }
    }
    for (; r < r1; ++r) {
      v8 acc[4] = {bc8(0), bc8(0), bc8(0), bc8(0)};
      const float* a = A + r * lda;
      for (int64_t k = 0; k < K; ++k) {
        const v8 av = bc8(a[k]);
        for (int v = 0; v < 4; ++v) acc[v] += av * ld8(P + k * NP + 8 * v);
      }
      float out[NP];
      for (int v = 0; v < 4; ++v) st8(out + 8 * v, acc[v]);
      std::memcpy(C + r * ldc, out, sizeof(float) * N);
    }
  });
}

}  // namespace rnnkit

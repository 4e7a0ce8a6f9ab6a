// One LSTM step for small hidden sizes (float32, H a multiple of 16, H <= 128) without a GEMM
// call: the pre-activations of a block of rows and 16 hidden units (all four gates) are summed
// in registers from x W_ih^T + b (computed for all steps beforehand) and h_masked @ W_hh^T, with
// W_hh packed once per call so each k reads four contiguous 16-wide vectors; the cell is then
// applied to those 16 units at once. At H = 32 MKL's sgemm spends ~10 us per 128 x 32 x 128
// product on packing and dispatch; this does the product and the cell in ~3-4 us.
// GCC vector extensions of the build's register width (AVX-512, AVX2, else 4 lanes: NEON on
// aarch64), so nothing here is specific to one instruction set.
#pragma once
#include "common.h"
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace rnnkit {

// The register width of the build: one 16-unit tile is NV registers of VL floats. A 64-byte
// generic vector on an AVX2 build is lowered through memory (18x slower, measured), so the
// vector type is always the machine's own.
#if defined(__AVX512F__)
constexpr int VL = 16;
#elif defined(__AVX__)
constexpr int VL = 8;
#else
constexpr int VL = 4;
#endif
constexpr int NV = 16 / VL;
// Rows per block of the forward product: 4 x 4 gates x NV accumulators must fit the registers
// (32 zmm on AVX-512; 16 ymm on AVX2 hold one row's 8).
constexpr int PRE_ROWS = VL == 16 ? 4 : VL == 8 ? 1 : 2;
typedef float vfl __attribute__((vector_size(VL * sizeof(float))));
inline vfl loadv(const float* p) { vfl v; std::memcpy(&v, p, sizeof v); return v; }
inline void storev(float* p, vfl v) { std::memcpy(p, &v, sizeof v); }

// Used for float LSTM layers whose H is a multiple of 16 up to 128, unless the GEMM backend is
// forced (RNNKIT_GEMM / gemm=: then every product goes through that backend, as tests expect)
// or RNNKIT_LSTM_STEP=0.
inline bool lstm_step_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("RNNKIT_LSTM_STEP");
    return !(e && e[0] == '0');
  }();
  return on;
}
inline bool lstm_step_fits(int64_t H) { return H % 16 == 0 && H >= 16 && H <= 128; }
template <typename T>
inline bool use_lstm_step(int64_t mode, int64_t H, int64_t backend) {
  return std::is_same<T, float>::value && mode == LSTM && lstm_step_fits(H) && !(backend & EXACT) &&
         lstm_step_enabled();
}
// Threads for the time loop over blocks of 4 rows (at least 4 blocks each).
inline int64_t lstm_step_threads(int64_t B) {
  return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), (B + 3) / 4 / 4));
}

// W_hh [4H, H] row-major -> [H/16 tiles][H k][4 gates][16 units].
inline std::vector<float> pack_lstm_whh(const float* w, int64_t H) {
  std::vector<float> out(static_cast<size_t>(4 * H * H));
  for (int64_t t = 0; t < H / 16; ++t)
    for (int64_t k = 0; k < H; ++k)
      for (int64_t g = 0; g < 4; ++g)
        for (int64_t l = 0; l < 16; ++l)
          out[((t * H + k) * 4 + g) * 16 + l] = w[(g * H + t * 16 + l) * H + k];
  return out;
}

// pre[r][g][l] = xr[r][g*H + 16t + l] + bx[g*H + 16t + l] + sum_k hm[r][k] * W_hh[g*H + 16t + l][k]
template <int R>
inline void lstm_pre_block(const float* const* hm, const float* const* xr, const float* bx,
                           const float* wp, int64_t H, int64_t t, float (*pre)[4][16]) {
  vfl acc[R][4][NV];
  for (int g = 0; g < 4; ++g)
    for (int v = 0; v < NV; ++v) {
      const vfl b = loadv(bx + g * H + t * 16 + v * VL);
      for (int r = 0; r < R; ++r) acc[r][g][v] = loadv(xr[r] + g * H + t * 16 + v * VL) + b;
    }
  const float* w = wp + t * H * 64;
  for (int64_t k = 0; k < H; ++k, w += 64)
    for (int g = 0; g < 4; ++g)
      for (int v = 0; v < NV; ++v) {
        const vfl wv = loadv(w + g * 16 + v * VL);
        for (int r = 0; r < R; ++r) acc[r][g][v] += hm[r][k] * wv;
      }
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < 4; ++g)
      for (int v = 0; v < NV; ++v) storev(pre[r][g] + v * VL, acc[r][g][v]);
}

// All R (<= 4) rows of a block, PRE_ROWS at a time.
inline void lstm_pre_rows(int64_t R, const float* const* hm, const float* const* xr, const float* bx,
                          const float* wp, int64_t H, int64_t t, float (*pre)[4][16]) {
  int64_t r = 0;
  for (; r + PRE_ROWS <= R; r += PRE_ROWS) lstm_pre_block<PRE_ROWS>(hm + r, xr + r, bx, wp, H, t, pre + r);
  for (; r < R; ++r) lstm_pre_block<1>(hm + r, xr + r, bx, wp, H, t, pre + r);
}

// Backward: out[r][16t + l] = sum_q dg[r][q] * W_hh[q][16t + l] (q over the 4H gate rows; W_hh
// [4H, H] row-major, so each q reads one contiguous 16-wide piece), the recurrent gradient
// of R rows for one tile of 16 units.
template <int R>
inline void lstm_dh_block(const float* const* dg, const float* w, int64_t H, int64_t t, float* const* out) {
  vfl acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = vfl{};
  const float* wc = w + t * 16;
  for (int64_t q = 0; q < 4 * H; ++q, wc += H)
    for (int v = 0; v < NV; ++v) {
      const vfl wv = loadv(wc + v * VL);
      for (int r = 0; r < R; ++r) acc[r][v] += dg[r][q] * wv;
    }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) storev(out[r] + t * 16 + v * VL, acc[r][v]);
}

}  // namespace rnnkit

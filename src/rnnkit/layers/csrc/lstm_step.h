// One LSTM step for small hidden sizes (float32, H a multiple of 16, H <= 128) without a GEMM
// call: the pre-activations of a block of rows and 16 hidden units (all four gates) are summed
// in registers from x W_ih^T + b (computed for all steps beforehand) and h_masked @ W_hh^T, with
// W_hh packed once per call so each k reads four contiguous 16-wide vectors; the cell is then
// applied to those 16 units at once. At H = 32 MKL's sgemm spends ~10 us per 128 x 32 x 128
// product on packing and dispatch; this does the product and the cell in ~3-4 us.
// GCC vector extensions (64-byte vectors): AVX-512 registers on x86-64-v4, register pairs on
// AVX2, NEON quads on aarch64, so nothing here is specific to one instruction set.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace rnnkit {

typedef float vf16 __attribute__((vector_size(64)));
inline vf16 load16(const float* p) { vf16 v; std::memcpy(&v, p, sizeof v); return v; }
inline void store16(float* p, vf16 v) { std::memcpy(p, &v, sizeof v); }

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
  vf16 acc[R][4];
  for (int g = 0; g < 4; ++g) {
    const vf16 b = load16(bx + g * H + t * 16);
    for (int r = 0; r < R; ++r) acc[r][g] = load16(xr[r] + g * H + t * 16) + b;
  }
  const float* w = wp + t * H * 64;
  for (int64_t k = 0; k < H; ++k, w += 64) {
    const vf16 w0 = load16(w), w1 = load16(w + 16), w2 = load16(w + 32), w3 = load16(w + 48);
    for (int r = 0; r < R; ++r) {
      const float hv = hm[r][k];
      acc[r][0] += hv * w0; acc[r][1] += hv * w1; acc[r][2] += hv * w2; acc[r][3] += hv * w3;
    }
  }
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < 4; ++g) store16(pre[r][g], acc[r][g]);
}

// Backward: out[r][16t + l] = sum_q dg[r][q] * W_hh[q][16t + l] (q over the 4H gate rows; W_hh
// [4H, H] row-major, so each q reads one contiguous 16-wide piece), the recurrent gradient
// of R rows for one tile of 16 units.
template <int R>
inline void lstm_dh_block(const float* const* dg, const float* w, int64_t H, int64_t t, float* const* out) {
  vf16 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = vf16{};
  const float* wc = w + t * 16;
  for (int64_t q = 0; q < 4 * H; ++q, wc += H) {
    const vf16 wv = load16(wc);
    for (int r = 0; r < R; ++r) acc[r] += dg[r][q] * wv;
  }
  for (int r = 0; r < R; ++r) store16(out[r] + t * 16, acc[r]);
}

}  // namespace rnnkit

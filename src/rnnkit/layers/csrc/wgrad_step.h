// Weight gradients summed inside the backward time loop of a small fused layer (gru_step.h; the
// LSTM's loop in scan_backward.cpp) instead of products over all steps afterwards. The backward
// loop hands each block of (up to) 4 rows to a rank-4 update of its thread's accumulator while
// the rows' gate gradients and saved inputs are still in cache: acc[k][:] += sum_r a[r][k] *
// d[r][:], a the [x | h_masked | 1] rows of the forward's xh buffer, d the gate gradients. At
// shape A (B=128, T=240, I=14, H=32) the products over all steps took ~5 ms of a ~13 ms GRU step
// on 2 Sapphire Rapids threads (oneDNN, K = B*T = 30720, N = 96, M = 47: memory-bound and badly
// blocked); a rank-4 update of a 47 x 96 accumulator held in L1 is four FMAs per loaded vector.
// Each thread sums into its own accumulator (no atomics); the caller adds the threads'
// accumulators once at the end.
#pragma once
#include "lstm_step.h"

namespace rnnkit {

// Used when one thread's accumulator ((I + H + 2) x G*H floats) stays in the core's L2;
// RNNKIT_WGRAD_STEP=0 turns it off (the products over all steps then run as before).
inline bool wgrad_step_fits(int64_t I, int64_t H, int64_t G) {
  static const bool on = [] {
    const char* e = std::getenv("RNNKIT_WGRAD_STEP");
    return !(e && e[0] == '0');
  }();
  return on && (I + H + 2) * G * H * (int64_t)sizeof(float) <= (int64_t(256) << 10);
}

// Rows of a thread's accumulator: x part [0, I), h part [I, I+H), bias through xh's column of
// ones (I+H), a second bias row (I+H+1).
inline int64_t wgrad_rows(int64_t I, int64_t H) { return I + H + 2; }

// acc[k][n0 + v*VL ..] += sum_{r<4} a[r][k] * d[r][n0 + v*VL ..] for k < K, C vectors per row.
template <int C>
inline void rank4_chunk(const float* const* a, int64_t K, const float* const* d, int64_t n0,
                        float* acc, int64_t ld) {
  vfl dv[4][C];
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < C; ++c) dv[r][c] = loadv(d[r] + n0 + c * VL);
  float* row = acc + n0;
  for (int64_t k = 0; k < K; ++k, row += ld) {
    const float a0 = a[0][k], a1 = a[1][k], a2 = a[2][k], a3 = a[3][k];
    for (int c = 0; c < C; ++c) {
      vfl s = loadv(row + c * VL);
      s += a0 * dv[0][c];
      s += a1 * dv[1][c];
      s += a2 * dv[2][c];
      s += a3 * dv[3][c];
      storev(row + c * VL, s);
    }
  }
}

// Vectors of one chunk: 4 rows x CMAX in registers (24 of 32 zmm; 12 of 16 ymm).
constexpr int CMAX = VL == 16 ? 6 : VL == 8 ? 3 : 4;

// acc[k][:N] += sum_{r<4} a[r][k] * d[r][:N] (k < K; N a multiple of 16, row stride ld).
inline void rank4(const float* const* a, int64_t K, const float* const* d, int64_t N, float* acc,
                  int64_t ld) {
  const int64_t nv = N / VL;
  int64_t v = 0;
  for (; v + CMAX <= nv; v += CMAX) rank4_chunk<CMAX>(a, K, d, v * VL, acc, ld);
  switch (nv - v) {
    case 5: if constexpr (CMAX > 5) rank4_chunk<5>(a, K, d, v * VL, acc, ld); break;
    case 4: if constexpr (CMAX > 4) rank4_chunk<4>(a, K, d, v * VL, acc, ld); break;
    case 3: if constexpr (CMAX > 3) rank4_chunk<3>(a, K, d, v * VL, acc, ld); break;
    case 2: rank4_chunk<2>(a, K, d, v * VL, acc, ld); break;
    case 1: rank4_chunk<1>(a, K, d, v * VL, acc, ld); break;
    default: break;
  }
}

// One block's rows (R <= 4; the missing ones padded with zero gradients) into a thread's
// accumulator: xr the rows [x | h_masked | 1] (I + H + 1 floats), dx the gate gradients the
// input weights and b_ih take, dg those W_hh and b_hh take (reset_after GRU: n's is dn * r).
// rh: reset before the product, the rows r * h_masked that W_hn multiplies (dg's n part then
// goes with them; null otherwise).
struct WgradBlock {
  int64_t R, I, H, GH;
  const float* xr[4];
  const float* dx[4];
  const float* dg[4];
  const float* rh[4];
};

inline void wgrad_block(const WgradBlock& w, bool before, float* acc) {
  alignas(64) static const float zeros[4 * 128] = {};  // G*H up to 4 * 128
  static const float one = 1.0f;
  const float* ones[4] = {&one, &one, &one, &one};
  const float *x[4], *hm[4], *dx[4], *dg[4], *rh[4];
  const int64_t I = w.I, H = w.H, GH = w.GH;
  for (int64_t r = 0; r < 4; ++r) {
    const bool in = r < w.R;
    x[r] = w.xr[in ? r : 0]; hm[r] = x[r] + I;
    dx[r] = in ? w.dx[r] : zeros; dg[r] = in ? w.dg[r] : zeros;
    rh[r] = before ? w.rh[in ? r : 0] : nullptr;
  }
  rank4(x, I, dx, GH, acc, GH);                          // dW_ih^T
  rank4(ones, 1, dx, GH, acc + (I + H + 1) * GH, GH);    // db_ih
  if (!before) {
    rank4(hm, H + 1, dg, GH, acc + I * GH, GH);          // dW_hh^T and db_hh (the ones column)
    return;
  }
  rank4(hm, H, dg, 2 * H, acc + I * GH, GH);             // dW_h{r,z}^T
  const float* dn[4] = {dg[0] + 2 * H, dg[1] + 2 * H, dg[2] + 2 * H, dg[3] + 2 * H};
  rank4(rh, H, dn, H, acc + I * GH + 2 * H, GH);         // dW_hn^T: (r * h_masked)^T dn
}

}  // namespace rnnkit

// The GRU's fused step, as the LSTM's (lstm_step.h): float32, H a multiple of 16 up to 128, no
// GEMM call per step. Each thread runs the whole time loop for its own blocks of 4 rows; per
// block and tile of 16 units the gates' pre-activations are summed in registers from x W_ih^T
// (all steps, beforehand) and h_masked @ W_hh^T (W_hh packed once per call), then the cell.
// reset_after (torch's form): r, z and W_hn h + b_hn in one pass. reset before the product (the
// seed 001 form): r and z first for the whole row, then (r * h_masked) @ W_hn^T. Backward: the
// gate gradients of a block, then their recurrent gradient (the same blocks, each row's
// carried gradient read by its own pass before its block overwrites it).
#pragma once
#include "lstm_step.h"
#include "wgrad_step.h"

namespace rnnkit {

// Used for float GRU layers that fit the LSTM step's sizes, unless a GEMM backend is forced or
// RNNKIT_GRU_STEP=0.
inline bool gru_step_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("RNNKIT_GRU_STEP");
    return !(e && e[0] == '0');
  }();
  return on;
}
template <typename T>
inline bool use_gru_step(int64_t mode, int64_t H, int64_t backend) {
  return std::is_same<T, float>::value && mode == GRU && lstm_step_fits(H) && !(backend & EXACT) &&
         gru_step_enabled();
}

// Gates g0 .. g0+NG-1 of W_hh [G*H, H] row-major -> [H/16 tiles][H k][NG gates][16 units].
inline std::vector<float> pack_gates(const float* w, int64_t H, int64_t g0, int64_t NG) {
  std::vector<float> out(static_cast<size_t>(NG * H * H));
  for (int64_t t = 0; t < H / 16; ++t)
    for (int64_t k = 0; k < H; ++k)
      for (int64_t g = 0; g < NG; ++g)
        for (int64_t l = 0; l < 16; ++l)
          out[((t * H + k) * NG + g) * 16 + l] = w[((g0 + g) * H + t * 16 + l) * H + k];
  return out;
}

// pre[r][g][l] = bias[g*H + u] + (g < NX ? xr[r][xoff + g*H + u] : 0) + sum_k hm[r][k] * Wp[g][u][k]
// for the unit u = 16t + l of tile t (Wp: the packed gates).
template <int R, int NG, int NX>
inline void gates_pre_block(const float* const* hm, const float* const* xr, int64_t xoff,
                            const float* bias, const float* wp, int64_t H, int64_t t, float (*pre)[NG][16]) {
  vfl acc[R][NG][NV];
  for (int g = 0; g < NG; ++g)
    for (int v = 0; v < NV; ++v) {
      const vfl b = loadv(bias + g * H + t * 16 + v * VL);
      for (int r = 0; r < R; ++r)
        acc[r][g][v] = g < NX ? loadv(xr[r] + xoff + g * H + t * 16 + v * VL) + b : b;
    }
  const float* w = wp + t * H * NG * 16;
  for (int64_t k = 0; k < H; ++k, w += NG * 16)
    for (int g = 0; g < NG; ++g)
      for (int v = 0; v < NV; ++v) {
        const vfl wv = loadv(w + g * 16 + v * VL);
        for (int r = 0; r < R; ++r) acc[r][g][v] += hm[r][k] * wv;
      }
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < NG; ++g)
      for (int v = 0; v < NV; ++v) storev(pre[r][g] + v * VL, acc[r][g][v]);
}

// All R (<= 4) rows of a block, as many at a time as the registers hold (3 gates x NV
// accumulators per row: 4 rows in 32 zmm, 2 in 16 ymm).
template <int NG, int NX>
inline void gates_pre_rows(int64_t R, const float* const* hm, const float* const* xr, int64_t xoff,
                           const float* bias, const float* wp, int64_t H, int64_t t, float (*pre)[NG][16]) {
  constexpr int PR = VL == 16 ? 4 : VL == 8 ? 2 : 1;
  int64_t r = 0;
  for (; r + PR <= R; r += PR) gates_pre_block<PR, NG, NX>(hm + r, xr + r, xoff, bias, wp, H, t, pre + r);
  for (; r < R; ++r) gates_pre_block<1, NG, NX>(hm + r, xr + r, xoff, bias, wp, H, t, pre + r);
}

// out[r][16t + l] (+)= sum_{q < Q} dg[r][q] * w[q*H + 16t + l]: the recurrent gradient of one tile.
template <int R>
inline void rec_grad_block(const float* const* dg, int64_t Q, const float* w, int64_t H, int64_t t,
                           float* const* out, bool add) {
  vfl acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = add ? loadv(out[r] + t * 16 + v * VL) : vfl{};
  const float* wc = w + t * 16;
  for (int64_t q = 0; q < Q; ++q, wc += H)
    for (int v = 0; v < NV; ++v) {
      const vfl wv = loadv(wc + v * VL);
      for (int r = 0; r < R; ++r) acc[r][v] += dg[r][q] * wv;
    }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) storev(out[r] + t * 16 + v * VL, acc[r][v]);
}

inline void rec_grad_rows(int64_t R, const float* const* dg, int64_t Q, const float* w, int64_t H,
                          float* const* out, bool add) {
  for (int64_t t = 0; t < H / 16; ++t) {
    if (R == 4) {
      rec_grad_block<4>(dg, Q, w, H, t, out, add);
    } else {
      for (int64_t r = 0; r < R; ++r) rec_grad_block<1>(dg + r, Q, w, H, t, out + r, add);
    }
  }
}

// Prefetches `n` floats at p (the row a block reads or writes at its next step).
inline void prefetch_row(const float* p, int64_t n, bool write) {
  const char* c = reinterpret_cast<const char*>(p);
  for (int64_t o = 0; o < n * (int64_t)sizeof(float); o += 64) {
    if (write) __builtin_prefetch(c + o, 1);
    else __builtin_prefetch(c + o);
  }
}

// What the forward loop reads and writes (scan_forward.cpp's buffers; rows j in length order).
struct GruFwd {
  const Plan* p;
  int64_t B, Tn, H, GH, SH, XW, mstride;
  bool reverse, after;
  const float *xw, *bx, *bhn, *m, *whh;
  float *hm, *gates, *hs, *h, *out, *xh, *rh;  // hs, xh, rh: null unless training
  bool train;
};

// One block of R rows at step s: pointers of each row, and prefetches of its next step.
struct GruRows {
  const float* xr[4];
  const float* hm[4];
  float* out[4];
  float* hmo[4];  // where the masked state entering the next step is kept (xh), or null
  void load(const GruFwd& a, int64_t s, int64_t j0, int64_t R) {
    const Plan& p = *a.p;
    const float* hm_s = a.hm + (s % 2) * a.B * a.H;
    for (int64_t r = 0; r < R; ++r) {
      const int64_t j = j0 + r, t = p.time(j, s, a.reverse), b = p.perm[j];
      const bool more = s + 1 < p.len[j];
      const int64_t step = a.reverse ? -1 : 1;
      xr[r] = a.xw + (b * a.Tn + t) * a.GH;
      hm[r] = hm_s + j * a.H;
      out[r] = a.out + (b * a.Tn + t) * a.H;
      hmo[r] = (a.xh && more) ? a.xh + (b * a.Tn + t + step) * a.XW + (a.XW - 1 - a.H) : nullptr;
      if (more) {  // rows run in length order: no hardware prefetcher sees their next step
        prefetch_row(xr[r] + step * a.GH, a.GH, false);
        prefetch_row(out[r] + step * a.H, a.H, true);
        if (hmo[r]) __builtin_prefetch(hmo[r] + step * a.XW, 1);
      }
    }
  }
};

// reset before the product: n = tanh(x W_in^T + b_n + (r * h_masked) @ W_hn^T) for a block whose
// r * h_masked rows are in rhr and r, z in the gates; then the new state.
inline void gru_before_n(const GruFwd& a, int64_t j0, int64_t R, const GruRows& w,
                         const float* const* rhr, const float* wn, float* gsp, float* hm_next,
                         float (*pre1)[1][16]) {
  const int64_t H = a.H;
  for (int64_t t = 0; t < H / 16; ++t) {
    gates_pre_rows<1, 1>(R, rhr, w.xr, 2 * H, a.bx + 2 * H, wn, H, t, pre1);
    for (int64_t r = 0; r < R; ++r) {
      const int64_t j = j0 + r, u = t * 16;
      float* gs = gsp + j * a.SH + u;
      const float* mj = a.m + j * a.mstride + u; const float* pn = pre1[r][0];
      float* hj = a.h + j * H + u; float* hmn = hm_next + j * H + u; float* o = w.out[r] + u;
#pragma omp simd
      for (int64_t l = 0; l < 16; ++l) {
        const float z = gs[H + l], n = ftanh<float>(pn[l]);
        const float hn = (1.0f - z) * n + z * hj[l];
        gs[2 * H + l] = n;
        hj[l] = hn; o[l] = hn; hmn[l] = hn * mj[l];
      }
    }
  }
  if (a.rh)
    for (int64_t r = 0; r < R; ++r) std::memcpy(a.rh + (w.out[r] - a.out), rhr[r], sizeof(float) * H);
}

// The forward time loop of a GRU layer (see the top of this file).
inline void gru_step_forward(const GruFwd& a) {
  const Plan& p = *a.p;
  const int64_t H = a.H, B = a.B, SH = a.SH;
  const std::vector<float> wa = pack_gates(a.whh, H, 0, a.after ? 3 : 2);
  const std::vector<float> wn = a.after ? std::vector<float>() : pack_gates(a.whh, H, 2, 1);
  std::vector<float> b3(a.bx, a.bx + 3 * H);  // reset_after: r, z with x; W_hn h + b_hn without
  if (a.after) std::copy(a.bhn, a.bhn + H, b3.begin() + 2 * H);
  const int64_t nthr = lstm_step_threads(B);
  pfor(0, nthr, 1, [&](int64_t t0, int64_t t1) {
    float pre3[4][3][16], pre2[4][2][16], pre1[4][1][16];
    alignas(64) float rhb[4][128];
    const float* rhr[4] = {rhb[0], rhb[1], rhb[2], rhb[3]};
    GruRows w;
    for (int64_t tid = t0; tid < t1; ++tid)
      for (int64_t s = 0; s < p.steps; ++s) {
        const int64_t nb = p.nb[s];
        float* hm_next = a.hm + ((s + 1) % 2) * B * H;
        float* gsp = a.gates + (a.train ? s : 0) * B * SH;
        for (int64_t q = tid; q * 4 < nb; q += nthr) {
          const int64_t j0 = q * 4, R = std::min<int64_t>(4, nb - j0);
          w.load(a, s, j0, R);
          for (int64_t t = 0; t < H / 16; ++t) {
            if (a.after) gates_pre_rows<3, 2>(R, w.hm, w.xr, 0, b3.data(), wa.data(), H, t, pre3);
            else gates_pre_rows<2, 2>(R, w.hm, w.xr, 0, a.bx, wa.data(), H, t, pre2);
            for (int64_t r = 0; r < R; ++r) {
              const int64_t j = j0 + r, u = t * 16;
              float* gs = gsp + j * SH + u;
              if (a.after) {
                const float* mj = a.m + j * a.mstride + u;
                const float* xn = w.xr[r] + 2 * H + u;
                const float* bn = a.bx + 2 * H + u;
                float* hj = a.h + j * H + u; float* hmn = hm_next + j * H + u; float* o = w.out[r] + u;
                const float* pr = pre3[r][0]; const float* pz = pre3[r][1]; const float* ph = pre3[r][2];
#pragma omp simd
                for (int64_t l = 0; l < 16; ++l) {
                  const float rr = fsigmoid<float>(pr[l]), z = fsigmoid<float>(pz[l]), hn_ = ph[l];
                  const float n = ftanh<float>(xn[l] + bn[l] + rr * hn_);
                  const float hn = (1.0f - z) * n + z * hj[l];
                  gs[l] = rr; gs[H + l] = z; gs[2 * H + l] = n; gs[3 * H + l] = hn_;
                  hj[l] = hn; o[l] = hn; hmn[l] = hn * mj[l];
                }
              } else {
                const float* hmj = w.hm[r] + u; float* rj = rhb[r] + u;
                const float* pr = pre2[r][0]; const float* pz = pre2[r][1];
#pragma omp simd
                for (int64_t l = 0; l < 16; ++l) {
                  const float rr = fsigmoid<float>(pr[l]);
                  gs[l] = rr; gs[H + l] = fsigmoid<float>(pz[l]);
                  rj[l] = rr * hmj[l];
                }
              }
            }
          }
          if (!a.after) gru_before_n(a, j0, R, w, rhr, wn.data(), gsp, hm_next, pre1);
          for (int64_t r = 0; r < R; ++r) {
            const int64_t j = j0 + r;
            if (a.hs) std::memcpy(a.hs + s * B * H + j * H, a.h + j * H, sizeof(float) * H);
            if (w.hmo[r]) std::memcpy(w.hmo[r], hm_next + j * H, sizeof(float) * H);
          }
        }
      }
  });
}

// What the backward loop reads and writes (scan_backward.cpp's buffers).
struct GruBwd {
  const Plan* p;
  int64_t B, Tn, H, GH, SH, XW, mstride;
  bool reverse, after;
  const float *gout, *m, *gates, *hs, *h0s, *xh, *whh, *zero;  // gout may be null
  float *dxw, *dghn, *dh, *pend;
  const float* rh;  // reset before the product: the saved r * h_masked rows, else null
  float* acc;       // per-thread weight-gradient accumulators (wgrad_step.h), or null
  int64_t acc_size;
};

// Gate gradients of one row at step s (dx row: dr, dz, dn); dg: what the recurrent product
// takes (reset_after: dr, dz, dn * r; before: dz at H, dn at 2H, dr filled in later).
inline void gru_row_grad(const GruBwd& a, int64_t s, int64_t j, int64_t pnb, float* dg) {
  const Plan& p = *a.p;
  const int64_t H = a.H, t = p.time(j, s, a.reverse), b = p.perm[j];
  const float* go = a.gout ? a.gout + (b * a.Tn + t) * H : a.zero;
  const float* pd = j < pnb ? a.pend + j * H : a.zero;
  const float* mj = a.m + j * a.mstride;
  const float* gs = a.gates + s * a.B * a.SH + j * a.SH;
  const float* hpv = s > 0 ? a.hs + (s - 1) * a.B * H + j * H : a.h0s + j * H;
  float* dx = a.dxw + (b * a.Tn + t) * a.GH;
  float* dhj = a.dh + j * H;
  if (s > 0) {  // this row's previous step is adjacent in memory: prefetch it
    const int64_t step = a.reverse ? 1 : -1;
    prefetch_row(dx + step * a.GH, a.GH, true);
    if (a.gout) prefetch_row(go + step * H, H, false);
  }
  if (a.after) {
#pragma omp simd
    for (int64_t k = 0; k < H; ++k) {
      const float g = dhj[k] + pd[k] * mj[k] + go[k];
      const float rr = gs[k], z = gs[H + k], n = gs[2 * H + k], hn_ = gs[3 * H + k];
      const float dn = g * (1.0f - z) * (1.0f - n * n);
      const float dz = g * (hpv[k] - n) * z * (1.0f - z);
      const float dr = dn * hn_ * rr * (1.0f - rr);
      dx[k] = dr; dx[H + k] = dz; dx[2 * H + k] = dn;
      dg[k] = dr; dg[H + k] = dz; dg[2 * H + k] = dn * rr;
      dhj[k] = g * z;
    }
    if (a.dghn) std::memcpy(a.dghn + (b * a.Tn + t) * H, dg + 2 * H, sizeof(float) * H);
  } else {
#pragma omp simd
    for (int64_t k = 0; k < H; ++k) {
      const float g = dhj[k] + pd[k] * mj[k] + go[k];
      const float z = gs[H + k], n = gs[2 * H + k];
      const float dn = g * (1.0f - z) * (1.0f - n * n);
      const float dz = g * (hpv[k] - n) * z * (1.0f - z);
      dx[H + k] = dz; dx[2 * H + k] = dn;
      dg[H + k] = dz; dg[2 * H + k] = dn;
      dhj[k] = g * z;
    }
  }
}

// reset before the product, a block's rows after gru_row_grad: d(r * h_masked) = dn @ W_hn,
// then dr, and the carried gradient d(r * h_masked) * r + [dr, dz] @ W_rz.
inline void gru_before_grad(const GruBwd& a, int64_t s, int64_t j0, int64_t R, float (*dgb)[384],
                            float (*drh)[128]) {
  const Plan& p = *a.p;
  const int64_t H = a.H;
  const float* dn[4];
  float* dr[4];
  float* pend[4];
  const float* dgr[4];
  for (int64_t r = 0; r < R; ++r) {
    dn[r] = dgb[r] + 2 * H; dr[r] = drh[r]; pend[r] = a.pend + (j0 + r) * H; dgr[r] = dgb[r];
  }
  rec_grad_rows(R, dn, H, a.whh + 2 * H * H, H, dr, false);
  for (int64_t r = 0; r < R; ++r) {
    const int64_t j = j0 + r, t = p.time(j, s, a.reverse), b = p.perm[j];
    const float* gs = a.gates + s * a.B * a.SH + j * a.SH;
    const float* hmj = a.xh + (b * a.Tn + t) * a.XW + (a.XW - 1 - H);
    const float* d = drh[r];
    float* dx = a.dxw + (b * a.Tn + t) * a.GH; float* dg = dgb[r]; float* pj = pend[r];
#pragma omp simd
    for (int64_t k = 0; k < H; ++k) {
      const float rr = gs[k];
      const float g = d[k] * hmj[k] * rr * (1.0f - rr);
      dx[k] = g; dg[k] = g;
      pj[k] = d[k] * rr;
    }
  }
  rec_grad_rows(R, dgr, 2 * H, a.whh, H, pend, true);
}

// A block's rows into its thread's weight-gradient accumulator (wgrad_step.h).
inline void gru_wgrad(const GruBwd& a, int64_t s, int64_t j0, int64_t R, const float* const* dgr,
                      float* acc) {
  const Plan& p = *a.p;
  WgradBlock w{R, a.XW - 1 - a.H, a.H, a.GH, {}, {}, {}, {}};
  for (int64_t r = 0; r < R; ++r) {
    const int64_t j = j0 + r, row = p.perm[j] * a.Tn + p.time(j, s, a.reverse);
    w.xr[r] = a.xh + row * a.XW;
    w.dx[r] = a.dxw + row * a.GH;
    w.dg[r] = dgr[r];
    w.rh[r] = a.rh ? a.rh + row * a.H : nullptr;
  }
  wgrad_block(w, !a.after, acc);
}

// The backward time loop of a GRU layer (see the top of this file): leaves dh's and pend's
// rows as the GEMM loop of scan_backward.cpp would after its step 0.
inline void gru_step_backward(const GruBwd& a) {
  const Plan& p = *a.p;
  const int64_t H = a.H;
  const int64_t nthr = lstm_step_threads(a.B);
  pfor(0, nthr, 1, [&](int64_t t0, int64_t t1) {
    alignas(64) float dgb[4][384];
    alignas(64) float drh[4][128];
    const float* dgr[4] = {dgb[0], dgb[1], dgb[2], dgb[3]};
    for (int64_t tid = t0; tid < t1; ++tid)
      for (int64_t s = p.steps - 1; s >= 0; --s) {
        const int64_t nb = p.nb[s];
        const int64_t pnb = s + 1 < p.steps ? p.nb[s + 1] : 0;   // rows with a carried gradient
        for (int64_t q = tid; q * 4 < nb; q += nthr) {
          const int64_t j0 = q * 4, R = std::min<int64_t>(4, nb - j0);
          for (int64_t r = 0; r < R; ++r) gru_row_grad(a, s, j0 + r, pnb, dgb[r]);
          if (a.after) {
            float* out[4];
            for (int64_t r = 0; r < R; ++r) out[r] = a.pend + (j0 + r) * H;
            rec_grad_rows(R, dgr, 3 * H, a.whh, H, out, false);
          } else {
            gru_before_grad(a, s, j0, R, dgb, drh);
          }
          if (a.acc) gru_wgrad(a, s, j0, R, dgr, a.acc + tid * a.acc_size);
        }
      }
  });
}

}  // namespace rnnkit

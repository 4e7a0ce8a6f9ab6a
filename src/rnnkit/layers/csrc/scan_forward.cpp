// Forward of the fused scan: one GEMM for the input projection of all steps, then per step
// one GEMM h@W_hh^T (two for GRU reset_after=False) and one fused pointwise pass that applies
// the gates, the recurrent-dropout mask and the lengths (finished rows are simply not in the
// active prefix of the length-sorted rows).
#include "common.h"
#include "gru_step.h"
#include <dlfcn.h>

namespace rnnkit {

void* blas_symbol(const char* name) {
  static void* s = dlsym(RTLD_DEFAULT, "sgemm_");
  static void* d = dlsym(RTLD_DEFAULT, "dgemm_");
  return name[0] == 's' ? s : d;
}

template <typename T>
std::vector<Tensor> forward_impl(int64_t mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                 const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                                 const Tensor& b_hh, const c10::optional<Tensor>& lengths,
                                 const Tensor& mask, bool reverse, bool reset_after, bool relu,
                                 bool train, int64_t backend) {
  const int64_t B = x.size(0), Tn = x.size(1), I = x.size(2), H = h0.size(1);
  const int64_t G = mode == LSTM ? 4 : mode == GRU ? 3 : 1, GH = G * H;
  const bool before = mode == GRU && !reset_after;
  const int64_t SH = mode == LSTM ? 4 * H : mode == GRU ? (reset_after ? 4 * H : 3 * H) : 1;
  const int64_t flags = backend & EXACT;
  const int64_t step_be = (backend & 15) | flags, big_be = ((backend >> 4) & 15) | flags;
  PhaseTimer timer;
  Plan p = make_plan(B, Tn, lengths);
  auto opt = x.options();

  // Biases: everything that adds to the pre-activation goes into bx; GRU's b_hn stays apart.
  Tensor bx = b_ih.defined() ? b_ih.clone() : at::zeros({GH}, opt);
  Tensor bhn = at::zeros({H}, opt);
  if (b_hh.defined()) {
    if (mode == GRU && reset_after) {
      bx.narrow(0, 0, 2 * H).add_(b_hh.narrow(0, 0, 2 * H));
      bhn.copy_(b_hh.narrow(0, 2 * H, H));
    } else {
      bx.add_(b_hh);
    }
  }
  Tensor xw = pooled({B * Tn, GH}, opt);
  gemm_rows<T>(p, x, w_ih.t(), xw.view({B, Tn, GH}), big_be);

  // xh[b, t] = [x[b, t] | masked h entering step t | 1]: backward gets dW_ih, dW_hh and the
  // bias gradient from ONE GEMM dgates^T @ xh.
  const int64_t XW = I + H + 1;
  Tensor xh = train ? pooled({B, Tn, XW}, opt) : at::empty({0}, opt);
  T* xhp = train ? xh.data_ptr<T>() : nullptr;
  if (train) {
    xh.narrow(2, 0, I).copy_(x);
    xh.select(2, I + H).fill_(1);
  }
  Tensor h = to_sorted(p, h0), c = mode == LSTM ? to_sorted(p, c0) : Tensor();
  Tensor m = mask.defined() ? to_sorted(p, mask) : at::ones({1, H}, opt);
  const int64_t mstride = mask.defined() ? H : 0;
  Tensor hmbuf = at::empty({2, B, H}, opt);
  Tensor gates = pooled({train ? Tn : 1, B, SH}, opt);
  Tensor cs = (train && mode == LSTM) ? pooled({Tn, B, H}, opt) : at::empty({0}, opt);
  Tensor hs = (train && mode != LSTM) ? pooled({Tn, B, H}, opt) : at::empty({0}, opt);
  Tensor rh = (train && before) ? pooled({B, Tn, H}, opt) : at::empty({0}, opt);
  Tensor rhstep = before ? at::empty({B, H}, opt) : Tensor();
  Tensor gh = at::empty({B, before ? 2 * H : GH}, opt);
  Tensor ghn = before ? at::empty({B, H}, opt) : Tensor();
  Tensor out = at::empty({B, Tn, H}, opt);
  Tensor w_rz = before ? w_hh.narrow(0, 0, 2 * H).t() : w_hh.t();
  Tensor w_n = before ? w_hh.narrow(0, 2 * H, H).t() : Tensor();

  T* outp = out.data_ptr<T>();
  T* rhp = (train && before) ? rh.data_ptr<T>() : nullptr;
  // Outputs after a row's length are exactly zero, and nothing of the padding (which may hold
  // NaN) enters the all-steps weight-gradient product.
  for (int64_t j = 0; j < B; ++j) {
    const int64_t b = p.perm[j];
    for (int64_t t = p.len[j]; t < Tn; ++t) {
      std::memset(outp + (b * Tn + t) * H, 0, sizeof(T) * H);
      if (xhp) std::memset(xhp + (b * Tn + t) * XW, 0, sizeof(T) * (I + H));  // NaN-safe
      if (rhp) std::memset(rhp + (b * Tn + t) * H, 0, sizeof(T) * H);
    }
  }
  {
    Tensor hm0 = h * m;
    hmbuf[0].copy_(hm0);
    if (xhp) {
      const T* src = hm0.data_ptr<T>();
      for (int64_t j = 0; j < B; ++j)
        std::memcpy(xhp + (p.perm[j] * Tn + p.time(j, 0, reverse)) * XW + I, src + j * H,
                    sizeof(T) * H);
    }
  }
  timer.mark("fwd setup");

  const T* xwp = xw.data_ptr<T>();
  const T* bxp = bx.data_ptr<T>();
  const T* bhnp = bhn.data_ptr<T>();
  const T* mp = m.data_ptr<T>();
  T* hp = h.data_ptr<T>();
  T* cp = mode == LSTM ? c.data_ptr<T>() : nullptr;
  T* ghp = gh.data_ptr<T>();
  const int64_t ghs = gh.size(1);
  const int64_t grain = grain_rows(GH);

  T* hmb = hmbuf.data_ptr<T>();
  T* gates0 = gates.data_ptr<T>();
  T* cs0 = (train && mode == LSTM) ? cs.data_ptr<T>() : nullptr;
  T* hs0 = (train && mode != LSTM) ? hs.data_ptr<T>() : nullptr;
  const T* whh = w_hh.data_ptr<T>();
  const bool raw = (step_be & 15) == BLAS;
  // Small float LSTMs: product and cell in one pass per block of rows (lstm_step.h).
  const bool fused_step = use_lstm_step<T>(mode, H, backend);
  const std::vector<float> wpack = fused_step ? pack_lstm_whh(reinterpret_cast<const float*>(whh), H)
                                              : std::vector<float>();
  if (fused_step) {
    // Rows never meet in this recurrence, so each thread runs the whole time loop for its own
    // blocks of 4 rows (block q on thread q % nthr: rows are sorted by length, so this deals the
    // long and the short ones out evenly) with no barrier per step. Per block and tile of 16
    // units: the four gates' pre-activations in registers, then the cell (lstm_step.h).
    const float* wp = wpack.data();
    const int64_t nthr = lstm_step_threads(B);
    pfor(0, nthr, 1, [&](int64_t t0, int64_t t1) {
      float pre[4][4][16];
      for (int64_t tid = t0; tid < t1; ++tid)
        for (int64_t s = 0; s < p.steps; ++s) {
          const int64_t nb = p.nb[s];
          const T* hm_sp = hmb + (s % 2) * B * H;
          T* hm_next = hmb + ((s + 1) % 2) * B * H;
          T* gsp = gates0 + (train ? s : 0) * B * SH;
          T* csp = cs0 ? cs0 + s * B * H : nullptr;
          for (int64_t q = tid; q * 4 < nb; q += nthr) {
            const int64_t j0 = q * 4, R = std::min<int64_t>(4, nb - j0);
            const float* xr[4];
            const float* hm[4];
            T* outs[4];
            T* hmo[4];
            for (int64_t r = 0; r < R; ++r) {
              const int64_t j = j0 + r, t = p.time(j, s, reverse), b = p.perm[j];
              xr[r] = reinterpret_cast<const float*>(xwp + (b * Tn + t) * GH);
              hm[r] = reinterpret_cast<const float*>(hm_sp + j * H);
              outs[r] = outp + (b * Tn + t) * H;
              hmo[r] = (xhp && s + 1 < p.len[j]) ? xhp + (b * Tn + (reverse ? t - 1 : t + 1)) * XW + I : nullptr;
              if (s + 1 < p.len[j]) {
                // This row's next step lies right after (before) this one; with rows in length
                // order (a random permutation of the batch) no hardware prefetcher sees it
                // coming: +35% loop time at shape A on an AVX2 build without these.
                const int64_t step = reverse ? -1 : 1;
                const char* nx = reinterpret_cast<const char*>(xr[r] + step * GH);
                for (int64_t o = 0; o < GH * (int64_t)sizeof(float); o += 64) __builtin_prefetch(nx + o);
                const char* no = reinterpret_cast<const char*>(outs[r] + step * H);
                for (int64_t o = 0; o < H * (int64_t)sizeof(T); o += 64) __builtin_prefetch(no + o, 1);
                if (hmo[r]) __builtin_prefetch(hmo[r] + step * XW, 1);
              }
            }
            for (int64_t t = 0; t < H / 16; ++t) {
              lstm_pre_rows(R, hm, xr, reinterpret_cast<const float*>(bxp), wp, H, t, pre);
              for (int64_t r = 0; r < R; ++r) {
                const int64_t j = j0 + r;
                const T* mj = mp + j * mstride + t * 16;
                T* gs = gsp + j * SH + t * 16; T* cj = cp + j * H + t * 16; T* hj = hp + j * H + t * 16;
                T* hmn = hm_next + j * H + t * 16; T* outr = outs[r] + t * 16;
                const float* pi = pre[r][0]; const float* pf = pre[r][1];
                const float* pg = pre[r][2]; const float* po = pre[r][3];
#pragma omp simd
                for (int64_t l = 0; l < 16; ++l) {
                  T i = fsigmoid<T>(pi[l]), f = fsigmoid<T>(pf[l]), gg = ftanh<T>(pg[l]), o = fsigmoid<T>(po[l]);
                  T cn = f * cj[l] + i * gg;
                  T hn = o * ftanh<T>(cn);
                  cj[l] = cn; hj[l] = hn; outr[l] = hn; hmn[l] = hn * mj[l];
                  gs[l] = i; gs[H + l] = f; gs[2 * H + l] = gg; gs[3 * H + l] = o;
                }
              }
            }
            for (int64_t r = 0; r < R; ++r) {
              const int64_t j = j0 + r;
              if (csp) std::memcpy(csp + j * H, cp + j * H, sizeof(T) * H);
              if (hmo[r]) std::memcpy(hmo[r], hm_next + j * H, sizeof(T) * H);
            }
          }
        }
    });
  }
  // Small float GRUs: the same, with the GRU's cell (gru_step.h).
  const bool gru_fused = use_gru_step<T>(mode, H, backend);
  if constexpr (std::is_same<T, float>::value) {
    if (gru_fused)
      gru_step_forward(GruFwd{&p, B, Tn, H, GH, SH, XW, mstride, reverse, reset_after, xwp, bxp, bhnp, mp,
                              whh, hmb, gates0, hs0, hp, outp, xhp, rhp, train});
  }
  for (int64_t s = 0; s < (fused_step || gru_fused ? 0 : p.steps); ++s) {
    const int64_t nb = p.nb[s];
    T* hm_sp = hmb + (s % 2) * B * H;
    T* hm_next = hmb + ((s + 1) % 2) * B * H;
    T* gsp = gates0 + (train ? s : 0) * B * SH;
    T* csp = cs0 ? cs0 + s * B * H : nullptr;
    T* hsp = hs0 ? hs0 + s * B * H : nullptr;
    if (!(raw && gemm_raw<T>(nb, ghs, H, hm_sp, H, whh, H, true, ghp, ghs, T(0))))
      gemm<T>(hmbuf[s % 2].narrow(0, 0, nb), w_rz, gh.narrow(0, 0, nb), 0.0, step_be);

    // Per row: where its input, output and next masked state live.
    struct Row { const T* xr; T* outr; T* hmo; const T* mj; };
    auto row = [&](int64_t j) {
      const int64_t t = p.time(j, s, reverse), b = p.perm[j];
      Row r{xwp + (b * Tn + t) * GH, outp + (b * Tn + t) * H, nullptr, mp + j * mstride};
      if (xhp && s + 1 < p.len[j])
        r.hmo = xhp + (b * Tn + (reverse ? t - 1 : t + 1)) * XW + I;
      return r;
    };
    if (mode == LSTM) {
      pfor(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          Row r = row(j);
          const T* xr = r.xr; const T* g = ghp + j * ghs; const T* mj = r.mj;
          T* gs = gsp + j * SH; T* cj = cp + j * H; T* hj = hp + j * H;
          T* hmn = hm_next + j * H; T* outr = r.outr;
#pragma omp simd
          for (int64_t k = 0; k < H; ++k) {
            T i = fsigmoid<T>(xr[k] + bxp[k] + g[k]);
            T f = fsigmoid<T>(xr[H + k] + bxp[H + k] + g[H + k]);
            T gg = ftanh<T>(xr[2 * H + k] + bxp[2 * H + k] + g[2 * H + k]);
            T o = fsigmoid<T>(xr[3 * H + k] + bxp[3 * H + k] + g[3 * H + k]);
            T cn = f * cj[k] + i * gg;
            T hn = o * ftanh<T>(cn);
            cj[k] = cn; hj[k] = hn; outr[k] = hn; hmn[k] = hn * mj[k];
            gs[k] = i; gs[H + k] = f; gs[2 * H + k] = gg; gs[3 * H + k] = o;
          }
          if (csp) std::memcpy(csp + j * H, cj, sizeof(T) * H);
          if (r.hmo) std::memcpy(r.hmo, hmn, sizeof(T) * H);
        }
      });
    } else if (mode == RNN) {
      pfor(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          Row r = row(j);
          const T* xr = r.xr; const T* g = ghp + j * ghs; const T* mj = r.mj;
          T* hj = hp + j * H; T* hmn = hm_next + j * H; T* outr = r.outr;
#pragma omp simd
          for (int64_t k = 0; k < H; ++k) {
            T pre = xr[k] + bxp[k] + g[k];
            T hn = relu ? (pre > T(0) ? pre : T(0)) : ftanh<T>(pre);
            hj[k] = hn; outr[k] = hn; hmn[k] = hn * mj[k];
          }
          if (hsp) std::memcpy(hsp + j * H, hj, sizeof(T) * H);
          if (r.hmo) std::memcpy(r.hmo, hmn, sizeof(T) * H);
        }
      });
    } else if (reset_after) {
      pfor(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          Row r = row(j);
          const T* xr = r.xr; const T* g = ghp + j * ghs; const T* mj = r.mj;
          T* gs = gsp + j * SH; T* hj = hp + j * H; T* hmn = hm_next + j * H; T* outr = r.outr;
#pragma omp simd
          for (int64_t k = 0; k < H; ++k) {
            T rr = fsigmoid<T>(xr[k] + bxp[k] + g[k]);
            T z = fsigmoid<T>(xr[H + k] + bxp[H + k] + g[H + k]);
            T hn_ = g[2 * H + k] + bhnp[k];
            T n = ftanh<T>(xr[2 * H + k] + bxp[2 * H + k] + rr * hn_);
            T hn = (T(1) - z) * n + z * hj[k];
            gs[k] = rr; gs[H + k] = z; gs[2 * H + k] = n; gs[3 * H + k] = hn_;
            hj[k] = hn; outr[k] = hn; hmn[k] = hn * mj[k];
          }
          if (hsp) std::memcpy(hsp + j * H, hj, sizeof(T) * H);
          if (r.hmo) std::memcpy(r.hmo, hmn, sizeof(T) * H);
        }
      });
    } else {  // GRU, reset before the matmul: n uses (r * h_masked) @ W_hn^T
      T* rsp = rhstep.data_ptr<T>();
      pfor(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          Row r = row(j);
          const T* xr = r.xr; const T* g = ghp + j * ghs;
          T* gs = gsp + j * SH; T* rj = rsp + j * H; const T* hmj = hm_sp + j * H;
#pragma omp simd
          for (int64_t k = 0; k < H; ++k) {
            T rr = fsigmoid<T>(xr[k] + bxp[k] + g[k]);
            T z = fsigmoid<T>(xr[H + k] + bxp[H + k] + g[H + k]);
            gs[k] = rr; gs[H + k] = z;
            rj[k] = rr * hmj[k];
          }
          if (rhp) std::memcpy(rhp + (r.outr - outp), rj, sizeof(T) * H);
        }
      });
      if (!(raw && gemm_raw<T>(nb, H, H, rsp, H, whh + 2 * H * H, H, true, ghn.data_ptr<T>(), H, T(0))))
        gemm<T>(rhstep.narrow(0, 0, nb), w_n, ghn.narrow(0, 0, nb), 0.0, step_be);
      const T* ghnp = ghn.data_ptr<T>();
      pfor(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          Row r = row(j);
          const T* xr = r.xr; const T* mj = r.mj; const T* gn = ghnp + j * H;
          T* gs = gsp + j * SH; T* hj = hp + j * H; T* hmn = hm_next + j * H; T* outr = r.outr;
#pragma omp simd
          for (int64_t k = 0; k < H; ++k) {
            T z = gs[H + k];
            T n = ftanh<T>(xr[2 * H + k] + bxp[2 * H + k] + gn[k]);
            gs[2 * H + k] = n;
            T hn = (T(1) - z) * n + z * hj[k];
            hj[k] = hn; outr[k] = hn; hmn[k] = hn * mj[k];
          }
          if (hsp) std::memcpy(hsp + j * H, hj, sizeof(T) * H);
          if (r.hmo) std::memcpy(r.hmo, hmn, sizeof(T) * H);
        }
      });
    }
  }
  timer.mark("fwd loop");
  Tensor h_n = from_sorted(p, h);
  Tensor c_n = mode == LSTM ? from_sorted(p, c) : at::empty({0}, opt);
  Tensor h0s = train ? to_sorted(p, h0) : at::empty({0}, opt);
  Tensor c0s = (train && mode == LSTM) ? to_sorted(p, c0) : at::empty({0}, opt);
  return {out, h_n, c_n, xh, gates, cs, hs, rh, h0s, c0s};
}

std::vector<Tensor> scan_forward(int64_t mode, const Tensor& x, const Tensor& h0,
                                 const c10::optional<Tensor>& c0, const Tensor& w_ih,
                                 const Tensor& w_hh, const c10::optional<Tensor>& b_ih,
                                 const c10::optional<Tensor>& b_hh,
                                 const c10::optional<Tensor>& lengths,
                                 const c10::optional<Tensor>& mask, bool reverse, bool reset_after,
                                 bool relu, bool train, int64_t backend) {
  at::NoGradGuard ng;
  // subnormals flushed in the loops and the GEMMs (ftz.h); work: the products of x and h
  FtzScope ftz((x.numel() + x.numel() / std::max<int64_t>(1, x.size(-1)) * w_hh.size(1)) * w_hh.size(0));
  auto def = [](const c10::optional<Tensor>& t) { return t.has_value() ? t->contiguous() : Tensor(); };
  std::vector<Tensor> r;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rnnkit_scan_forward", [&] {
    r = forward_impl<scalar_t>(mode, x.contiguous(), h0.contiguous(), def(c0), w_ih.contiguous(),
                               w_hh.contiguous(), def(b_ih), def(b_hh), lengths, def(mask),
                               reverse, reset_after, relu, train, backend);
  });
  return r;
}

}  // namespace rnnkit

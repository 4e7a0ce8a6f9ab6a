// Forward of the fused scan: one GEMM for the input projection of all steps, then per step
// one GEMM h@W_hh^T (two for GRU reset_after=False) and one fused pointwise pass that applies
// the gates, the recurrent-dropout mask and the lengths (finished rows are simply not in the
// active prefix of the length-sorted rows).
#include "common.h"
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
  const int64_t SH = mode == LSTM ? 4 * H : mode == GRU ? (reset_after ? 4 * H : 3 * H) : 0;
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
  Tensor xw = at::empty({B * Tn, GH}, opt);
  gemm<T>(x.reshape({B * Tn, I}), w_ih.t(), xw, 0.0, backend);

  Tensor h = to_sorted(p, h0), c = mode == LSTM ? to_sorted(p, c0) : Tensor();
  Tensor m = mask.defined() ? to_sorted(p, mask) : at::ones({1, H}, opt);
  const int64_t mstride = mask.defined() ? H : 0;
  const int64_t slots = train ? Tn : 2;
  Tensor hm = at::empty({slots, B, H}, opt);
  Tensor gates = at::empty({train ? Tn : 1, B, std::max<int64_t>(SH, 1)}, opt);
  Tensor cs = (train && mode == LSTM) ? at::empty({Tn, B, H}, opt) : at::empty({0}, opt);
  Tensor hs = (train && mode != LSTM) ? at::empty({Tn, B, H}, opt) : at::empty({0}, opt);
  Tensor rh = before ? at::empty({train ? Tn : 1, B, H}, opt) : at::empty({0}, opt);
  Tensor gh = at::empty({B, before ? 2 * H : GH}, opt);
  Tensor ghn = before ? at::empty({B, H}, opt) : Tensor();
  Tensor out = at::empty({B, Tn, H}, opt);
  Tensor w_rz = before ? w_hh.narrow(0, 0, 2 * H).t() : w_hh.t();
  Tensor w_n = before ? w_hh.narrow(0, 2 * H, H).t() : Tensor();

  T* outp = out.data_ptr<T>();
  for (int64_t j = 0; j < B; ++j)  // outputs after a row's length are exactly zero
    if (p.len[j] < Tn)
      std::memset(outp + (p.perm[j] * Tn + p.len[j]) * H, 0, sizeof(T) * (Tn - p.len[j]) * H);
  hm[0].copy_(h * m);

  const T* xwp = xw.data_ptr<T>();
  const T* bxp = bx.data_ptr<T>();
  const T* bhnp = bhn.data_ptr<T>();
  const T* mp = m.data_ptr<T>();
  T* hp = h.data_ptr<T>();
  T* cp = mode == LSTM ? c.data_ptr<T>() : nullptr;
  T* ghp = gh.data_ptr<T>();
  const int64_t ghs = gh.size(1);

  for (int64_t s = 0; s < p.steps; ++s) {
    const int64_t nb = p.nb[s];
    Tensor hm_s = hm[train ? s : s % 2];
    if (train && nb < B) hm_s.narrow(0, nb, B - nb).zero_();
    T* hm_sp = hm_s.data_ptr<T>();
    T* hm_next = (s + 1 < Tn) ? hm[train ? s + 1 : (s + 1) % 2].data_ptr<T>() : nullptr;
    T* gsp = gates[train ? s : 0].data_ptr<T>();
    T* csp = (train && mode == LSTM) ? cs[s].data_ptr<T>() : nullptr;
    T* hsp = (train && mode != LSTM) ? hs[s].data_ptr<T>() : nullptr;
    gemm<T>(hm_s.narrow(0, 0, nb), w_rz, gh.narrow(0, 0, nb), 0.0, backend);

    auto rowinfo = [&](int64_t j, const T*& xr, T*& outr) {
      const int64_t t = p.time(j, s, reverse), b = p.perm[j];
      xr = xwp + (b * Tn + t) * GH;
      outr = outp + (b * Tn + t) * H;
    };
    auto finish = [&](int64_t j, int64_t k, T hn, T* outr) {
      hp[j * H + k] = hn;
      outr[k] = hn;
      if (hm_next) hm_next[j * H + k] = hn * mp[j * mstride + k];
      if (hsp) hsp[j * H + k] = hn;
    };
    const int64_t grain = grain_rows(GH);
    if (mode == LSTM) {
      at::parallel_for(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          const T* xr; T* outr; rowinfo(j, xr, outr);
          const T* g = ghp + j * ghs;
          T* gs = gsp + j * SH;
          T* cj = cp + j * H; T* hj = hp + j * H;
          T* hmn = hm_next ? hm_next + j * H : nullptr;
          const T* mj = mp + j * mstride;
#pragma omp simd
          for (int64_t k = 0; k < H; ++k) {
            T i = fsigmoid<T>(xr[k] + bxp[k] + g[k]);
            T f = fsigmoid<T>(xr[H + k] + bxp[H + k] + g[H + k]);
            T gg = ftanh<T>(xr[2 * H + k] + bxp[2 * H + k] + g[2 * H + k]);
            T o = fsigmoid<T>(xr[3 * H + k] + bxp[3 * H + k] + g[3 * H + k]);
            T cn = f * cj[k] + i * gg;
            T hn = o * ftanh<T>(cn);
            cj[k] = cn; hj[k] = hn; outr[k] = hn;
            gs[k] = i; gs[H + k] = f; gs[2 * H + k] = gg; gs[3 * H + k] = o;
            if (hmn) hmn[k] = hn * mj[k];
            if (csp) csp[j * H + k] = cn;
          }
        }
      });
    } else if (mode == RNN) {
      at::parallel_for(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          const T* xr; T* outr; rowinfo(j, xr, outr);
          const T* g = ghp + j * ghs;
          for (int64_t k = 0; k < H; ++k) {
            T pre = xr[k] + bxp[k] + g[k];
            T hn = relu ? (pre > T(0) ? pre : T(0)) : ftanh<T>(pre);
            finish(j, k, hn, outr);
          }
        }
      });
    } else if (reset_after) {
      at::parallel_for(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          const T* xr; T* outr; rowinfo(j, xr, outr);
          const T* g = ghp + j * ghs;
          T* gs = gsp + j * SH;
          for (int64_t k = 0; k < H; ++k) {
            T r = fsigmoid<T>(xr[k] + bxp[k] + g[k]);
            T z = fsigmoid<T>(xr[H + k] + bxp[H + k] + g[H + k]);
            T hn_ = g[2 * H + k] + bhnp[k];
            T n = ftanh<T>(xr[2 * H + k] + bxp[2 * H + k] + r * hn_);
            T hnew = (T(1) - z) * n + z * hp[j * H + k];
            gs[k] = r; gs[H + k] = z; gs[2 * H + k] = n; gs[3 * H + k] = hn_;
            finish(j, k, hnew, outr);
          }
        }
      });
    } else {  // GRU, reset before the matmul: n uses (r * h_masked) @ W_hn^T
      T* rhp = rh[train ? s : 0].data_ptr<T>();
      if (train && nb < B) rh[s].narrow(0, nb, B - nb).zero_();
      at::parallel_for(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          const T* xr; T* outr; rowinfo(j, xr, outr);
          const T* g = ghp + j * ghs;
          T* gs = gsp + j * SH;
          for (int64_t k = 0; k < H; ++k) {
            T r = fsigmoid<T>(xr[k] + bxp[k] + g[k]);
            T z = fsigmoid<T>(xr[H + k] + bxp[H + k] + g[H + k]);
            gs[k] = r; gs[H + k] = z;
            rhp[j * H + k] = r * hm_sp[j * H + k];
          }
        }
      });
      gemm<T>(rh[train ? s : 0].narrow(0, 0, nb), w_n, ghn.narrow(0, 0, nb), 0.0, backend);
      const T* ghnp = ghn.data_ptr<T>();
      at::parallel_for(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          const T* xr; T* outr; rowinfo(j, xr, outr);
          T* gs = gsp + j * SH;
          for (int64_t k = 0; k < H; ++k) {
            T z = gs[H + k];
            T n = ftanh<T>(xr[2 * H + k] + bxp[2 * H + k] + ghnp[j * H + k]);
            gs[2 * H + k] = n;
            finish(j, k, (T(1) - z) * n + z * hp[j * H + k], outr);
          }
        }
      });
    }
  }
  Tensor h_n = from_sorted(p, h);
  Tensor c_n = mode == LSTM ? from_sorted(p, c) : at::empty({0}, opt);
  Tensor h0s = train ? to_sorted(p, h0) : at::empty({0}, opt);
  Tensor c0s = (train && mode == LSTM) ? to_sorted(p, c0) : at::empty({0}, opt);
  return {out, h_n, c_n, hm, gates, cs, hs, rh, h0s, c0s};
}

std::vector<Tensor> scan_forward(int64_t mode, const Tensor& x, const Tensor& h0,
                                 const c10::optional<Tensor>& c0, const Tensor& w_ih,
                                 const Tensor& w_hh, const c10::optional<Tensor>& b_ih,
                                 const c10::optional<Tensor>& b_hh,
                                 const c10::optional<Tensor>& lengths,
                                 const c10::optional<Tensor>& mask, bool reverse, bool reset_after,
                                 bool relu, bool train, int64_t backend) {
  at::NoGradGuard ng;
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

// Backward of the fused scan. Per step (last to first): one fused pointwise pass turning dh/dc
// into pre-activation gradients, then one GEMM dgates@W_hh for the recurrent gradient (two for
// GRU reset_after=False). dW_ih, dW_hh, dx and the biases are then single GEMMs / sums over all
// steps, because the per-step gate gradients are stacked.
#include "common.h"

namespace rnnkit {

template <typename T>
std::vector<Tensor> backward_impl(int64_t mode, const Tensor& x, const Tensor& w_ih,
                                  const Tensor& w_hh, bool has_b_ih, bool has_b_hh,
                                  const c10::optional<Tensor>& lengths, const Tensor& mask,
                                  const Tensor& hm, const Tensor& gates, const Tensor& cs,
                                  const Tensor& hs, const Tensor& rh, const Tensor& h0s,
                                  const Tensor& c0s, const Tensor& gout, const Tensor& ghn,
                                  const Tensor& gcn, bool reverse, bool reset_after, bool relu,
                                  int64_t backend) {
  const int64_t B = x.size(0), Tn = x.size(1), I = x.size(2), H = h0s.size(1);
  const int64_t G = mode == LSTM ? 4 : mode == GRU ? 3 : 1, GH = G * H;
  const bool before = mode == GRU && !reset_after;
  const int64_t SH = gates.size(2);
  Plan p = make_plan(B, Tn, lengths);
  auto opt = x.options();

  Tensor dh = ghn.defined() ? to_sorted(p, ghn) : at::zeros({B, H}, opt);
  Tensor dc = mode == LSTM ? (gcn.defined() ? to_sorted(p, gcn) : at::zeros({B, H}, opt)) : Tensor();
  Tensor m = mask.defined() ? to_sorted(p, mask) : at::ones({1, H}, opt);
  const int64_t mstride = mask.defined() ? H : 0;
  Tensor zero_row = at::zeros({H}, opt);
  Tensor pend = at::empty({B, H}, opt);
  int64_t pend_nb = 0;
  Tensor dxw = at::empty({B, Tn, GH}, opt);
  Tensor dgh = at::empty({std::max<int64_t>(p.steps, 1), B, GH}, opt);
  Tensor dn_buf = before ? at::empty({B, H}, opt) : Tensor();
  Tensor drz_buf = before ? at::empty({B, 2 * H}, opt) : Tensor();
  Tensor drh = before ? at::empty({B, H}, opt) : Tensor();
  Tensor w_rz = before ? w_hh.narrow(0, 0, 2 * H) : w_hh;
  Tensor w_n = before ? w_hh.narrow(0, 2 * H, H) : Tensor();

  T* dxwp = dxw.data_ptr<T>();
  for (int64_t j = 0; j < B; ++j)
    if (p.len[j] < Tn)
      std::memset(dxwp + (p.perm[j] * Tn + p.len[j]) * GH, 0, sizeof(T) * (Tn - p.len[j]) * GH);
  const T* goutp = gout.defined() ? gout.data_ptr<T>() : nullptr;
  const T* mp = m.data_ptr<T>();
  const T* zp = zero_row.data_ptr<T>();
  T* dhp = dh.data_ptr<T>();
  T* dcp = mode == LSTM ? dc.data_ptr<T>() : nullptr;
  T* pendp = pend.data_ptr<T>();
  const T* gp = gates.data_ptr<T>();
  const T* csp = mode == LSTM ? cs.data_ptr<T>() : nullptr;
  const T* hsp = mode != LSTM ? hs.data_ptr<T>() : nullptr;
  const T* h0p = h0s.data_ptr<T>();
  const T* c0p = mode == LSTM ? c0s.data_ptr<T>() : nullptr;
  const int64_t BH = B * H;

  for (int64_t s = p.steps - 1; s >= 0; --s) {
    const int64_t nb = p.nb[s];
    if (nb < B) dgh[s].narrow(0, nb, B - nb).zero_();
    T* dghp = dgh[s].data_ptr<T>();
    const T* gs_s = gp + s * B * SH;
    const int64_t pnb = pend_nb;
    const int64_t grain = grain_rows(GH);
    // Gradient reaching h at this step: carried + from the recurrent GEMM of step s+1 + output.
    auto row = [&](int64_t j, int64_t& b, int64_t& t, const T*& go, const T*& pd) {
      t = p.time(j, s, reverse); b = p.perm[j];
      go = goutp ? goutp + (b * Tn + t) * H : zp;
      pd = j < pnb ? pendp + j * H : zp;
    };
    auto hprev = [&](int64_t j) { return s > 0 ? hsp + (s - 1) * BH + j * H : h0p + j * H; };
    if (mode == LSTM) {
      at::parallel_for(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          int64_t b, t; const T* go; const T* pd; row(j, b, t, go, pd);
          const T* mj = mp + j * mstride;
          const T* gs = gs_s + j * SH;
          const T* cn = csp + s * BH + j * H;
          const T* cprev = s > 0 ? csp + (s - 1) * BH + j * H : c0p + j * H;
          T* dx = dxwp + (b * Tn + t) * GH;
          T* dg = dghp + j * GH;
          T* dhj = dhp + j * H; T* dcj = dcp + j * H;
#pragma omp simd
          for (int64_t k = 0; k < H; ++k) {
            T g = dhj[k] + pd[k] * mj[k] + go[k];
            T i = gs[k], f = gs[H + k], gg = gs[2 * H + k], o = gs[3 * H + k];
            T tc = ftanh<T>(cn[k]);
            T dcn = dcj[k] + g * o * (T(1) - tc * tc);
            T di = dcn * gg * i * (T(1) - i);
            T df = dcn * cprev[k] * f * (T(1) - f);
            T dgg = dcn * i * (T(1) - gg * gg);
            T dout = g * tc * o * (T(1) - o);
            dx[k] = di; dx[H + k] = df; dx[2 * H + k] = dgg; dx[3 * H + k] = dout;
            dg[k] = di; dg[H + k] = df; dg[2 * H + k] = dgg; dg[3 * H + k] = dout;
            dcj[k] = dcn * f; dhj[k] = T(0);
          }
        }
      });
    } else if (mode == RNN) {
      at::parallel_for(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          int64_t b, t; const T* go; const T* pd; row(j, b, t, go, pd);
          const T* mj = mp + j * mstride;
          const T* hn = hsp + s * BH + j * H;
          T* dx = dxwp + (b * Tn + t) * GH;
          T* dg = dghp + j * GH;
          T* dhj = dhp + j * H;
#pragma omp simd
          for (int64_t k = 0; k < H; ++k) {
            T g = dhj[k] + pd[k] * mj[k] + go[k];
            T d = relu ? (hn[k] > T(0) ? g : T(0)) : g * (T(1) - hn[k] * hn[k]);
            dx[k] = d; dg[k] = d; dhj[k] = T(0);
          }
        }
      });
    } else if (reset_after) {
      at::parallel_for(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          int64_t b, t; const T* go; const T* pd; row(j, b, t, go, pd);
          const T* mj = mp + j * mstride;
          const T* gs = gs_s + j * SH;
          const T* hpv = hprev(j);
          T* dx = dxwp + (b * Tn + t) * GH;
          T* dg = dghp + j * GH;
          T* dhj = dhp + j * H;
#pragma omp simd
          for (int64_t k = 0; k < H; ++k) {
            T g = dhj[k] + pd[k] * mj[k] + go[k];
            T r = gs[k], z = gs[H + k], n = gs[2 * H + k], hn_ = gs[3 * H + k];
            T dn = g * (T(1) - z) * (T(1) - n * n);
            T dz = g * (hpv[k] - n) * z * (T(1) - z);
            T dr = dn * hn_ * r * (T(1) - r);
            dx[k] = dr; dx[H + k] = dz; dx[2 * H + k] = dn;
            dg[k] = dr; dg[H + k] = dz; dg[2 * H + k] = dn * r;
            dhj[k] = g * z;
          }
        }
      });
    } else {
      T* dnp = dn_buf.data_ptr<T>();
      T* drzp = drz_buf.data_ptr<T>();
      at::parallel_for(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          int64_t b, t; const T* go; const T* pd; row(j, b, t, go, pd);
          const T* mj = mp + j * mstride;
          const T* gs = gs_s + j * SH;
          const T* hpv = hprev(j);
          T* dx = dxwp + (b * Tn + t) * GH;
          T* dg = dghp + j * GH;
          T* dhj = dhp + j * H;
#pragma omp simd
          for (int64_t k = 0; k < H; ++k) {
            T g = dhj[k] + pd[k] * mj[k] + go[k];
            T z = gs[H + k], n = gs[2 * H + k];
            T dn = g * (T(1) - z) * (T(1) - n * n);
            T dz = g * (hpv[k] - n) * z * (T(1) - z);
            dx[H + k] = dz; dx[2 * H + k] = dn;
            dg[H + k] = dz; dg[2 * H + k] = dn;
            dnp[j * H + k] = dn; drzp[j * 2 * H + H + k] = dz;
            dhj[k] = g * z;
          }
        }
      });
      gemm<T>(dn_buf.narrow(0, 0, nb), w_n, drh.narrow(0, 0, nb), 0.0, backend);
      const T* drhp = drh.data_ptr<T>();
      const T* hmp = hm[s].data_ptr<T>();
      at::parallel_for(0, nb, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          const int64_t t = p.time(j, s, reverse), b = p.perm[j];
          const T* gs = gs_s + j * SH;
          T* dx = dxwp + (b * Tn + t) * GH;
          T* dg = dghp + j * GH;
#pragma omp simd
          for (int64_t k = 0; k < H; ++k) {
            T r = gs[k], d = drhp[j * H + k];
            T dr = d * hmp[j * H + k] * r * (T(1) - r);
            dx[k] = dr; dg[k] = dr; drzp[j * 2 * H + k] = dr;
            pendp[j * H + k] = d * r;
          }
        }
      });
    }
    if (before)
      gemm<T>(drz_buf.narrow(0, 0, nb), w_rz, pend.narrow(0, 0, nb), 1.0, backend);
    else
      gemm<T>(dgh[s].narrow(0, 0, nb), w_rz, pend.narrow(0, 0, nb), 0.0, backend);
    pend_nb = nb;
  }
  if (pend_nb > 0) {
    Tensor mm = mask.defined() ? m.narrow(0, 0, pend_nb) : m;
    dh.narrow(0, 0, pend_nb).add_(pend.narrow(0, 0, pend_nb) * mm);
  }
  Tensor dh0 = from_sorted(p, dh);
  Tensor dc0 = mode == LSTM ? from_sorted(p, dc) : at::empty({0}, opt);

  Tensor dxw2 = dxw.view({B * Tn, GH});
  Tensor x2 = x.reshape({B * Tn, I});
  Tensor dx = at::empty({B * Tn, I}, opt);
  gemm<T>(dxw2, w_ih, dx, 0.0, backend);
  Tensor dw_ih = at::empty({GH, I}, opt);
  gemm<T>(dxw2.t(), x2, dw_ih, 0.0, backend);
  const int64_t S = p.steps;
  Tensor dgh2 = dgh.narrow(0, 0, S).view({S * B, GH});
  Tensor hm2 = hm.narrow(0, 0, S).view({S * B, H});
  Tensor dw_hh = at::empty({GH, H}, opt);
  if (before) {
    gemm<T>(dgh2.narrow(1, 0, 2 * H).t(), hm2, dw_hh.narrow(0, 0, 2 * H), 0.0, backend);
    Tensor rh2 = rh.narrow(0, 0, S).view({S * B, H});
    gemm<T>(dgh2.narrow(1, 2 * H, H).t(), rh2, dw_hh.narrow(0, 2 * H, H), 0.0, backend);
  } else {
    gemm<T>(dgh2.t(), hm2, dw_hh, 0.0, backend);
  }
  Tensor db_ih = has_b_ih ? dxw2.sum(0) : at::empty({0}, opt);
  Tensor db_hh = at::empty({0}, opt);
  if (has_b_hh) db_hh = (mode == GRU && reset_after) ? dgh2.sum(0) : (has_b_ih ? db_ih : dxw2.sum(0));
  return {dx.view({B, Tn, I}), dh0, dc0, dw_ih, dw_hh, db_ih, db_hh};
}

std::vector<Tensor> scan_backward(int64_t mode, const Tensor& x, const Tensor& w_ih,
                                  const Tensor& w_hh, bool has_b_ih, bool has_b_hh,
                                  const c10::optional<Tensor>& lengths,
                                  const c10::optional<Tensor>& mask, const Tensor& hm,
                                  const Tensor& gates, const Tensor& cs, const Tensor& hs,
                                  const Tensor& rh, const Tensor& h0s, const Tensor& c0s,
                                  const c10::optional<Tensor>& gout,
                                  const c10::optional<Tensor>& ghn,
                                  const c10::optional<Tensor>& gcn, bool reverse,
                                  bool reset_after, bool relu, int64_t backend) {
  at::NoGradGuard ng;
  auto def = [](const c10::optional<Tensor>& t) {
    return t.has_value() && t->defined() ? t->contiguous() : Tensor();
  };
  std::vector<Tensor> r;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rnnkit_scan_backward", [&] {
    r = backward_impl<scalar_t>(mode, x.contiguous(), w_ih.contiguous(), w_hh.contiguous(),
                                has_b_ih, has_b_hh, lengths, def(mask), hm, gates, cs, hs, rh, h0s,
                                c0s, def(gout), def(ghn), def(gcn), reverse, reset_after, relu,
                                backend);
  });
  return r;
}

}  // namespace rnnkit

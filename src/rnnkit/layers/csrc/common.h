// Shared pieces of the fused recurrent scan: vectorisable activations, the
// length plan (rows sorted by length so active rows are a prefix at every
// step) and a GEMM helper that picks the backend.
#pragma once
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>
#include "small_gemm.h"

namespace at { namespace native {
// Exported by libtorch_cpu (oneDNN matmul): result = beta*result + alpha*mat1@mat2.
void mkldnn_matmul(const at::Tensor& mat1, const at::Tensor& mat2, const at::Tensor& result,
                   float beta, float alpha);
}}

namespace rnnkit {
using at::Tensor;

enum Mode { LSTM = 0, GRU = 1, RNN = 2 };
enum Backend { ATEN = 0, DNNL = 1, BLAS = 2 };
// Flags on the packed backend argument (step | big << 4 | flags).
constexpr int64_t EXACT = 256;  // use the named backend for every GEMM size (tests, RNNKIT_GEMM)

// Which GEMM backends have failed in this process. A backend that throws (oneDNN refusing a
// CPU it cannot run on, say) is switched off for the rest of the process and the GEMM is
// redone on the next backend (DNNL -> BLAS -> ATen); Python reads the reason and warns once.
// `inject` makes a backend fail on purpose so tests can see the fallback on any machine.
struct Health {
  std::atomic<int> off{0}, inject{0};
  std::mutex mu;
  std::vector<std::pair<int, std::string>> news;  // failures not yet reported to Python
  bool usable(int be) const { return !(off.load() & (1 << be)); }
  void check_inject(int be) const {
    if (inject.load() & (1 << be))
      throw std::runtime_error("rnnkit test hook: backend made to fail (inject_failure)");
  }
  void fail(int be, const char* why) {
    std::lock_guard<std::mutex> lock(mu);
    if (!(off.fetch_or(1 << be) & (1 << be))) news.emplace_back(be, why);
  }
};
inline Health& health() { static Health h; return h; }

// exp accurate to ~2 ulp written with branch-free float ops, so loops over it vectorise.
template <typename T> inline T fexp(T x) { return std::exp(x); }
template <> inline float fexp<float>(float x) {
  // Saturates like expf: +inf above ~88.7 (so sigmoid(-200) is exactly 0), 0 below -87.
  const bool tiny = x < -87.0f;
  x = x > 89.0f ? 89.0f : x;
  x = tiny ? -87.0f : x;
  // round to nearest with the 1.5*2^23 trick: vectorises where floorf would be a libm call
  float fx = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - fx * 0.693359375f + fx * 2.12194440e-4f;
  float y = 1.9875691500E-4f;
  y = y * r + 1.3981999507E-3f;
  y = y * r + 8.3334519073E-3f;
  y = y * r + 4.1665795894E-2f;
  y = y * r + 1.6666665459E-1f;
  y = y * r + 5.0000001201E-1f;
  y = y * r * r + r + 1.0f;
  int32_t e = (static_cast<int32_t>(fx) + 127) << 23;
  float p;
  std::memcpy(&p, &e, 4);
  return tiny ? 0.0f : y * p;
}
template <typename T> inline T fsigmoid(T x) { return T(1) / (T(1) + fexp<T>(-x)); }
template <typename T> inline T ftanh(T x) { return std::tanh(x); }
template <> inline float ftanh<float>(float x) {
  float big = 1.0f - 2.0f / (1.0f + fexp<float>(2.0f * x));
  float x2 = x * x;  // Taylor series near 0 keeps the relative error small
  float small = x * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.0539682540f)));
  return (x2 < 0.01f) ? small : big;
}

// Rows sorted by decreasing length: at step s the active rows are 0..nb[s]-1.
struct Plan {
  int64_t B = 0, T = 0, steps = 0;  // steps = max length
  std::vector<int64_t> perm, len, nb;
  bool identity = true;
  Tensor perm_t;
  inline int64_t time(int64_t j, int64_t s, bool reverse) const {
    return reverse ? len[j] - 1 - s : s;
  }
};

inline Plan make_plan(int64_t B, int64_t T, const c10::optional<Tensor>& lengths) {
  Plan p;
  p.B = B; p.T = T; p.perm.resize(B); p.len.assign(B, T); p.nb.assign(T, B);
  for (int64_t b = 0; b < B; ++b) p.perm[b] = b;
  p.steps = T;
  if (lengths.has_value() && lengths->defined()) {
    auto L = lengths->to(at::kLong).contiguous();
    const int64_t* l = L.data_ptr<int64_t>();
    std::stable_sort(p.perm.begin(), p.perm.end(), [&](int64_t a, int64_t b) { return l[a] > l[b]; });
    for (int64_t j = 0; j < B; ++j) {
      p.len[j] = l[p.perm[j]];
      TORCH_CHECK(p.len[j] >= 1 && p.len[j] <= T, "lengths must be in [1, T]");
      if (p.perm[j] != j) p.identity = false;
    }
    p.steps = B ? p.len[0] : 0;
    for (int64_t s = 0; s < T; ++s) {
      int64_t n = 0;
      while (n < B && p.len[n] > s) ++n;
      p.nb[s] = n;
    }
  }
  if (!p.identity) p.perm_t = torch::from_blob(p.perm.data(), {B}, at::kLong).clone();
  return p;
}

inline Tensor to_sorted(const Plan& p, const Tensor& t) {
  return p.identity ? t.contiguous().clone() : t.index_select(0, p.perm_t).contiguous();
}
inline Tensor from_sorted(const Plan& p, const Tensor& t) {
  if (p.identity) return t;
  return at::empty_like(t).index_copy_(0, p.perm_t, t);
}

// ---- GEMM: c = beta*c + a @ b (a, b may be transposed views) ----
using sgemm_fn = void (*)(const char*, const char*, const int*, const int*, const int*,
                          const float*, const float*, const int*, const float*, const int*,
                          const float*, float*, const int*);
using dgemm_fn = void (*)(const char*, const char*, const int*, const int*, const int*,
                          const double*, const double*, const int*, const double*, const int*,
                          const double*, double*, const int*);
void* blas_symbol(const char* name);

template <typename T>
inline bool blas_operand(const Tensor& a, char* trans, int* ld) {
  if (a.stride(1) == 1 && a.stride(0) >= std::max<int64_t>(1, a.size(1))) {
    *trans = 'N'; *ld = (int)std::max<int64_t>(1, a.stride(0)); return true;
  }
  if (a.stride(0) == 1 && a.stride(1) >= std::max<int64_t>(1, a.size(0))) {
    *trans = 'T'; *ld = (int)std::max<int64_t>(1, a.stride(1)); return true;
  }
  return false;
}

template <typename T>
inline bool gemm_blas(const Tensor& a, const Tensor& b, const Tensor& c, double beta) {
  if (c.stride(1) != 1) return false;
  // Column-major BLAS on row-major data: C^T = B^T A^T.
  char ta, tb; int lda, ldb;
  void* f = blas_symbol(std::is_same<T, float>::value ? "sgemm_" : "dgemm_");
  if (!f || !blas_operand<T>(a, &ta, &lda) || !blas_operand<T>(b, &tb, &ldb)) return false;
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  int m = (int)N, n = (int)M, k = (int)K, ldc = (int)std::max<int64_t>(1, c.stride(0));
  T alpha = 1, bt = (T)beta;
  if constexpr (std::is_same<T, float>::value)
    ((sgemm_fn)f)(&tb, &ta, &m, &n, &k, &alpha, b.data_ptr<T>(), &ldb, a.data_ptr<T>(), &lda,
                  &bt, c.data_ptr<T>(), &ldc);
  else
    ((dgemm_fn)f)(&tb, &ta, &m, &n, &k, &alpha, b.data_ptr<T>(), &ldb, a.data_ptr<T>(), &lda,
                  &bt, c.data_ptr<T>(), &ldc);
  return true;
}

// Runs one backend; false if it does not apply to these operands (dtype, layout, no symbol).
// Throws what the backend throws.
template <typename T>
inline bool gemm_on(int be, const Tensor& a, const Tensor& b, const Tensor& c, double beta) {
  health().check_inject(be);
  if (be == DNNL) {
    if (!std::is_same<T, float>::value || !c.is_contiguous()) return false;
    at::native::mkldnn_matmul(a, b, c, (float)beta, 1.0f);
    return true;
  }
  if (be == BLAS) return gemm_blas<T>(a, b, c, beta);
  if (beta == 0) at::mm_out(const_cast<Tensor&>(c), a, b);
  else const_cast<Tensor&>(c).addmm_(a, b, beta, 1.0);
  return true;
}

// c = beta*c + a @ b (a, b may be transposed views) on `backend`, falling back DNNL -> BLAS
// -> ATen when a backend does not apply, is switched off, or throws (switching it off).
template <typename T>
inline void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double beta, int64_t backend) {
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  if (M == 0 || N == 0) return;
  if (K == 0) { if (beta == 0) c.zero_(); else c.mul_(beta); return; }
  int be = (int)(backend & 15);
  // oneDNN always opens a parallel region: only worth it (and only safe from OpenMP barrier
  // stalls when another process holds a core) for GEMMs of a few MFLOP and more.
  if (be == DNNL && !(backend & EXACT) && M * N * K < (int64_t(1) << 21)) be = BLAS;
  static const int order[3][3] = {{ATEN, ATEN, ATEN}, {DNNL, BLAS, ATEN}, {BLAS, ATEN, ATEN}};
  for (int i = 0; i < 3; ++i) {
    const int cand = order[be][i];
    if (cand != ATEN && !health().usable(cand)) continue;
    try {
      if (gemm_on<T>(cand, a, b, c, beta)) return;
    } catch (const std::exception& e) {
      if (cand == ATEN) throw;
      health().fail(cand, e.what());
    }
  }
}

// Products over all steps, on tensors laid out [B, Tn, *] where row (b, t) is valid for
// t < len(b). With lengths, and unless oneDNN's one big product is faster anyway, they run as
// one product per sequence over its valid rows only, so padding costs no arithmetic.
inline bool by_sequence(const Plan& p, int64_t backend) {
  int64_t valid = 0;
  for (auto l : p.len) valid += l;
  const bool dnnl = (backend & 15) == DNNL && health().usable(DNNL);
  return !dnnl && valid < p.B * p.T;
}

// Whether the hand kernels of small_gemm.h run a product over all steps: not when a backend
// is forced (tests, RNNKIT_GEMM), nor where oneDNN runs (it is fast on these shapes).
inline bool use_small(int64_t backend) {
  if (backend & EXACT) return false;
  const int be = (int)(backend & 15);
  return !(be == DNNL && health().usable(DNNL));
}

// Valid rows of tensors laid out [B, Tn, *] as ranges of the flat row index b * Tn + t.
inline Ranges valid_ranges(const Plan& p, int64_t Tn) {
  Ranges rs;
  if (p.identity && p.len[0] == Tn && p.len[p.B - 1] == Tn) {
    rs.emplace_back(0, p.B * Tn);
    return rs;
  }
  for (int64_t j = 0; j < p.B; ++j) rs.emplace_back(p.perm[j] * Tn, p.perm[j] * Tn + p.len[j]);
  return rs;
}

// C3[b, t] = A3[b, t] @ Bm for valid rows (rows past a length are left as they are).
template <typename T>
inline void gemm_rows(const Plan& p, const Tensor& A3, const Tensor& Bm, const Tensor& C3,
                      int64_t backend) {
  const int64_t B = A3.size(0), Tn = A3.size(1), K = A3.size(2), N = Bm.size(1);
  if (B > 0 && use_small(backend) && A3.stride(2) == 1 && A3.stride(0) == Tn * A3.stride(1) &&
      C3.is_contiguous() && (K <= SMALL_DIM || N <= SMALL_DIM)) {
    const Ranges rs = valid_ranges(p, Tn);
    if (K <= SMALL_DIM) {
      Tensor Bc = Bm.contiguous();
      rows_small_k<T>(rs, K, N, A3.data_ptr<T>(), A3.stride(1), Bc.data_ptr<T>(), C3.data_ptr<T>(), N);
    } else {
      Tensor Bc = Bm.contiguous();
      rows_small_n<T>(rs, K, N, A3.data_ptr<T>(), A3.stride(1), Bc.data_ptr<T>(), N, C3.data_ptr<T>(), N);
    }
    return;
  }
  if (!by_sequence(p, backend)) {
    gemm<T>(A3.reshape({B * Tn, A3.size(2)}), Bm, C3.view({B * Tn, C3.size(2)}), 0.0, backend);
    return;
  }
  for (int64_t j = 0; j < B; ++j)
    gemm<T>(A3[p.perm[j]].narrow(0, 0, p.len[j]), Bm, C3[p.perm[j]].narrow(0, 0, p.len[j]), 0.0,
            backend);
}

// C = sum over valid rows of A3[b, t]^T D3[b, t] (rows past a length must not matter).
template <typename T>
inline void gemm_sum_rows(const Plan& p, const Tensor& A3, const Tensor& D3, const Tensor& C,
                          int64_t backend) {
  const int64_t B = A3.size(0), Tn = A3.size(1);
  if (!by_sequence(p, backend)) {
    gemm<T>(A3.reshape({B * Tn, A3.size(2)}).t(), D3.reshape({B * Tn, D3.size(2)}), C, 0.0, backend);
    return;
  }
  for (int64_t j = 0; j < B; ++j)
    gemm<T>(A3[p.perm[j]].narrow(0, 0, p.len[j]).t(), D3[p.perm[j]].narrow(0, 0, p.len[j]), C,
            j == 0 ? 0.0 : 1.0, backend);
}

// RNNKIT_PROFILE=1 prints the time of each phase (development aid).
struct PhaseTimer {
  bool on;
  std::chrono::steady_clock::time_point t0;
  PhaseTimer() : on(std::getenv("RNNKIT_PROFILE") != nullptr), t0(std::chrono::steady_clock::now()) {}
  void mark(const char* what) {
    if (!on) return;
    auto t = std::chrono::steady_clock::now();
    fprintf(stderr, "  %-12s %8.3f ms\n", what, std::chrono::duration<double, std::milli>(t - t0).count());
    t0 = t;
  }
};

// Work buffers are reused across calls: a pooled buffer is free again once nobody but the pool
// holds its storage (autograd's saved tensors keep theirs alive). This avoids page-faulting tens
// of MB of fresh memory on every training step.
inline Tensor pooled(at::IntArrayRef sizes, const at::TensorOptions& opt) {
  static std::mutex mu;
  static std::vector<Tensor> pool;
  int64_t n = 1;
  for (auto v : sizes) n *= v;
  if (n * (int64_t)opt.dtype().itemsize() < (1 << 16)) return at::empty(sizes, opt);
  std::lock_guard<std::mutex> lock(mu);
  for (auto& t : pool)
    if (t.numel() == n && t.dtype() == opt.dtype() && t.storage().use_count() == 1)
      return t.view(sizes);
  if (pool.size() >= 48) {  // drop free buffers of other sizes before growing further
    pool.erase(std::remove_if(pool.begin(), pool.end(),
                              [](const Tensor& t) { return t.storage().use_count() == 1; }),
               pool.end());
  }
  Tensor t = at::empty({n}, opt);
  pool.push_back(t);
  return t.view(sizes);
}

// Per-step GEMM on raw row-major pointers, no tensor views: C[M,N] = beta*C + A[M,K] @ op(W),
// op(W) = W^T for W stored [N,K] (trans_w) or W for W stored [K,N]. Returns false if no BLAS.
template <typename T>
inline bool gemm_raw(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* W,
                     int64_t ldw, bool trans_w, T* C, int64_t ldc, T beta) {
  void* f = blas_symbol(std::is_same<T, float>::value ? "sgemm_" : "dgemm_");
  if (!f || !health().usable(BLAS) || (health().inject.load() & (1 << BLAS))) return false;
  if (M == 0) return true;
  // column-major: C^T[N,M] = op(W)^T[N,K] @ A^T[K,M]
  char tw = trans_w ? 'T' : 'N', ta = 'N';
  int m = (int)N, n = (int)M, k = (int)K, lw = (int)ldw, la = (int)lda, lc = (int)ldc;
  T alpha = 1;
  if constexpr (std::is_same<T, float>::value)
    ((sgemm_fn)f)(&tw, &ta, &m, &n, &k, &alpha, W, &lw, A, &la, &beta, C, &lc);
  else
    ((dgemm_fn)f)(&tw, &ta, &m, &n, &k, &alpha, W, &lw, A, &la, &beta, C, &lc);
  return true;
}

// Rows per parallel task so that each task has enough pointwise work.
inline int64_t grain_rows(int64_t width) {
  static int64_t work = [] {
    const char* e = std::getenv("RNNKIT_GRAIN");
    // Below ~32k elements per step a parallel region costs more than it saves (and stalls for
    // a whole scheduler slice when another process holds a core).
    return e ? std::atoll(e) : (int64_t)32768;
  }();
  return std::max<int64_t>(1, work / std::max<int64_t>(1, width));
}

}  // namespace rnnkit

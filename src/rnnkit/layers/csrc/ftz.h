// Subnormal floats flushed to zero while the kernels run. Gradients decaying back through long
// windows reach subnormals, and Intel cores then run every product over them ~10x slower (a
// forecaster's weight-gradient GEMM took 110-127 ms instead of 8-10 ms on a Sapphire Rapids).
// On x86 the FTZ and DAZ bits of MXCSR are set on the calling thread for a kernel call, on each
// worker of torch's OpenMP pool around the call (the pool MKL and oneDNN run their GEMMs on),
// and inside every parallel loop body; each thread gets its own bits back afterwards, so the
// caller's floating-point mode is unchanged outside the kernels. Elsewhere a no-op.
// RNNKIT_FTZ=0 turns it off (read at each kernel call; benchmarks compare both).
#pragma once
#include <ATen/Parallel.h>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <xmmintrin.h>
#define RNNKIT_MXCSR 1
#endif

namespace rnnkit {

constexpr unsigned FTZ_DAZ = 0x8040;  // MXCSR bit 15 flush-to-zero, bit 6 denormals-are-zero

// Whether kernel calls flush subnormals; refresh_ftz() rereads RNNKIT_FTZ (once per kernel call).
inline std::atomic<bool>& ftz_flag() { static std::atomic<bool> on{true}; return on; }
inline bool refresh_ftz() {
  const char* e = std::getenv("RNNKIT_FTZ");
  const bool on = !(e && e[0] == '0');
  ftz_flag().store(on, std::memory_order_relaxed);
  return on;
}

// The FTZ/DAZ bits of this thread (0 where there is no MXCSR).
inline unsigned ftz_bits() {
#ifdef RNNKIT_MXCSR
  return _mm_getcsr() & FTZ_DAZ;
#else
  return 0;
#endif
}

// Sets FTZ/DAZ on this thread for its lifetime (when on and not set yet), then puts the two
// bits back as they were (the exception flags raised meanwhile stay, as without the guard).
struct FtzGuard {
  unsigned saved = FTZ_DAZ;
  explicit FtzGuard(bool on = ftz_flag().load(std::memory_order_relaxed)) {
#ifdef RNNKIT_MXCSR
    if (!on) return;
    const unsigned csr = _mm_getcsr();
    saved = csr & FTZ_DAZ;
    if (saved != FTZ_DAZ) _mm_setcsr(csr | FTZ_DAZ);
#else
    (void)on;
#endif
  }
  ~FtzGuard() {
#ifdef RNNKIT_MXCSR
    if (saved != FTZ_DAZ) _mm_setcsr((_mm_getcsr() & ~FTZ_DAZ) | saved);
#endif
  }
  FtzGuard(const FtzGuard&) = delete;
  FtzGuard& operator=(const FtzGuard&) = delete;
};

// at::parallel_for with each body under an FtzGuard.
template <typename F>
inline void pfor(int64_t begin, int64_t end, int64_t grain, const F& f) {
  at::parallel_for(begin, end, grain, [&](int64_t a, int64_t b) {
    FtzGuard g;
    f(a, b);
  });
}

// A kernel call: FTZ/DAZ on the calling thread and on every thread of torch's OpenMP pool (one
// parallel region at the start sets them, keeping each thread's own bits, one at the end puts
// them back: libgomp runs a team of the same size on the same threads), so the GEMMs MKL and
// oneDNN spread over the pool flush too. The caller sets its bits inside that first region (as
// thread 0), never before it: pool threads started there copy the caller's mode and must keep
// the mode the caller had. Nested scopes on a thread count, the outermost restores.
// `work` (multiply-adds of the call's largest product, roughly) below kPoolWork: the pool is left
// alone (two parallel regions cost ~1-2 us, as much as a whole one-step call); products that
// small run on the calling thread, and the kernels' own loops are guarded by pfor anyway.
constexpr int64_t kPoolWork = int64_t(1) << 16;

class FtzScope {
 public:
  explicit FtzScope(int64_t work = kPoolWork) : on_(refresh_ftz()) {
    if (!on_) return;
    nthr_ = at::in_parallel_region() || work < kPoolWork ? 1 : std::max<int64_t>(1, at::get_num_threads());
    const int d = depth();
    if (nthr_ > 1) at::parallel_for(0, nthr_, 1, [](int64_t, int64_t) { hold(true); });
    if (depth() == d) hold(true);  // the caller was not in the region's team
  }
  ~FtzScope() {
    if (!on_) return;
    const int d = depth();
    if (nthr_ > 1) at::parallel_for(0, nthr_, 1, [](int64_t, int64_t) { hold(false); });
    if (depth() == d) hold(false);
  }
  FtzScope(const FtzScope&) = delete;
  FtzScope& operator=(const FtzScope&) = delete;

 private:
  static int& depth() { thread_local int d = 0; return d; }
  static void hold(bool enter) {
#ifdef RNNKIT_MXCSR
    thread_local unsigned saved = 0;
    int& d = depth();
    if (enter) {
      if (d++ == 0) {
        const unsigned csr = _mm_getcsr();
        saved = csr & FTZ_DAZ;
        if (saved != FTZ_DAZ) _mm_setcsr(csr | FTZ_DAZ);
      }
    } else if (d > 0 && --d == 0) {
      _mm_setcsr((_mm_getcsr() & ~FTZ_DAZ) | saved);
    }
#else
    (void)enter;
#endif
  }
  bool on_;
  int64_t nthr_ = 1;
};

}  // namespace rnnkit

// Python bindings of the fused recurrent scan (module rnnkit.layers.fused._C).
#include "common.h"

namespace rnnkit {
std::vector<Tensor> scan_forward(int64_t mode, const Tensor& x, const Tensor& h0,
                                 const c10::optional<Tensor>& c0, const Tensor& w_ih,
                                 const Tensor& w_hh, const c10::optional<Tensor>& b_ih,
                                 const c10::optional<Tensor>& b_hh,
                                 const c10::optional<Tensor>& lengths,
                                 const c10::optional<Tensor>& mask, bool reverse, bool reset_after,
                                 bool relu, bool train, int64_t backend);
std::vector<Tensor> scan_backward(int64_t mode, const Tensor& x, const Tensor& w_ih,
                                  const Tensor& w_hh, bool has_b_ih, bool has_b_hh,
                                  const c10::optional<Tensor>& lengths,
                                  const c10::optional<Tensor>& mask, const Tensor& hm,
                                  const Tensor& gates, const Tensor& cs, const Tensor& hs,
                                  const Tensor& rh, const Tensor& h0s, const Tensor& c0s,
                                  const c10::optional<Tensor>& gout,
                                  const c10::optional<Tensor>& ghn,
                                  const c10::optional<Tensor>& gcn, bool reverse,
                                  bool reset_after, bool relu, int64_t backend);
void register_stream_step(pybind11::module_& m);  // stream_step.cpp
bool has_blas() { return blas_symbol("sgemm_") != nullptr; }

// c = a @ b on one backend, exactly that one (no size heuristic, errors rethrown): the probe.
Tensor gemm_probe(const Tensor& a, const Tensor& b, int64_t backend) {
  at::NoGradGuard ng;
  Tensor c = at::zeros({a.size(0), b.size(1)}, a.options());
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "rnnkit_gemm_probe", [&] {
    health().check_inject((int)backend);
    if (!gemm_on<scalar_t>((int)backend, a, b, c, 0.0))
      throw std::runtime_error("this backend does not apply to these operands");
  });
  return c;
}

// Backends that failed during a run since the last call: [(backend, reason)]; each once.
std::vector<std::pair<int64_t, std::string>> take_failures() {
  std::lock_guard<std::mutex> lock(health().mu);
  std::vector<std::pair<int64_t, std::string>> r(health().news.begin(), health().news.end());
  health().news.clear();
  return r;
}

// Backends the probe rejected: never tried again in this process (no warning: it is the CPU's).
void switch_off(int64_t backend) { health().off |= (1 << (int)backend); }

// Test hook: make the backends in `mask` (1 << backend) throw from now on; 0 restores them
// (and forgets which backends were switched off, so each test starts clean).
void inject_failure(int64_t mask) {
  health().inject = (int)mask;
  if (mask == 0) health().off = 0;
}

// Test hook: the FTZ/DAZ bits (MXCSR & 0x8040; 0 without MXCSR) of the calling thread and of
// each thread of a parallel region, as a kernel call sees them ("inside") and after it.
std::vector<std::vector<int64_t>> ftz_probe() {
  auto threads = [] {
    std::vector<int64_t> bits(std::max(1, at::get_num_threads()), -1);
    at::parallel_for(0, (int64_t)bits.size(), 1, [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i) bits[i] = ftz_bits();
    });
    return bits;
  };
  std::vector<int64_t> inside, after;
  {
    FtzScope ftz;
    inside = threads();
    inside.push_back(ftz_bits());
  }
  after = threads();
  after.push_back(ftz_bits());
  return {inside, after};
}
}  // namespace rnnkit

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "rnnkit fused CPU recurrent scan (LSTM, GRU, SimpleRNN)";
  m.def("forward", &rnnkit::scan_forward, "fused scan forward");
  m.def("backward", &rnnkit::scan_backward, "fused scan backward");
  m.def("has_blas", &rnnkit::has_blas, "whether a Fortran sgemm_ symbol is loaded");
  m.def("gemm_probe", &rnnkit::gemm_probe, "a @ b on exactly one backend (errors raised)");
  m.def("take_failures", &rnnkit::take_failures, "backends that failed during a run, once each");
  m.def("switch_off", &rnnkit::switch_off, "never use this backend in this process");
  m.def("inject_failure", &rnnkit::inject_failure, "test hook: make backends (bit mask) fail");
  m.def("ftz_probe", &rnnkit::ftz_probe, "test hook: FTZ/DAZ bits per thread inside and after a call");
  rnnkit::register_stream_step(m);
#ifdef RNNKIT_SRC_HASH
#define RNNKIT_STR2(x) #x
#define RNNKIT_STR(x) RNNKIT_STR2(x)
  m.attr("SRC_HASH") = RNNKIT_STR(RNNKIT_SRC_HASH);
#else
  m.attr("SRC_HASH") = "";
#endif
}

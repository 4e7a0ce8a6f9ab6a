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
bool has_blas() { return blas_symbol("sgemm_") != nullptr; }
}  // namespace rnnkit

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "rnnkit fused CPU recurrent scan (LSTM, GRU, SimpleRNN)";
  m.def("forward", &rnnkit::scan_forward, "fused scan forward");
  m.def("backward", &rnnkit::scan_backward, "fused scan backward");
  m.def("has_blas", &rnnkit::has_blas, "whether a Fortran sgemm_ symbol is loaded");
#ifdef RNNKIT_SRC_HASH
#define RNNKIT_STR2(x) #x
#define RNNKIT_STR(x) RNNKIT_STR2(x)
  m.attr("SRC_HASH") = RNNKIT_STR(RNNKIT_SRC_HASH);
#else
  m.attr("SRC_HASH") = "";
#endif
}

// One streaming step of a recurrent forecaster (rnnkit.export.streaming.Streamer) in one call:
// every layer's cell (LSTM, GRU in both reset_after forms, SimpleRNN tanh/relu) and the dense
// head for one new row per stream, on weights packed once and state buffers bound once (the
// Streamer's NumPy arrays, shared, not copied). The step is a few (1 x ~100) @ (~100 x ~256)
// products: in NumPy its cost is ~15 calls' overhead, here one call and no allocation but the
// forecast handed out. Equations are torch.nn's (as the NumPy step, which stays the fallback).
#include <pybind11/numpy.h>
#include "common.h"

namespace py = pybind11;

namespace rnnkit {
namespace {

// out[0:n] = init[0:n] + in[0:k] @ W[0:k, 0:n] (W row-major, leading dimension ld): column
// blocks of 64 accumulated over k, so each block stays in vector registers.
inline void matvec(float* __restrict out, const float* __restrict init, const float* __restrict in,
                   const float* __restrict W, int64_t k, int64_t n, int64_t ld) {
  constexpr int64_t BS = 64;
  int64_t j0 = 0;
  for (; j0 + BS <= n; j0 += BS) {
    float acc[BS];
    for (int64_t j = 0; j < BS; ++j) acc[j] = init[j0 + j];
    for (int64_t i = 0; i < k; ++i) {
      const float a = in[i];
      const float* w = W + i * ld + j0;
#pragma omp simd
      for (int64_t j = 0; j < BS; ++j) acc[j] += a * w[j];
    }
    for (int64_t j = 0; j < BS; ++j) out[j0 + j] = acc[j];
  }
  if (j0 < n) {
    const int64_t m = n - j0;
    float acc[BS];
    for (int64_t j = 0; j < m; ++j) acc[j] = init[j0 + j];
    for (int64_t i = 0; i < k; ++i) {
      const float a = in[i];
      const float* w = W + i * ld + j0;
#pragma omp simd
      for (int64_t j = 0; j < m; ++j) acc[j] += a * w[j];
    }
    for (int64_t j = 0; j < m; ++j) out[j0 + j] = acc[j];
  }
}

// W (rows, cols) as torch stores it -> W^T row-major (cols, rows) float32.
std::vector<float> transposed(const Tensor& w) {
  Tensor t = w.detach().to(at::kFloat).t().contiguous();
  return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
}

std::vector<float> vec_or_zeros(const py::object& b, int64_t n) {
  if (b.is_none()) return std::vector<float>(n, 0.0f);
  Tensor t = b.cast<Tensor>().detach().to(at::kFloat).contiguous();
  TORCH_CHECK(t.numel() == n, "stream step: bias of ", t.numel(), " values, expected ", n);
  return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + n);
}

// A float32 buffer shared with Python: (batch, n) with any row stride (batch 1 may be 1-D).
struct Rows {
  Tensor keep;           // holds the NumPy array alive (torch.from_numpy shares its memory)
  float* p = nullptr;
  int64_t stride = 0;
  void bind(const Tensor& t, int64_t batch, int64_t n, const char* what) {
    TORCH_CHECK(t.scalar_type() == at::kFloat, "stream step: ", what, " must be float32");
    TORCH_CHECK(t.numel() == batch * n && t.size(-1) == n && t.stride(-1) == 1,
                "stream step: ", what, " must be (batch, ", n, ") with unit column stride");
    keep = t;
    p = t.data_ptr<float>();
    stride = t.dim() == 2 ? t.stride(0) : n;
  }
  float* row(int64_t b) const { return p + b * stride; }
};

struct Layer {
  int mode = 0;
  bool reset_after = true, relu = false;
  int64_t n_in = 0, H = 0, G = 0;
  std::vector<float> wx, wh, bx, bh;  // W_ih^T (n_in, G), W_hh^T (H, G), biases (G)
  Rows h, c;
  std::vector<float> gx, gh, rh;      // scratch

  // The layer's cell for stream b on input row `in`: h (and c) updated in place.
  // flatten: every call inlined, so GCC vectorises the gate loops (else some ftanh calls stay calls)
  __attribute__((flatten)) void step(int64_t b, const float* __restrict in) {
    float* __restrict hp = h.row(b);
    float* __restrict x = gx.data();
    float* __restrict y = gh.data();
    if (mode == GRU && !reset_after) {  // n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)
      matvec(x, bx.data(), in, wx.data(), n_in, G, G);
      matvec(y, bh.data(), hp, wh.data(), H, 2 * H, G);
      float* __restrict r = rh.data();
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) r[j] = fsigmoid<float>(x[j] + y[j]) * hp[j];
      matvec(y + 2 * H, bh.data() + 2 * H, r, wh.data() + 2 * H, H, H, G);
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        const float z = fsigmoid<float>(x[H + j] + y[H + j]);
        const float n = ftanh<float>(x[2 * H + j] + y[2 * H + j]);
        hp[j] = n + z * (hp[j] - n);
      }
      return;
    }
    matvec(x, bx.data(), in, wx.data(), n_in, G, G);
    matvec(y, bh.data(), hp, wh.data(), H, G, G);
    if (mode == LSTM) {
      float* __restrict cp = c.row(b);
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        const float i = fsigmoid<float>(x[j] + y[j]);
        const float f = fsigmoid<float>(x[H + j] + y[H + j]);
        const float g = ftanh<float>(x[2 * H + j] + y[2 * H + j]);
        const float o = fsigmoid<float>(x[3 * H + j] + y[3 * H + j]);
        const float cn = f * cp[j] + i * g;
        cp[j] = cn;
        hp[j] = o * ftanh<float>(cn);
      }
    } else if (mode == GRU) {           // torch's form: n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        const float r = fsigmoid<float>(x[j] + y[j]);
        const float z = fsigmoid<float>(x[H + j] + y[H + j]);
        const float n = ftanh<float>(x[2 * H + j] + r * y[2 * H + j]);
        hp[j] = (1.0f - z) * n + z * hp[j];
      }
    } else if (relu) {
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) hp[j] = std::max(x[j] + y[j], 0.0f);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) hp[j] = ftanh<float>(x[j] + y[j]);
    }
  }
};

struct Linear {
  int64_t n_in = 0, n_out = 0;
  bool relu = false;
  std::vector<float> wt, b, out;      // W^T (n_in, n_out), bias, output scratch
};

// The bound step: layers and head of one Streamer for one batch size.
class StreamStep {
 public:
  // layers: (mode, reset_after, relu, w_ih, w_hh, b_ih|None, b_hh|None, h, c|None) per layer,
  // h/c the Streamer's state arrays as tensors sharing memory; head: (weight, bias|None, relu)
  // per Linear; x: the buffer each new row is copied into (the Streamer reads the residual
  // level there); out_shape: the forecast's shape; residual: the input column added to every
  // output (-1: none); batched: rows are (batch, features), else (features,); on_bad_row:
  // called (it should raise) when a row is not finite, before any state changes.
  StreamStep(const std::vector<py::tuple>& layers, const std::vector<py::tuple>& head,
             const Tensor& x, std::vector<int64_t> out_shape, int64_t residual, bool batched,
             int64_t batch, py::object on_bad_row)
      : out_shape_(std::move(out_shape)), residual_(residual), batched_(batched), B_(batch),
        on_bad_row_(std::move(on_bad_row)) {
    TORCH_CHECK(!layers.empty(), "stream step: no layers");
    for (const auto& t : layers) {
      Layer L;
      L.mode = t[0].cast<int>();
      L.reset_after = t[1].cast<bool>();
      L.relu = t[2].cast<bool>();
      Tensor w_ih = t[3].cast<Tensor>(), w_hh = t[4].cast<Tensor>();
      L.G = w_ih.size(0);
      L.n_in = w_ih.size(1);
      L.H = w_hh.size(1);
      const int64_t gates = L.mode == LSTM ? 4 : L.mode == GRU ? 3 : 1;
      TORCH_CHECK(L.G == gates * L.H && w_hh.size(0) == L.G, "stream step: weight shapes do not match");
      TORCH_CHECK(layers_.empty() || L.n_in == layers_.back().H, "stream step: layer sizes do not chain");
      L.wx = transposed(w_ih);
      L.wh = transposed(w_hh);
      L.bx = vec_or_zeros(t[5], L.G);
      L.bh = vec_or_zeros(t[6], L.G);
      // b_ih + b_hh once, except GRU's n gate, where b_hn goes with the recurrent product
      const int64_t fold = L.mode == GRU ? 2 * L.H : L.G;
      for (int64_t j = 0; j < fold; ++j) { L.bx[j] += L.bh[j]; L.bh[j] = 0.0f; }
      L.h.bind(t[7].cast<Tensor>(), B_, L.H, "h");
      if (L.mode == LSTM) L.c.bind(t[8].cast<Tensor>(), B_, L.H, "c");
      L.gx.assign(L.G, 0.0f);
      L.gh.assign(L.G, 0.0f);
      L.rh.assign(L.H, 0.0f);
      layers_.push_back(std::move(L));
    }
    n_in_ = layers_.front().n_in;
    int64_t width = layers_.back().H;
    for (const auto& t : head) {
      Linear lin;
      Tensor w = t[0].cast<Tensor>();
      lin.n_out = w.size(0);
      lin.n_in = w.size(1);
      TORCH_CHECK(lin.n_in == width, "stream step: head sizes do not chain");
      lin.wt = transposed(w);
      lin.b = vec_or_zeros(t[1], lin.n_out);
      lin.relu = t[2].cast<bool>();
      lin.out.assign(lin.n_out, 0.0f);
      width = lin.n_out;
      head_.push_back(std::move(lin));
    }
    TORCH_CHECK(!head_.empty(), "stream step: no head");
    n_out_ = width;
    int64_t numel = 1;
    for (int64_t d : out_shape_) numel *= d;
    TORCH_CHECK(numel == B_ * n_out_, "stream step: out_shape holds ", numel, " values, the head gives ",
                B_ * n_out_);
    TORCH_CHECK(residual_ < n_in_, "stream step: residual column out of range");
    x_.bind(x, B_, n_in_, "x");
  }

  // Advance every stream by the row(s) in `x`; no forecast.
  void advance(const py::array& x) {
    FtzGuard ftz;  // a state decaying through subnormals stays fast (ftz.h)
    take(x);
    for (int64_t b = 0; b < B_; ++b) layers_step(b);
  }

  // Advance by `x` and return the forecast after it (a fresh tensor of out_shape).
  Tensor run(const py::array& x) {
    FtzGuard ftz;
    take(x);
    Tensor y = at::empty(out_shape_, at::TensorOptions().dtype(at::kFloat));
    float* out = y.data_ptr<float>();
    for (int64_t b = 0; b < B_; ++b) {
      layers_step(b);
      const float* v = layers_.back().h.row(b);
      for (size_t i = 0; i < head_.size(); ++i) {
        Linear& lin = head_[i];
        const bool last = i + 1 == head_.size();
        float* o = last ? out + b * n_out_ : lin.out.data();
        matvec(o, lin.b.data(), v, lin.wt.data(), lin.n_in, lin.n_out, lin.n_out);
        if (lin.relu)
          for (int64_t j = 0; j < lin.n_out; ++j) o[j] = std::max(o[j], 0.0f);
        v = o;
      }
      if (residual_ >= 0) {
        const float level = x_.row(b)[residual_];
        float* o = out + b * n_out_;
        for (int64_t j = 0; j < n_out_; ++j) o[j] += level;
      }
    }
    return y;
  }

 private:
  void layers_step(int64_t b) {
    const float* in = x_.row(b);
    for (auto& L : layers_) {
      L.step(b, in);
      in = L.h.row(b);
    }
  }

  // Check `x` ((features,) or (batch, features) float32, any strides), refuse a non-finite row
  // before anything changes, copy it into the bound x buffer.
  void take(const py::array& x) {
    const int64_t nd = batched_ ? 2 : 1;
    if (x.ndim() != nd || x.itemsize() != 4 || x.shape(nd - 1) != n_in_ || (batched_ && x.shape(0) != B_) ||
        !py::isinstance<py::array_t<float>>(x))
      throw py::value_error("stream step: the row must be float32 of the bound shape");
    const char* base = static_cast<const char*>(x.data());
    const int64_t s0 = batched_ ? x.strides(0) : 0, s1 = x.strides(nd - 1);
    bool finite = true;
    for (int64_t b = 0; b < B_; ++b)
      for (int64_t j = 0; j < n_in_; ++j)
        finite &= std::isfinite(*reinterpret_cast<const float*>(base + b * s0 + j * s1));
    if (!finite) {
      on_bad_row_();
      throw py::value_error("stream step: a non-finite value in the row");
    }
    for (int64_t b = 0; b < B_; ++b) {
      float* dst = x_.row(b);
      for (int64_t j = 0; j < n_in_; ++j) dst[j] = *reinterpret_cast<const float*>(base + b * s0 + j * s1);
    }
  }

  std::vector<Layer> layers_;
  std::vector<Linear> head_;
  Rows x_;
  std::vector<int64_t> out_shape_;
  int64_t residual_, n_in_ = 0, n_out_ = 0;
  bool batched_;
  int64_t B_;
  py::object on_bad_row_;
};

}  // namespace

void register_stream_step(py::module_& m) {
  py::class_<StreamStep>(m, "StreamStep", "one streaming step of a recurrent forecaster, buffers bound once")
      .def(py::init<const std::vector<py::tuple>&, const std::vector<py::tuple>&, const Tensor&,
                    std::vector<int64_t>, int64_t, bool, int64_t, py::object>(),
           py::arg("layers"), py::arg("head"), py::arg("x"), py::arg("out_shape"), py::arg("residual"),
           py::arg("batched"), py::arg("batch"), py::arg("on_bad_row"))
      .def("advance", &StreamStep::advance, "advance every stream by one row, no forecast")
      .def("run", &StreamStep::run, "advance by one row and return the forecast (a fresh tensor)");
}

}  // namespace rnnkit

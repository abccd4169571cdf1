#include "ssdd/models/winograd_conv.h"

#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include <torch/autograd.h>
#include <torch/torch.h>

#include "ssdd/core/autocast_state.h"
#include "ssdd/models/cpu_float.h"

#if defined(SSDD_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.hpp>
// oneDNN 3 dropped the operation descriptors this file builds its primitives from.
#if DNNL_VERSION_MAJOR == 2
#define SSDD_WINOGRAD 1
#endif
#endif

namespace ssdd::models {

namespace {

#if defined(SSDD_WINOGRAD)

// The rule of the header: wide layers only (docs/performance-log.md section 14 has the timings
// behind the bounds), maps of at least two of the algorithm's 4x4 output tiles a side.
bool wide_enough(const at::Tensor& x, const at::Tensor& weight) {
  return x.dim() == 4 && weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3 &&
         x.size(1) == weight.size(1) && weight.size(1) >= 64 && weight.size(0) >= 128 && x.size(2) >= 8 &&
         x.size(3) >= 8;
}

using Tag = dnnl::memory::format_tag;
using Desc = dnnl::memory::desc;
using Shape = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>;  // N, C in, C out, H, W

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

Shape shape_of(const at::Tensor& x, const at::Tensor& weight) {
  return {x.size(0), x.size(1), weight.size(0), x.size(2), x.size(3)};
}

Desc activation_desc(int64_t n, int64_t c, int64_t h, int64_t w, Tag tag) {
  return Desc({n, c, h, w}, dnnl::memory::data_type::f32, tag);
}

// The three passes' primitives of one shape, made once. Their scratchpads are the caller's
// (scratchpad_mode::user), so one primitive may run from several threads at once.
struct Primitives {
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_backward_data::primitive_desc data_pd;
  dnnl::convolution_backward_weights::primitive_desc weights_pd;
  dnnl::convolution_forward forward;
  dnnl::convolution_backward_data data;
  dnnl::convolution_backward_weights weights;
};

// Throws dnnl::error where oneDNN has no Winograd implementation for the shape on this CPU.
std::shared_ptr<const Primitives> make_primitives(const Shape& s) {
  const auto [n, in, out, h, w] = s;
  const Desc src = activation_desc(n, in, h, w, Tag::any), dst = activation_desc(n, out, h, w, Tag::any);
  const Desc weights({out, in, 3, 3}, dnnl::memory::data_type::f32, Tag::any);
  const Desc bias({out}, dnnl::memory::data_type::f32, Tag::x);
  const dnnl::memory::dims stride{1, 1}, pad{1, 1};
  const auto algorithm = dnnl::algorithm::convolution_winograd;
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  auto& engine = cpu_engine();
  const dnnl::convolution_forward::primitive_desc forward_pd(
      {dnnl::prop_kind::forward_training, algorithm, src, weights, bias, dst, stride, pad, pad}, attr, engine);
  const dnnl::convolution_backward_data::primitive_desc data_pd({algorithm, src, weights, dst, stride, pad, pad}, attr,
                                                                engine, forward_pd);
  const dnnl::convolution_backward_weights::primitive_desc weights_pd(
      {algorithm, src, weights, bias, dst, stride, pad, pad}, attr, engine, forward_pd);
  return std::make_shared<const Primitives>(
      Primitives{forward_pd, data_pd, weights_pd, dnnl::convolution_forward(forward_pd),
                 dnnl::convolution_backward_data(data_pd), dnnl::convolution_backward_weights(weights_pd)});
}

// Null where oneDNN has no implementation; asked of oneDNN once per shape.
std::shared_ptr<const Primitives> primitives_for(const Shape& s) {
  static std::mutex mutex;
  static std::map<Shape, std::shared_ptr<const Primitives>> made;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = made.find(s);
  if (it != made.end()) return it->second;
  std::shared_ptr<const Primitives> p;
  try {
    p = make_primitives(s);
  } catch (const dnnl::error&) {
    // unimplemented: no AVX-512, or a channel count the kernels do not take
  }
  return made.emplace(s, p).first->second;
}

// Buffers are LibTorch tensors, so they come from (and return to) the same allocator.
dnnl::memory wrap(const Desc& desc, const at::Tensor& storage) {
  return dnnl::memory(desc, cpu_engine(), storage.data_ptr());
}

at::Tensor bytes(const Desc& desc) { return at::empty({static_cast<int64_t>(desc.get_size())}, at::kByte); }

// The primitives' scratchpad (the transformed tiles: 140-640 MB at the paper-cpu and grid
// shapes), kept per thread and grown to the largest asked for. Allocated per call it was
// returned to the kernel and page-faulted back each time (glibc trims a free top of heap above
// core/runtime.cpp's 1 GiB), which cost more than Winograd saved.
dnnl::memory scratchpad(const Desc& desc) {
  thread_local at::Tensor buffer;
  const auto size = static_cast<int64_t>(desc.get_size());
  if (!buffer.defined() || buffer.numel() < size) {
    buffer = at::Tensor();  // the old one freed before the larger one is taken
    buffer = at::empty({size}, at::kByte);
  }
  return wrap(desc, buffer);
}

// `user` in the layout `want`: itself where it already is, else a reordered copy kept alive
// by `storage`.
dnnl::memory in_layout(const dnnl::memory& user, const Desc& want, at::Tensor& storage, dnnl::stream& stream) {
  if (user.get_desc() == want) return user;
  storage = bytes(want);
  dnnl::memory from = user, to = wrap(want, storage);
  dnnl::reorder(from, to).execute(stream, from, to);
  return to;
}

// Runs `primitive` writing the primitive's output (of layout `made`) into `result`, a user
// memory: directly when the layouts agree, through a buffer and a reorder otherwise.
void run_into(const dnnl::primitive& primitive, std::unordered_map<int, dnnl::memory> args, int output_arg,
              const Desc& made, const dnnl::memory& result, const Desc& scratchpad_desc, dnnl::stream& stream) {
  at::Tensor buffer;
  args[DNNL_ARG_SCRATCHPAD] = scratchpad(scratchpad_desc);
  const bool direct = result.get_desc() == made;
  if (!direct) buffer = bytes(made);
  dnnl::memory out = direct ? result : wrap(made, buffer), to = result;
  args[output_arg] = out;
  primitive.execute(stream, args);
  if (!direct) dnnl::reorder(out, to).execute(stream, out, to);
}

dnnl::memory nhwc(const at::Tensor& t) {
  return wrap(activation_desc(t.size(0), t.size(1), t.size(2), t.size(3), Tag::nhwc), t);
}

dnnl::memory oihw(const at::Tensor& t) {
  return wrap(Desc({t.size(0), t.size(1), 3, 3}, dnnl::memory::data_type::f32, Tag::oihw), t);
}

dnnl::memory vector_of(const at::Tensor& t) { return wrap(Desc({t.size(0)}, dnnl::memory::data_type::f32, Tag::x), t); }

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class WinogradConv3x3 : public torch::autograd::Function<WinogradConv3x3> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x_in, const at::Tensor& weight_in,
                            const at::Tensor& bias_in) {
    const at::Tensor x = x_in.contiguous(at::MemoryFormat::ChannelsLast), weight = weight_in.contiguous();
    const at::Tensor bias = bias_in.contiguous();
    const auto p = primitives_for(shape_of(x, weight));
    TORCH_CHECK(p, "winograd_conv3x3: no Winograd implementation for this shape (check winograd_pays first)");
    dnnl::stream stream(cpu_engine());
    at::Tensor y = at::empty({x.size(0), weight.size(0), x.size(2), x.size(3)},
                             x.options().memory_format(at::MemoryFormat::ChannelsLast));
    at::Tensor src_copy, weights_copy;
    const auto src = in_layout(nhwc(x), p->forward_pd.src_desc(), src_copy, stream);
    const auto w = in_layout(oihw(weight), p->forward_pd.weights_desc(), weights_copy, stream);
    run_into(p->forward, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, vector_of(bias)}}, DNNL_ARG_DST,
             p->forward_pd.dst_desc(), nhwc(y), p->forward_pd.scratchpad_desc(), stream);
    stream.wait();
    ctx->save_for_backward({x, weight});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1];
    const at::Tensor g = grads[0].contiguous(at::MemoryFormat::ChannelsLast);
    const auto p = primitives_for(shape_of(x, weight));
    dnnl::stream stream(cpu_engine());
    at::Tensor dx, dw, db, copies[4];
    // Both passes usually want the incoming gradient in the same blocked layout: reordered once.
    dnnl::memory dy = nhwc(g);
    if (ctx->needs_input_grad(0)) {
      dx = at::empty_like(x, at::MemoryFormat::ChannelsLast);
      dy = in_layout(dy, p->data_pd.diff_dst_desc(), copies[0], stream);
      const auto w = in_layout(oihw(weight), p->data_pd.weights_desc(), copies[1], stream);
      run_into(p->data, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, w}}, DNNL_ARG_DIFF_SRC, p->data_pd.diff_src_desc(),
               nhwc(dx), p->data_pd.scratchpad_desc(), stream);
    }
    if (ctx->needs_input_grad(1) || ctx->needs_input_grad(2)) {
      dw = at::empty_like(weight, at::MemoryFormat::Contiguous);
      db = at::empty({weight.size(0)}, weight.options());
      const auto dy_weights = in_layout(dy, p->weights_pd.diff_dst_desc(), copies[2], stream);
      const auto src = in_layout(nhwc(x), p->weights_pd.src_desc(), copies[3], stream);
      run_into(p->weights, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, dy_weights}, {DNNL_ARG_DIFF_BIAS, vector_of(db)}},
               DNNL_ARG_DIFF_WEIGHTS, p->weights_pd.diff_weights_desc(), oihw(dw), p->weights_pd.scratchpad_desc(),
               stream);
    }
    stream.wait();
    return {dx, dw, db};
  }
};

// LibTorch's custom functions take no undefined inputs: no bias is a zero one.
at::Tensor apply_winograd(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  return WinogradConv3x3::apply(x, weight, bias.defined() ? bias : at::zeros({weight.size(0)}, weight.options()));
}

#endif  // SSDD_WINOGRAD

}  // namespace

bool winograd_pays(const at::Tensor& x, const at::Tensor& weight) {
#if defined(SSDD_WINOGRAD)
  return is_cpu_float(x) && is_cpu_float(weight) && !autocast_enabled(c10::DeviceType::CPU) &&
         wide_enough(x, weight) && primitives_for(shape_of(x, weight)) != nullptr;
#else
  (void)x;
  (void)weight;
  return false;
#endif
}

at::Tensor winograd_conv3x3(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
#if defined(SSDD_WINOGRAD)
  TORCH_CHECK(winograd_pays(x, weight), "winograd_conv3x3: the Winograd path does not take this input or weight");
  return apply_winograd(x, weight, bias);
#else
  (void)x;
  (void)weight;
  (void)bias;
  TORCH_CHECK(false, "winograd_conv3x3: this build has no oneDNN headers (install libdnnl-dev and reconfigure)");
#endif
}

at::Tensor conv3x3(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, bool allow_winograd) {
#if defined(SSDD_WINOGRAD)
  if (allow_winograd && winograd_pays(x, weight)) return apply_winograd(x, weight, bias);
#else
  (void)allow_winograd;
#endif
  return torch::conv2d(x, weight, bias, 1, 1);
}

}  // namespace ssdd::models

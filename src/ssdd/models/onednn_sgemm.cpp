#include "ssdd/models/onednn_sgemm.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#if defined(SSDD_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.h>
#endif

namespace ssdd::models {

namespace {

bool float_matrix(const at::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.dim() == 2; }

// 'N' for a row-major contiguous matrix, 'T' for the transpose of one, 0 for any other layout.
char layout_of(const at::Tensor& t) {
  if (t.is_contiguous()) return 'N';
  if (t.t().is_contiguous()) return 'T';
  return 0;
}

// c = a @ b, c contiguous m x n; the callers checked the operands.
void sgemm_into(const at::Tensor& a, const at::Tensor& b, at::Tensor& c) {
  const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    c.zero_();
    return;
  }
#if defined(SSDD_HAVE_ONEDNN)
  // Row-major, as the tensors: C = 1 * op(A) op(B) + 0 * C; a transposed operand is read in
  // place with its storage's leading dimension.
  const char ta = layout_of(a), tb = layout_of(b);
  const int64_t lda = ta == 'N' ? k : m, ldb = tb == 'N' ? n : k;
  const dnnl_status_t status = dnnl_sgemm(ta, tb, m, n, k, 1.0f, a.data_ptr<float>(), lda, b.data_ptr<float>(), ldb,
                                          0.0f, c.data_ptr<float>(), n);
  TORCH_CHECK(status == dnnl_success, "onednn sgemm failed with status ", static_cast<int>(status));
#else
  TORCH_CHECK(false, "onednn sgemm: this build has no oneDNN headers (install libdnnl-dev and reconfigure)");
#endif
}

}  // namespace

bool onednn_sgemm_available() {
#if defined(SSDD_HAVE_ONEDNN)
  return true;
#else
  return false;
#endif
}

bool onednn_mm_takes(const at::Tensor& a, const at::Tensor& b) {
  return onednn_sgemm_available() && float_matrix(a) && float_matrix(b) && a.size(1) == b.size(0) &&
         layout_of(a) != 0 && layout_of(b) != 0;
}

void onednn_sgemm(const at::Tensor& a, const at::Tensor& b, at::Tensor& c) {
  TORCH_CHECK(onednn_mm_takes(a, b) && a.is_contiguous() && b.is_contiguous(),
              "onednn_sgemm: contiguous float CPU matrices of matching inner size expected, got ", a.sizes(), " @ ",
              b.sizes());
  TORCH_CHECK(float_matrix(c) && c.is_contiguous() && c.size(0) == a.size(0) && c.size(1) == b.size(1),
              "onednn_sgemm: the output must be a contiguous float matrix of ", a.size(0), " x ", b.size(1));
  sgemm_into(a, b, c);
}

at::Tensor onednn_mm(const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(onednn_mm_takes(a, b), "onednn_mm: float CPU matrices of matching inner size, each contiguous or "
              "transposed, and a build with oneDNN expected; got ", a.sizes(), " @ ", b.sizes());
  at::Tensor c = at::empty({a.size(0), b.size(1)}, a.options());
  sgemm_into(a, b, c);
  return c;
}

}  // namespace ssdd::models

// Builds without CUDA: the CUDA backend is a clear usage error (resolve_device normally stops
// `--device cuda` earlier; this catches library callers).
#include "scpx/core/error.hpp"
#include "scpx/ctpred/mlp.hpp"

namespace scpx::ctpred {

template <class T>
std::unique_ptr<mlp_backend<T>> make_cuda_backend(const mlp_layout&, const mlp_data<T>&, const train_options&) {
    throw usage_error("this scpx was built without CUDA: use --device cpu");
}

template std::unique_ptr<mlp_backend<float>> make_cuda_backend(const mlp_layout&, const mlp_data<float>&,
                                                               const train_options&);
template std::unique_ptr<mlp_backend<double>> make_cuda_backend(const mlp_layout&, const mlp_data<double>&,
                                                                const train_options&);

} // namespace scpx::ctpred

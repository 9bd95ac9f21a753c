#include "scpx/seq/onehot.hpp"

namespace scpx::seq {

void onehot_ref(std::string_view seq, float* out, onehot_n_mode n_mode) {
    const float other = n_mode == onehot_n_mode::QUARTER ? 0.25f : 0.0f;
    for (std::size_t i = 0; i < seq.size(); ++i) {
        float* row = out + 4 * i; // [L, 4], channels A C G T
        const int hot = onehot_channel(seq[i]);
        for (int c = 0; c < 4; ++c) row[c] = hot < 0 ? other : (c == hot ? 1.0f : 0.0f);
    }
}

std::vector<float> onehot_ref(std::string_view seq, onehot_n_mode n_mode) {
    std::vector<float> out(4 * seq.size());
    onehot_ref(seq, out.data(), n_mode);
    return out;
}

} // namespace scpx::seq

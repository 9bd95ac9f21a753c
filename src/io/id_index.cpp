#include "scpx/io/id_index.hpp"

#include "scpx/core/error.hpp"

#include <algorithm>
#include <cstring>
#include <functional>

namespace scpx::io {

std::uint64_t id_index::hash(std::string_view s) {
    // std::hash (murmur-style in libstdc++) mixes short ids well; the extra multiply spreads the
    // bits used for the slot (low) and the tag (high) apart.
    const std::uint64_t h = std::hash<std::string_view>{}(s);
    return h * 0x9E3779B97F4A7C15ull;
}

void id_index::reserve(std::size_t expected) {
    std::size_t want = 16;
    while (want < expected * 2)
        want <<= 1; // load factor ≤ 0.5
    if (want > slots_.size()) rehash(want);
}

void id_index::rehash(std::size_t n) {
    std::vector<std::uint64_t> old;
    old.swap(slots_);
    slots_.assign(n, 0);
    mask_ = n - 1;
    for (std::uint64_t s : old) {
        if (!s) continue;
        const auto k = static_cast<std::size_t>((s & 0xffffffffu) - 1);
        std::size_t pos = static_cast<std::size_t>(hash(id(k))) & mask_;
        while (slots_[pos])
            pos = (pos + 1) & mask_;
        slots_[pos] = s;
    }
}

std::int64_t id_index::find(std::string_view key) const {
    if (slots_.empty()) return npos;
    const std::uint64_t h = hash(key);
    const std::uint64_t tag = h >> 32;
    std::size_t pos = static_cast<std::size_t>(h) & mask_;
    for (;;) {
        const std::uint64_t s = slots_[pos];
        if (!s) return npos;
        if ((s >> 32) == tag) {
            const auto k = static_cast<std::size_t>((s & 0xffffffffu) - 1);
            const std::size_t len = offsets_[k + 1] - offsets_[k];
            if (len == key.size() && std::memcmp(chars_.data() + offsets_[k], key.data(), len) == 0)
                return static_cast<std::int64_t>(k);
        }
        pos = (pos + 1) & mask_;
    }
}

std::uint32_t id_index::insert(std::string_view key) {
    const std::int64_t found = find(key);
    if (found != npos) return static_cast<std::uint32_t>(found);
    SCPX_ASSERT(size() < 0xfffffffeu);
    if ((size() + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 16 : slots_.size() * 2);
    const auto k = static_cast<std::uint32_t>(size());
    chars_.append(key.data(), key.size());
    offsets_.push_back(chars_.size());
    const std::uint64_t h = hash(key);
    std::size_t pos = static_cast<std::size_t>(h) & mask_;
    while (slots_[pos])
        pos = (pos + 1) & mask_;
    slots_[pos] = ((h >> 32) << 32) | (static_cast<std::uint64_t>(k) + 1);
    return k;
}

void id_index::clear() {
    chars_.clear();
    offsets_.assign(1, 0);
    std::fill(slots_.begin(), slots_.end(), 0);
}

} // namespace scpx::io

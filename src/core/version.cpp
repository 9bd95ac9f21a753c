#include "scpx/core/version.hpp"

#include "scpx/config.hpp"

namespace scpx {

std::string version() { return SCPX_VERSION; }
std::string git_hash() { return SCPX_GIT_HASH; }

bool built_with_cuda() {
#ifdef SCPX_WITH_CUDA
    return true;
#else
    return false;
#endif
}

std::string version_line() {
    return "scpx " + version() + " (git " + git_hash() + ") CUDA " + (built_with_cuda() ? "on" : "off");
}

} // namespace scpx

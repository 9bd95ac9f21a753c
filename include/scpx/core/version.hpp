#pragma once
/// @file version.hpp
/// What this binary is: version, git hash, build features.

#include <string>

namespace scpx {

/// "0.1.0".
std::string version();
/// Short git hash of the source tree at configure time ("unknown" outside git, "-dirty" suffix
/// for uncommitted changes).
std::string git_hash();
/// True when the CUDA kernels were compiled in.
bool built_with_cuda();
/// "scpx 0.1.0 (git abc123) CUDA on": the line printed by `scpx --version` and every log banner.
std::string version_line();

} // namespace scpx

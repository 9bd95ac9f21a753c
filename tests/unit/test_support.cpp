#include "test_support.hpp"

#include "scpx/core/atomic_file.hpp"

#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>

namespace scpx::test {

std::string scratch_path(const std::string& name) {
    // Created on demand: the binary may run on another machine (the GPU check) without its build tree.
    std::string p = std::string(SCPX_TEST_SCRATCH_DIR) + "/" + name;
    scpx::make_parent_dirs(p);
    std::remove(p.c_str());
    return p;
}

void write_text(const std::string& path, const std::string& content) {
    std::ofstream f(path, std::ios::binary);
    f << content;
    if (!f) throw std::runtime_error("test could not write " + path);
}

void write_gzip(const std::string& path, const std::string& content) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (!f) throw std::runtime_error("test could not open " + path);
    if (!content.empty()) gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
    gzclose(f);
}

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream os;
    os << f.rdbuf();
    return os.str();
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

std::string shared_fixture(const std::string& relative) {
    std::string p = std::string(SCPX_SHARED_FIXTURES) + "/" + relative;
    return exists(p) ? p : std::string();
}

} // namespace scpx::test

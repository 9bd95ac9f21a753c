#pragma once
// Test-only helpers that build small bgzip/tabix/BCF files with htslib itself, so no binary
// test data is committed.

#include "../test_support.hpp"

#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/tbx.h>
#include <htslib/vcf.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace scpx::test {

/// Removes `path` and the index files htslib might find next to it.
inline void remove_with_indexes(const std::string& path) {
    for (const char* ext : {"", ".fai", ".gzi", ".tbi", ".csi"}) std::remove((path + ext).c_str());
}

/// Writes `content` BGZF-compressed (what `bgzip` writes).
inline void write_bgzf(const std::string& path, const std::string& content) {
    remove_with_indexes(path);
    BGZF* fp = bgzf_open(path.c_str(), "w");
    if (!fp) throw std::runtime_error("test could not open " + path);
    if (bgzf_write(fp, content.data(), content.size()) < 0 || bgzf_close(fp) < 0) {
        throw std::runtime_error("test could not write " + path);
    }
}

/// Writes a bgzipped VCF and indexes it: tabix .tbi (csi = false) or .csi.
inline std::string make_indexed_vcf(const std::string& name, const std::string& text,
                                    bool csi = false) {
    const std::string path = scratch_path(name);
    write_bgzf(path, text);
    if (tbx_index_build(path.c_str(), csi ? 14 : 0, &tbx_conf_vcf) != 0) {
        throw std::runtime_error("test could not index " + path);
    }
    return path;
}

/// Converts VCF text to BCF (through htslib) and writes a .csi index when `index` is set.
inline std::string make_bcf(const std::string& name, const std::string& text, bool index = true) {
    const std::string src = scratch_path(name + ".src.vcf");
    write_text(src, text);
    const std::string path = scratch_path(name);
    remove_with_indexes(path);
    htsFile* in = hts_open(src.c_str(), "r");
    htsFile* out = hts_open(path.c_str(), "wb");
    if (!in || !out) throw std::runtime_error("test could not open " + src + " / " + path);
    bcf_hdr_t* hdr = bcf_hdr_read(in);
    if (!hdr || bcf_hdr_write(out, hdr) != 0) throw std::runtime_error("test: bad header");
    bcf1_t* rec = bcf_init();
    while (bcf_read(in, hdr, rec) == 0) {
        if (bcf_write(out, hdr, rec) != 0) throw std::runtime_error("test: bcf_write failed");
    }
    bcf_destroy(rec);
    bcf_hdr_destroy(hdr);
    hts_close(in);
    if (hts_close(out) != 0) throw std::runtime_error("test: closing " + path);
    if (index && bcf_index_build(path.c_str(), 14) != 0) {
        throw std::runtime_error("test could not index " + path);
    }
    return path;
}

} // namespace scpx::test

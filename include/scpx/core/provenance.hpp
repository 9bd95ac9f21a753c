#pragma once
/// @file provenance.hpp
/// What an output records about how it was made, so that a later step can check it: the
/// inputs' sizes and modification times as the run found them (`scpx_input_stamps`), and a
/// fingerprint of the ordered gene list a `--split` job was cut from (`scpx_gene_list`).
/// `features merge`, `lctpred merge` and `lctpred --resume` read them back.

#include <cstdint>
#include <string>
#include <vector>

namespace scpx {

/// One input as a run found it.
struct input_stamp {
    long long size = 0;     ///< bytes
    long long mtime_ns = 0; ///< modification time, ns since the epoch
    std::string path;       ///< as given (an HDF5 "FILE.h5:/dataset" spec is stamped by FILE)
};

/// The stamp of each input that exists, in the order given (an HDF5 dataset spec as below).
std::vector<input_stamp> stamp_inputs(const std::vector<std::string>& inputs);

/// "size mtime_ns path" lines of stamp_inputs(), one per input that exists, in the order given. An HDF5
/// dataset spec ("FILE.h5:/group/data", "FILE.hdf5:/…") that is not itself a file is stamped by FILE.
std::string input_stamps(const std::vector<std::string>& inputs);

/// The lines of input_stamps(). @throws input_error naming `file` and its attribute
/// `scpx_input_stamps` for a line that is not "size mtime path".
std::vector<input_stamp> parse_input_stamps(const std::string& text, const std::string& file);

/// "N genes, fnv1a64 H": the count and a fingerprint (FNV-1a over "id\tchrom\ttss\n" of every
/// gene, in order) of a gene list: the parts of one split must all have been cut from it.
std::string gene_list_fingerprint(const std::vector<std::string>& ids, const std::vector<std::string>& chroms,
                                  const std::vector<std::int64_t>& tss);

} // namespace scpx

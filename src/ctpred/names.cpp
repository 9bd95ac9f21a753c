// Names that ctPred turns into HDF5 links, file names or TSV fields: cell types (escaped into a
// valid link and file name, reversibly), gene and sample ids (unique, and free of the characters
// that would split a TSV field or record).
#include "scpx/core/error.hpp"
#include "scpx/ctpred/ctpred.hpp"

#include <fmt/format.h>

#include <unordered_map>

namespace scpx::ctpred {

namespace {

// Root-level names of the train and predict outputs, and the two names HDF5 gives a meaning.
bool reserved_link(const std::string& s) {
    return s == "." || s == ".." || s == "cell_types" || s == "gene_id" || s == "sample_id";
}

bool must_escape(unsigned char c) { return c == '%' || c == '/' || c < 0x20 || c == 0x7f; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

} // namespace

std::string cell_type_link(const std::string& name) {
    std::string out;
    for (unsigned char c : name) {
        if (must_escape(c)) out += fmt::format("%{:02X}", static_cast<unsigned>(c));
        else out += static_cast<char>(c);
    }
    // A reserved name has no '%' or '/', so encoding its first character keeps it reversible.
    if (reserved_link(out)) out = fmt::format("%{:02X}", static_cast<unsigned char>(out[0])) + out.substr(1);
    return out;
}

std::string cell_type_from_link(const std::string& link) {
    std::string out;
    for (size_t i = 0; i < link.size(); ++i) {
        if (link[i] == '%' && i + 2 < link.size() && hex_value(link[i + 1]) >= 0 && hex_value(link[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(link[i + 1]) * 16 + hex_value(link[i + 2]));
            i += 2;
        } else {
            out += link[i];
        }
    }
    return out;
}

void check_cell_type_names(const std::vector<std::string>& names, const std::string& file, const std::string& field) {
    std::unordered_map<std::string, size_t> first;
    for (size_t i = 0; i < names.size(); ++i) {
        if (names[i].empty()) throw input_error(file, fmt::format("entry {}", i), field, "empty cell type name");
        const auto [it, fresh] = first.emplace(names[i], i);
        if (!fresh)
            throw input_error(file, fmt::format("entries {} and {}", it->second, i), field,
                              fmt::format("cell type '{}' is repeated", names[i]));
    }
}

void check_ids(const std::vector<std::string>& ids, const std::string& file, const std::string& field,
               const std::string& what) {
    std::unordered_map<std::string, size_t> first;
    first.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
        const auto& id = ids[i];
        if (id.find_first_of("\t\n\r") != std::string::npos)
            throw input_error(file, fmt::format("entry {}", i), field,
                              what + " contains a tab, newline or carriage return (it would break the TSV output)");
        const auto [it, fresh] = first.emplace(id, i);
        if (!fresh)
            throw input_error(file, fmt::format("entries {} and {}", it->second, i), field,
                              fmt::format("duplicate {} '{}'", what, id));
    }
}

} // namespace scpx::ctpred

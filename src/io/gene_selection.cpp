#include "scpx/io/gene_selection.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/text.hpp"

#include <fmt/format.h>

#include <cctype>
#include <utility>

namespace scpx::io {

namespace {

/// A first field that heads a column of gene ids rather than being one.
bool is_gene_list_header(std::string_view field) {
    const std::string f = to_lower(field);
    for (const char* h :
         {"gene", "genes", "gene_id", "gene_ids", "geneid", "id", "ids", "ensembl_gene_id", "ensembl_id",
          "ensembl", "gene_name", "gene_names", "name", "symbol", "gene_symbol"})
        if (f == h) return true;
    return false;
}

} // namespace

std::vector<std::string> read_gene_list(const std::string& path) {
    line_reader in(path);
    std::vector<std::string> genes;
    std::unordered_map<std::string, std::uint64_t> line_of;
    std::string line;
    while (in.next(line)) {
        // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first id.
        if (in.line_number() == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
        auto t = trim(line);
        if (t.empty() || t.front() == '#') continue;
        // The id is the first field: a table (id, name, …; tab, space or comma separated) works.
        t = t.substr(0, t.find_first_of("\t ,"));
        // R's write.csv quotes every field.
        if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
        // … and its header line is not an id.
        if (in.line_number() == 1 && is_gene_list_header(t)) continue;
        genes.emplace_back(t);
        const auto [it, fresh] = line_of.emplace(genes.back(), in.line_number());
        if (!fresh)
            throw input_error(path, fmt::format("lines {} and {}", it->second, in.line_number()), "gene id",
                              fmt::format("gene '{}' is listed twice", genes.back()));
    }
    if (genes.empty()) throw input_error(path, "", "", "empty gene list");
    return genes;
}

std::string chromosome_key(const std::string& name) {
    std::string key = name;
    if (name.size() > 3 && std::tolower(static_cast<unsigned char>(name[0])) == 'c' &&
        std::tolower(static_cast<unsigned char>(name[1])) == 'h' &&
        std::tolower(static_cast<unsigned char>(name[2])) == 'r')
        key = name.substr(3);
    // The mitochondrion: UCSC's chrM is Ensembl's MT.
    if (key == "M" || key == "m" || key == "mt" || key == "Mt") key = "MT";
    return key;
}

namespace {
/// Up to `n` items of `v`, comma-separated, with "..." when there are more.
std::string examples(const std::vector<std::string>& v, std::size_t n = 3) {
    std::string s;
    for (std::size_t i = 0; i < v.size() && i < n; ++i)
        s += (i ? ", " : "") + v[i];
    return v.size() > n ? s + ", ..." : s;
}
} // namespace

gene_selection::gene_selection(std::string genes_file, const std::vector<std::string>& chromosomes)
    : file_(std::move(genes_file)) {
    // "20,21" and {"20", "21"} alike (the command line gives one argument, a config file a list).
    for (const auto& arg : chromosomes)
        for (std::size_t at = 0;;) {
            const std::size_t comma = arg.find(',', at);
            const std::string item(trim(std::string_view(arg).substr(
                at, comma == std::string::npos ? std::string::npos : comma - at)));
            if (!item.empty()) chromosomes_.push_back(item); // "20,,21" as "20,21"
            if (comma == std::string::npos) break;
            at = comma + 1;
        }
    if (!chromosomes.empty() && chromosomes_.empty())
        throw usage_error("--chromosomes: no chromosome name given");
    for (const auto& c : chromosomes_)
        chromosome_keys_.insert(chromosome_key(c));
    if (file_.empty()) return;
    listed_ = read_gene_list(file_);
    found_.assign(listed_.size(), 0);
    other_type_.assign(listed_.size(), 0);
    for (std::size_t i = 0; i < listed_.size(); ++i) {
        exact_.emplace(listed_[i], i);
        const auto [it, fresh] = bare_.emplace(strip_gene_version(listed_[i]), i);
        if (!fresh)
            throw input_error(file_, "", "gene id",
                              "'" + listed_[it->second] + "' and '" + listed_[i] +
                                  "' are one gene in two versions; list it once");
    }
}

bool gene_selection::keeps(const gene_record& g) {
    if (!chromosome_keys_.empty()) {
        const std::string key = chromosome_key(g.chrom);
        if (chromosome_keys_.count(key) == 0) return false;
        chromosomes_seen_.insert(key);
    }
    if (listed_.empty()) {
        ++kept_;
        return true;
    }
    auto it = exact_.find(g.gene_id);
    if (it == exact_.end()) {
        it = bare_.find(strip_gene_version(g.gene_id));
        if (it == bare_.end()) {
            if (name_matches_.size() < 3 && !g.gene_name.empty() && exact_.count(g.gene_name) > 0)
                name_matches_.push_back(g.gene_name);
            return false;
        }
        ++kept_without_version_;
    }
    found_[it->second] = 1;
    ++kept_;
    return true;
}

void gene_selection::note_dropped_by_type(const gene_record& g) {
    if (listed_.empty()) return;
    if (!chromosome_keys_.empty() && chromosome_keys_.count(chromosome_key(g.chrom)) == 0) return;
    auto it = exact_.find(g.gene_id);
    if (it == exact_.end()) it = bare_.find(strip_gene_version(g.gene_id));
    if (it == bare_.end() || other_type_[it->second]) return;
    other_type_[it->second] = 1;
    if (other_type_examples_.size() < 10) // a few left once the ones found after all are set aside
        other_type_examples_.emplace_back(
            it->second, g.gene_id + " (" + (g.gene_type.empty() ? "no type" : g.gene_type) + ")");
}

void gene_selection::report(const std::string& annotation) const {
    if (selects_all()) return;
    std::vector<std::string> absent_chromosomes;
    for (const auto& c : chromosomes_)
        if (chromosomes_seen_.count(chromosome_key(c)) == 0) absent_chromosomes.push_back(c);
    std::vector<std::string> absent_genes;
    for (std::size_t i = 0; i < listed_.size(); ++i)
        if (!found_[i]) absent_genes.push_back(listed_[i]);
    std::string names_hint = name_matches_.empty()
                                 ? ""
                                 : "; " + examples(name_matches_) +
                                       (name_matches_.size() == 1 ? " is a gene name" : " are gene names") +
                                       " there: list gene ids, as the annotation writes them";
    // Listed genes the annotation has, but of a type --gene-types does not keep.
    std::size_t n_other_type = 0;
    for (std::size_t i = 0; i < listed_.size(); ++i)
        if (!found_[i] && other_type_[i]) ++n_other_type;
    std::vector<std::string> other_types;
    for (const auto& [entry, text] : other_type_examples_)
        if (!found_[entry]) other_types.push_back(text);
    if (n_other_type > 0)
        names_hint += "; " + std::to_string(n_other_type) + " of them " + (n_other_type == 1 ? "is" : "are") +
                      " there with a gene type --gene-types does not keep (e.g. " + examples(other_types) +
                      "): add the type to --gene-types, or give --gene-types all";
    if (kept_ == 0) {
        std::string why;
        if (!chromosomes_.empty() && absent_chromosomes.size() == chromosomes_.size())
            why = "no gene of the kept gene types lies on --chromosomes " + examples(chromosomes_, 10);
        else if (!listed_.empty())
            why = "none of the " + std::to_string(listed_.size()) + " genes of " + file_ + " (e.g. " +
                  examples(listed_) + ") is among them" +
                  (chromosomes_.empty() ? "" : " on --chromosomes " + examples(chromosomes_, 10)) + names_hint;
        throw usage_error("--genes/--chromosomes select no gene of " + annotation + ": " + why);
    }
    if (!absent_chromosomes.empty())
        SCPX_LOG_WRN_SHARED("--chromosomes: no gene of {} (of the kept gene types) on {}", annotation,
                            examples(absent_chromosomes, 10));
    if (!absent_genes.empty())
        SCPX_LOG_WRN_SHARED("{} of the {} genes of {} are not in {}{} (e.g. {}){}", absent_genes.size(),
                            listed_.size(), file_, annotation,
                            chromosomes_.empty() ? " (of the kept gene types)"
                                                 : " (of the kept gene types) on --chromosomes",
                            examples(absent_genes), names_hint);
    if (kept_without_version_ > 0)
        SCPX_LOG_INF("{} gene(s) of {} matched ignoring the version suffix of the id", kept_without_version_,
                     file_);
    SCPX_LOG_INF("--genes/--chromosomes select {} gene(s) of {}", kept_, annotation);
}

} // namespace scpx::io

// Numeric helpers of S-PrediXcan: the normal-distribution functions MetaXcan takes from scipy,
// Python's float repr (pandas writes floats with it), and the exact serialisation of results
// that MPI ranks send to rank 0.
#include "scpx/assoc/spredixcan.hpp"

#include "scpx/core/error.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace scpx::assoc {

double two_sided_p(double z) {
    if (!std::isfinite(z)) return std::numeric_limits<double>::quiet_NaN();
    // scipy: 2 * norm.sf(|z|) = 2 * ndtr(-|z|) = erfc(|z| * sqrt(1/2)) (cephes multiplies by
    // SQRTH rather than dividing by sqrt(2); same here so the argument rounds the same way).
    return std::erfc(std::fabs(z) * M_SQRT1_2);
}

namespace {

// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation (relative error 1.2e-9) refined by
// Halley steps on erfc, which brings it to full double precision wherever exp(x²/2) is finite.
double norm_ppf(double p) {
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                               1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01,  -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    const double p_low = 0.02425;
    double x;
    if (p < p_low) {
        const double q = std::sqrt(-2 * std::log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - p_low) {
        const double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        const double q = std::sqrt(-2 * std::log1p(-p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    // Halley steps on Φ(x) − p, scaled by p so that tiny p (down to ~1e-307, x ≈ −37.5) neither
    // underflows nor overflows: u = (Φ(x)/p − 1)·p/φ(x).
    const double log_p = std::log(p);
    for (int it = 0; it < 3; ++it) {
        if (!(std::fabs(x) < 37.5)) break; // Φ(x) would be denormal; Acklam's value stands
        const double ratio = 0.5 * std::erfc(-x * M_SQRT1_2) / p - 1;
        const double u = ratio * std::sqrt(2 * M_PI) * std::exp(x * x / 2 + log_p);
        const double step = u / (1 + x * u / 2);
        x -= step;
        if (std::fabs(step) <= 1e-17 * std::fabs(x)) break;
    }
    return x;
}

} // namespace

double z_from_two_sided_p(double p) {
    if (std::isnan(p)) return p;
    // p = 0, and the smallest denormal p, whose half rounds to 0: scipy's ppf(0) = −inf as well.
    if (!(p / 2 > 0)) return std::numeric_limits<double>::infinity();
    if (p >= 2) return -std::numeric_limits<double>::infinity();
    // −Φ⁻¹(p/2): the lower-tail quantile keeps full precision for tiny p.
    return -norm_ppf(p / 2);
}

std::string py_float(double v) {
    if (std::isnan(v)) return "NA";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    SCPX_ASSERT(r.ec == std::errc());
    const std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));
    // s = [-]d[.ddd]e±XX
    const bool neg = s[0] == '-';
    const std::size_t epos = s.find('e');
    std::string digits;
    for (std::size_t i = neg ? 1 : 0; i < epos; ++i)
        if (s[i] != '.') digits += s[i];
    const int exp10 = std::atoi(std::string(s.substr(epos + 1)).c_str());
    std::string out = neg ? "-" : "";
    if (exp10 < -4 || exp10 >= 16) {
        out += digits[0];
        if (digits.size() > 1) {
            out += '.';
            out.append(digits, 1, std::string::npos);
        }
        out += exp10 < 0 ? "e-" : "e+";
        const int ae = std::abs(exp10);
        if (ae < 10) out += '0';
        out += std::to_string(ae);
        return out;
    }
    if (exp10 < 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-exp10 - 1), '0');
        out += digits;
        return out;
    }
    const std::size_t int_digits = static_cast<std::size_t>(exp10) + 1;
    if (digits.size() <= int_digits) {
        out += digits;
        out.append(int_digits - digits.size(), '0');
        out += ".0";
    } else {
        out.append(digits, 0, int_digits);
        out += '.';
        out.append(digits, int_digits, std::string::npos);
    }
    return out;
}

// ---------------------------------------------------------------- serialisation

namespace {

void put_u64(std::string& o, std::uint64_t v) { o.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_f64(std::string& o, double v) {
    std::uint64_t u;
    std::memcpy(&u, &v, sizeof u);
    put_u64(o, u);
}
void put_str(std::string& o, const std::string& s) {
    put_u64(o, s.size());
    o += s;
}
void put_num(std::string& o, const io::db_number& n) {
    put_f64(o, n.value);
    o += static_cast<char>((n.is_null ? 1 : 0) | (n.is_integer ? 2 : 0));
}

struct cursor {
    const std::string& s;
    std::size_t pos = 0;
    void need(std::size_t n) const {
        if (pos + n > s.size()) throw internal_error("corrupt S-PrediXcan result message");
    }
    std::uint64_t u64() {
        need(8);
        std::uint64_t v;
        std::memcpy(&v, s.data() + pos, 8);
        pos += 8;
        return v;
    }
    double f64() {
        const std::uint64_t u = u64();
        double v;
        std::memcpy(&v, &u, sizeof v);
        return v;
    }
    std::string str() {
        const std::size_t n = u64();
        need(n);
        std::string r = s.substr(pos, n);
        pos += n;
        return r;
    }
    io::db_number num() {
        io::db_number n;
        n.value = f64();
        need(1);
        const char f = s[pos++];
        n.is_null = f & 1;
        n.is_integer = f & 2;
        return n;
    }
};

} // namespace

std::string serialize(const std::vector<gene_result>& results) {
    std::string o;
    put_u64(o, results.size());
    for (const auto& r : results) {
        put_str(o, r.gene);
        put_str(o, r.gene_name);
        for (double v : {r.zscore, r.effect_size, r.pvalue, r.var_g, r.best_gwas_p, r.largest_weight, r.phi,
                         r.uncalibrated_pvalue, r.uncalibrated_zscore})
            put_f64(o, v);
        for (const auto* n : {&r.pred_perf_r2, &r.pred_perf_pval, &r.pred_perf_qval, &r.n_snps_in_model})
            put_num(o, *n);
        put_u64(o, static_cast<std::uint64_t>(r.n_snps_used));
        put_u64(o, static_cast<std::uint64_t>(r.n_snps_in_cov));
        put_str(o, r.status);
        o += static_cast<char>(r.in_extra ? 1 : 0);
    }
    return o;
}

void deserialize(const std::string& data, std::vector<gene_result>& out) {
    cursor c{data};
    const std::size_t n = c.u64();
    for (std::size_t k = 0; k < n; ++k) {
        gene_result r;
        r.gene = c.str();
        r.gene_name = c.str();
        for (double* v : {&r.zscore, &r.effect_size, &r.pvalue, &r.var_g, &r.best_gwas_p, &r.largest_weight, &r.phi,
                          &r.uncalibrated_pvalue, &r.uncalibrated_zscore})
            *v = c.f64();
        for (auto* nm : {&r.pred_perf_r2, &r.pred_perf_pval, &r.pred_perf_qval, &r.n_snps_in_model})
            *nm = c.num();
        r.n_snps_used = static_cast<std::int64_t>(c.u64());
        r.n_snps_in_cov = static_cast<std::int64_t>(c.u64());
        r.status = c.str();
        c.need(1);
        r.in_extra = data[c.pos++] != 0;
        out.push_back(std::move(r));
    }
}

} // namespace scpx::assoc

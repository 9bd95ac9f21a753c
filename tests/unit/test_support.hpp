#pragma once
// Helpers shared by the unit tests: scratch paths and small file writers.

#include <exception>
#include <string>

namespace scpx::test {

/// A fresh path under the build's scratch folder: <scratch>/<name>, removed first if present.
std::string scratch_path(const std::string& name);

/// Writes `content` to `path` as is (plain text).
void write_text(const std::string& path, const std::string& content);

/// Writes `content` gzip-compressed to `path`.
void write_gzip(const std::string& path, const std::string& content);

/// Reads a whole (plain) file.
std::string read_text(const std::string& path);

/// True when the file exists.
bool exists(const std::string& path);

/// Path of a shared reference fixture, or "" when ../shared/fixtures is absent.
std::string shared_fixture(const std::string& relative);

/// Runs `f` expecting an exception of type E and returns its message; "WRONG EXCEPTION TYPE: …"
/// or "NO EXCEPTION" otherwise, so a message assertion fails with the reason.
template <class E, class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("WRONG EXCEPTION TYPE: ") + e.what();
    }
    return "NO EXCEPTION";
}

} // namespace scpx::test

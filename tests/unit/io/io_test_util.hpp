#pragma once
// Test-only helpers for the scpx::io readers: assert that a call throws one input_error (or
// another scpx::error) whose message contains every expected fragment, and make truncated gzip.

#include "scpx/core/error.hpp"

#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace scpx::test {

/// Runs `fn`, expects exception type E, and checks that its message contains each fragment.
/// Returns the message (empty when nothing or something else was thrown).
template <class E = scpx::input_error, class Fn>
std::string expect_error_with(Fn&& fn, std::initializer_list<std::string> fragments) {
    try {
        fn();
    } catch (const E& e) {
        const std::string msg = e.what();
        for (const auto& f : fragments)
            EXPECT_NE(msg.find(f), std::string::npos) << "message lacks '" << f << "': " << msg;
        return msg;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "wrong exception type: " << e.what();
        return {};
    }
    ADD_FAILURE() << "no exception thrown";
    return {};
}

/// Writes `content` gzip-compressed, then cuts the file to about half its size.
inline void write_truncated_gzip(const std::string& path, const std::string& content) {
    write_gzip(path, content);
    std::string bytes = read_text(path);
    write_text(path, bytes.substr(0, bytes.size() / 2));
}

} // namespace scpx::test

// Runs as root (broker) and as the admin's audit-verify. Input: bytes of audit lines.
// SHA-256 through OpenSSL's EVP interface, as lowercase hex.
#pragma once

#include <string>
#include <string_view>

namespace dockerbox::broker::audit {

/// `prev` of the first record ever written.
inline constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// 64 lowercase hex digits.
[[nodiscard]] std::string sha256Hex(std::string_view bytes);

/// True for exactly 64 lowercase hex digits (the only spelling the writer produces).
[[nodiscard]] bool isHashHex(std::string_view text);

}  // namespace dockerbox::broker::audit

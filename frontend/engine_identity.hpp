// What dockerbox tells Docker clients about itself. Runs in: a frontend worker. These
// values drive client behaviour (section 3 of client-flows.md), so they live in one place.
#pragma once

#include <string_view>

namespace dockerbox::frontend {

/// Highest and lowest API versions served, as dockerd 28.2.2 (api/common.go).
inline constexpr std::string_view kApiVersion = "1.50";
inline constexpr std::string_view kMinApiVersion = "1.24";
inline constexpr int kApiMajor = 1;
inline constexpr int kMaxApiMinor = 50;
inline constexpr int kMinApiMinor = 24;

/// The engine version reported as ServerVersion and in the Server header. The suffix keeps
/// it honest: this is not dockerd, it speaks dockerd 28.2.2's API.
inline constexpr std::string_view kEngineVersion = "28.2.2-dockerbox";
inline constexpr std::string_view kServerHeader = "Docker/28.2.2-dockerbox (linux)";
inline constexpr std::string_view kPlatformName = "dockerbox";
inline constexpr std::string_view kGoVersion = "n/a (C++)";
inline constexpr std::string_view kOsType = "linux";

/// No BuildKit: clients fall back to the legacy builder (Builder-Version 1).
inline constexpr std::string_view kBuilderVersion = "1";

/// Commit and build time of this binary, fixed at configure time ("unknown" without git).
[[nodiscard]] std::string_view gitCommit();
[[nodiscard]] std::string_view buildTime();

}  // namespace dockerbox::frontend

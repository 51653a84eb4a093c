// Splitting an untrusted request-target into path segments, API version and query.
// Runs in: a frontend worker. Input: the raw request-target from the client.
//
// Paths are never "resolved": a segment of "." or "..", an empty segment ("//"), or a
// percent-encoded "/" or "." is refused, so no later code can be tricked into treating
// "/containers/../images/json" or "/containers/x%2Fy/json" as something else.
#pragma once

#include "common/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dockerbox::frontend {

struct ApiVersion {
  int major = 1;
  int minor = 50;
  friend bool operator==(const ApiVersion&, const ApiVersion&) = default;
};

/// Decoded query parameters in arrival order (a repeated key keeps every value).
class QueryParams {
 public:
  QueryParams() = default;
  explicit QueryParams(std::vector<std::pair<std::string, std::string>> values)
      : values_(std::move(values)) {}

  /// First value of `key`, as Go's Request.FormValue.
  [[nodiscard]] std::optional<std::string> get(std::string_view key) const;

  /// dockerd's httputils.BoolValue: false for absent, "", "0", "no", "false", "none"
  /// (case-insensitive, trimmed); true for anything else.
  [[nodiscard]] bool boolValue(std::string_view key) const;

  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& all() const {
    return values_;
  }

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

struct RequestTarget {
  std::vector<std::string> segments;  // decoded path segments, version prefix removed
  ApiVersion version;                 // from the /vX.Y prefix, else the newest we serve
  bool versioned = false;             // whether the client sent a prefix
  QueryParams query;
};

/// Parses an origin-form request-target ("/v1.50/containers/json?all=1"). Fails with
/// BadRequest for an unsafe or malformed path, with dockerd's negotiation texts for a
/// version outside [1.24, 1.50], and with NotFound ("page not found") for a malformed
/// version prefix.
[[nodiscard]] Result<RequestTarget> parseRequestTarget(std::string_view target);

/// Decodes application/x-www-form-urlencoded text ('+' is a space). Fails on a bad escape.
[[nodiscard]] Result<std::string> decodeQueryComponent(std::string_view text);

}  // namespace dockerbox::frontend

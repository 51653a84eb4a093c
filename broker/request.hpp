// Owned, validated requests: what the broker works with after broker::decodeRequest has
// checked a worker's frame. Nothing here holds a Cap'n Proto reader or an unchecked string.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

namespace dockerbox::broker {

struct VersionOp {};
struct InfoOp {};
struct ListContainersOp {
  bool all = false;
  std::optional<std::uint32_t> limit;  // newest first; absent = no limit
};
struct ListImagesOp {
  bool all = false;
};

using Operation = std::variant<VersionOp, InfoOp, ListContainersOp, ListImagesOp>;

struct ValidatedRequest {
  std::uint64_t id = 0;  // the worker's request id, used only to route the reply
  Operation op;
};

/// The operation's name as it appears in the audit log and the policy ("containers.list").
[[nodiscard]] std::string_view operationName(const Operation& op);

}  // namespace dockerbox::broker

#include "broker/request.hpp"

#include "broker/dispatch.hpp"

namespace dockerbox::broker {

std::string_view operationName(const Operation& op) { return kOperations.at(op.index()).auditName; }

std::string_view operationName(OpTag tag) {
  for (const auto& info : kOperations) {
    if (info.tag == tag) return info.auditName;
  }
  return "unknown";
}

}  // namespace dockerbox::broker

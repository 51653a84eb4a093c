#include "broker/request.hpp"

#include "broker/dispatch.hpp"

namespace dockerbox::broker {

std::string_view operationName(const Operation& op) { return kOperations.at(op.index()).auditName; }

}  // namespace dockerbox::broker

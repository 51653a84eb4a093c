#include "policy/policy.hpp"

#include <stdexcept>

namespace dockerbox::policy {

std::string Diagnostic::toString() const {
  if (line == 0) return source + ": " + message;
  return source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

std::string ParseFailure::toString() const {
  std::string out;
  for (const auto& d : diagnostics) out += d.toString() + "\n";
  return out;
}

void throw_exception_from_error(const ParseFailure& e, const boost::source_location& /*loc*/) {
  throw std::runtime_error("invalid policy:\n" + e.toString());
}

void throw_exception_from_error(const Invalid& e, const boost::source_location& /*loc*/) {
  throw std::invalid_argument(e.message);
}

std::string_view toString(Mode mode) {
  switch (mode) {
    case Mode::Enforce:
      return "enforce";
    case Mode::Audit:
      return "audit";
  }
  return "unknown";
}

std::string_view toString(Visibility visibility) {
  switch (visibility) {
    case Visibility::Own:
      return "own";
    case Visibility::Group:
      return "group";
    case Visibility::All:
      return "all";
  }
  return "unknown";
}

}  // namespace dockerbox::policy

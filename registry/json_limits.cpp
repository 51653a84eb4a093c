// Runs in: dockerbox-registry and the engine (unprivileged). Input: untrusted JSON.
#include "registry/json_limits.hpp"

#include <boost/json/parse.hpp>

namespace dockerbox::registry {

Result<boost::json::value> parseLimitedJson(std::string_view text) {
  boost::json::parse_options options;
  options.max_depth = 32;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec, {}, options);
  if (ec) return fail(ErrorKind::BadRequest, "not valid JSON: " + ec.message());
  return v;
}

}  // namespace dockerbox::registry

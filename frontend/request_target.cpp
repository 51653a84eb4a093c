#include "frontend/request_target.hpp"

#include "frontend/engine_identity.hpp"

#include <algorithm>
#include <cctype>

namespace dockerbox::frontend {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Error badPath(std::string context) {
  return fail(ErrorKind::BadRequest, "invalid request path", std::move(context));
}

/// Decodes one path segment. Refuses encoded '/' and '.', bad escapes and control bytes.
Result<std::string> decodePathSegment(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) return badPath("truncated escape");
      int hi = hexValue(raw[i + 1]);
      int lo = hexValue(raw[i + 2]);
      if (hi < 0 || lo < 0) return badPath("bad escape");
      c = static_cast<char>(hi * 16 + lo);
      // An encoded separator or dot could turn into a traversal after a later decode.
      if (c == '/' || c == '.') return badPath("encoded separator or dot");
      i += 2;
    }
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == '\\') return badPath("control byte or backslash");
    out.push_back(c);
  }
  return out;
}

/// "v1.50" -> {1, 50}. nullopt when the segment is not a version prefix at all; NotFound
/// when it looks like one (dockerd's route is /v{version:[0-9.]+}) but is malformed.
Result<std::optional<ApiVersion>> parseVersionSegment(std::string_view segment) {
  if (segment.size() < 2 || segment[0] != 'v') return std::optional<ApiVersion>{};
  std::string_view rest = segment.substr(1);
  if (!std::all_of(rest.begin(), rest.end(), [](char c) { return c == '.' || std::isdigit(static_cast<unsigned char>(c)); })) {
    return std::optional<ApiVersion>{};
  }
  auto dot = rest.find('.');
  auto parsePart = [](std::string_view digits) -> std::optional<int> {
    if (digits.empty() || digits.size() > 4) return std::nullopt;
    int value = 0;
    for (char c : digits) {
      if (c == '.') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    return value;
  };
  if (dot == std::string_view::npos) {
    return fail(ErrorKind::NotFound, "page not found", "version prefix without minor");
  }
  auto major = parsePart(rest.substr(0, dot));
  auto minor = parsePart(rest.substr(dot + 1));
  if (!major || !minor) return fail(ErrorKind::NotFound, "page not found", "malformed version");
  return std::optional<ApiVersion>{ApiVersion{*major, *minor}};
}

Result<void> checkNegotiable(ApiVersion v, std::string_view asSent) {
  std::string sent(asSent);
  bool tooNew = v.major > kApiMajor || (v.major == kApiMajor && v.minor > kMaxApiMinor);
  bool tooOld = v.major < kApiMajor || (v.major == kApiMajor && v.minor < kMinApiMinor);
  // dockerd's own texts (api/server/middleware/version.go); clients print them verbatim.
  if (tooNew) {
    return fail(ErrorKind::BadRequest, "client version " + sent +
                                           " is too new. Maximum supported API version is " +
                                           std::string(kApiVersion));
  }
  if (tooOld) {
    return fail(ErrorKind::BadRequest,
                "client version " + sent + " is too old. Minimum supported API version is " +
                    std::string(kMinApiVersion) +
                    ", please upgrade your client to a newer version");
  }
  return {};
}

Result<QueryParams> parseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> values;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = decodeQueryComponent(pair.substr(0, eq));
    auto value = decodeQueryComponent(eq == std::string_view::npos ? std::string_view{}
                                                                   : pair.substr(eq + 1));
    if (!key || !value) return fail(ErrorKind::BadRequest, "invalid query string");
    values.emplace_back(std::move(*key), std::move(*value));
  }
  return QueryParams(std::move(values));
}

}  // namespace

Result<std::string> decodeQueryComponent(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) {
        return fail(ErrorKind::BadRequest, "invalid query string", "truncated escape");
      }
      int hi = hexValue(text[i + 1]);
      int lo = hexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return fail(ErrorKind::BadRequest, "invalid query string");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string> QueryParams::get(std::string_view key) const {
  for (const auto& [k, v] : values_) {
    if (k == key) return v;
  }
  return std::nullopt;
}

bool QueryParams::boolValue(std::string_view key) const {
  auto value = get(key);
  if (!value) return false;
  std::string s;
  for (char c : *value) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return !(s.empty() || s == "0" || s == "no" || s == "false" || s == "none");
}

Result<RequestTarget> parseRequestTarget(std::string_view target) {
  // Only origin-form: absolute-form ("http://host/...") and "*" are not for us.
  if (target.empty() || target.front() != '/') return badPath("not origin-form");
  auto questionMark = target.find('?');
  std::string_view path = target.substr(0, questionMark);
  std::string_view query =
      questionMark == std::string_view::npos ? std::string_view{} : target.substr(questionMark + 1);
  if (query.find('#') != std::string_view::npos) query = query.substr(0, query.find('#'));

  RequestTarget out;
  std::string_view rest = path.substr(1);
  bool first = true;
  while (true) {
    auto slash = rest.find('/');
    std::string_view raw = rest.substr(0, slash);
    if (raw.empty() && !(first && slash == std::string_view::npos)) return badPath("empty segment");
    if (raw == "." || raw == "..") return badPath("dot segment");
    if (first && !raw.empty()) {
      auto version = parseVersionSegment(raw);
      if (!version) return version.error();
      if (*version) {
        auto ok = checkNegotiable(**version, raw.substr(1));
        if (!ok) return ok.error();
        out.version = **version;
        out.versioned = true;
        raw = {};
      }
    }
    if (!raw.empty()) {
      auto segment = decodePathSegment(raw);
      if (!segment) return segment.error();
      if (*segment == "." || *segment == "..") return badPath("dot segment");
      out.segments.push_back(std::move(*segment));
    }
    first = false;
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  auto params = parseQuery(query);
  if (!params) return params.error();
  out.query = std::move(*params);
  return out;
}

}  // namespace dockerbox::frontend

// Runs in: dockerbox-registry (unprivileged, sandboxed). Input: untrusted headers and replies.
#include "registry/auth.hpp"

#include "registry/json_limits.hpp"

#include <boost/json.hpp>
#include <openssl/evp.h>

#include <cctype>

namespace dockerbox::registry {
namespace {

constexpr std::size_t kMaxChallenges = 16;
constexpr std::size_t kMaxParams = 16;
constexpr std::size_t kMaxTokenBytes = 64 << 10;
constexpr std::size_t kMaxTokenReplyBytes = 1 << 20;

/// RFC 9110 tchar (names and schemes); values may also be token68 (with '/' and '=').
bool tokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool valueChar(char c) { return tokenChar(c) || c == '/' || c == '='; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  void skipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool done() const { return i_ >= s_.size(); }
  bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool take(char c) {
    if (!peek(c)) return false;
    ++i_;
    return true;
  }
  std::string token(bool (*allowed)(char) = tokenChar) {
    std::size_t start = i_;
    while (i_ < s_.size() && allowed(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  Result<std::string> quoted() {
    std::string out;
    ++i_;  // the opening quote
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out += s_[i_++];
    }
    if (!take('"')) return fail(ErrorKind::Unavailable, "the registry sent a malformed WWW-Authenticate header");
    return out;
  }
  std::size_t mark() const { return i_; }
  void reset(std::size_t mark) { i_ = mark; }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

Error malformed() { return fail(ErrorKind::Unavailable, "the registry sent a malformed WWW-Authenticate header"); }

}  // namespace

Result<std::vector<Challenge>> parseChallenges(std::string_view header) {
  std::vector<Challenge> out;
  Scanner s(header);
  while (true) {
    s.skipSpace();
    while (s.take(',')) s.skipSpace();
    if (s.done()) break;
    if (out.size() == kMaxChallenges) return malformed();
    Challenge c;
    c.scheme = lower(s.token());
    if (c.scheme.empty()) return malformed();
    // auth-params: name=value pairs separated by commas, until a token not followed by '='
    // (the next challenge's scheme).
    while (true) {
      s.skipSpace();
      const std::size_t mark = s.mark();
      std::string name = s.token();
      s.skipSpace();
      if (name.empty() || !s.take('=')) {
        s.reset(mark);
        break;
      }
      s.skipSpace();
      std::string value;
      if (s.peek('"')) {
        auto q = s.quoted();
        if (!q) return q.error();
        value = std::move(*q);
      } else {
        value = s.token(valueChar);
      }
      if (c.params.size() == kMaxParams) return malformed();
      c.params[lower(name)] = std::move(value);
      s.skipSpace();
      if (!s.take(',')) break;
    }
    out.push_back(std::move(c));
    s.skipSpace();
    if (!s.done() && !std::isalnum(static_cast<unsigned char>(header[s.mark()])) && !s.peek(',')) return malformed();
  }
  return out;
}

Result<std::string> parseTokenReply(std::string_view body) {
  auto bad = [] { return fail(ErrorKind::Unavailable, "the registry's token server sent an invalid reply"); };
  if (body.size() > kMaxTokenReplyBytes) return bad();
  auto parsed = parseLimitedJson(body);
  if (!parsed || !parsed->is_object()) return bad();
  const auto& o = parsed->as_object();
  const boost::json::value* v = o.if_contains("token");
  if (v == nullptr || !v->is_string() || v->as_string().empty()) v = o.if_contains("access_token");
  if (v == nullptr || !v->is_string() || v->as_string().empty()) return bad();
  std::string token(v->as_string());
  if (token.size() > kMaxTokenBytes) return bad();
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) return bad();
  }
  return token;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

}  // namespace dockerbox::registry

// Fuzz target: the `reference` filter's shell patterns and the image filter. Input: bytes
// "PATTERN\nNAME" (no newline: the bytes are the pattern and the name is empty). PATTERN is
// what a client puts in filters={"reference":[...]} of GET /images/json; NAME stands for a
// RepoTag from the broker. No sockets.
//
// Besides not crashing, for ASCII inputs the compiled matcher must agree with an
// independent one below: the same grammar parsed afresh, and matched by dynamic
// programming over every way the stars can split the name. The two agree whenever no class
// in the pattern can match '/' (then committing to the earliest match of each segment, as
// path.Match and GlobPattern do, loses nothing); otherwise only validity is compared.
#include "frontend/image_filters.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace dockerbox::frontend;

constexpr std::size_t kMaxOracleBytes = 256;  // keeps the DP table small

struct Token {
  enum class Kind { Star, Any, Byte, Class } kind;
  char byte = 0;
  std::array<bool, 128> inClass{};  // Kind::Class, after negation
};

bool isAscii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

/// The grammar of path.Match for ASCII patterns; nullopt when malformed.
std::optional<std::vector<Token>> tokenize(std::string_view p, bool& classMatchesSlash) {
  std::vector<Token> out;
  std::size_t i = 0;
  // A class bound: not '-' or ']' unless escaped, and something must follow it.
  auto bound = [&](char& c) {
    if (i >= p.size() || p[i] == '-' || p[i] == ']') return false;
    if (p[i] == '\\' && ++i >= p.size()) return false;
    c = p[i++];
    return i < p.size();
  };
  while (i < p.size()) {
    char c = p[i++];
    Token t{Token::Kind::Byte};
    if (c == '*') {
      t.kind = Token::Kind::Star;
    } else if (c == '?') {
      t.kind = Token::Kind::Any;
    } else if (c == '\\') {
      if (i >= p.size()) return std::nullopt;
      t.byte = p[i++];
    } else if (c == '[') {
      t.kind = Token::Kind::Class;
      bool negated = i < p.size() && p[i] == '^';
      if (negated) ++i;
      int ranges = 0;
      std::array<bool, 128> set{};
      while (!(ranges > 0 && i < p.size() && p[i] == ']')) {
        char lo = 0;
        char hi = 0;
        if (!bound(lo)) return std::nullopt;
        hi = lo;
        if (p[i] == '-') {
          ++i;
          if (!bound(hi)) return std::nullopt;
        }
        for (int b = lo; b <= hi; ++b) set[static_cast<std::size_t>(b)] = true;
        ++ranges;
      }
      ++i;  // ']'
      for (std::size_t b = 0; b < set.size(); ++b) t.inClass[b] = set[b] != negated;
      classMatchesSlash = classMatchesSlash || t.inClass['/'];
    } else {
      t.byte = c;
    }
    out.push_back(t);
  }
  return out;
}

bool oracleMatch(const std::vector<Token>& tokens, std::string_view name) {
  const std::size_t n = name.size();
  // can[i][j]: tokens from i on match name from j on. Filled from the end.
  std::vector<std::vector<bool>> can(tokens.size() + 1, std::vector<bool>(n + 1, false));
  can[tokens.size()][n] = true;
  for (std::size_t i = tokens.size(); i-- > 0;) {
    for (std::size_t j = n + 1; j-- > 0;) {
      const Token& t = tokens[i];
      const bool have = j < n;
      const unsigned char c = have ? static_cast<unsigned char>(name[j]) : 0;
      switch (t.kind) {
        case Token::Kind::Star:
          can[i][j] = can[i + 1][j] || (have && c != '/' && can[i][j + 1]);
          break;
        case Token::Kind::Any:
          can[i][j] = have && c != '/' && can[i + 1][j + 1];
          break;
        case Token::Kind::Byte:
          can[i][j] = have && name[j] == t.byte && can[i + 1][j + 1];
          break;
        case Token::Kind::Class:
          can[i][j] = have && t.inClass[c] && can[i + 1][j + 1];
          break;
      }
    }
  }
  return can[0][0];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto newline = input.find('\n');
  std::string_view pattern = input.substr(0, newline);
  std::string_view name = newline == std::string_view::npos ? "" : input.substr(newline + 1);

  auto compiled = GlobPattern::compile(pattern);
  if (compiled) {
    (void)compiled->matches(name);
    (void)matchReference(*compiled, name);
  }

  if (isAscii(pattern) && isAscii(name) && pattern.size() <= kMaxOracleBytes &&
      name.size() <= kMaxOracleBytes) {
    bool classMatchesSlash = false;
    auto tokens = tokenize(pattern, classMatchesSlash);
    if (tokens.has_value() != compiled.has_value()) std::abort();
    if (tokens && !classMatchesSlash && oracleMatch(*tokens, name) != compiled->matches(name)) {
      std::abort();
    }
  }

  // The same bytes through the image filter: a reference filter exists exactly when the
  // pattern compiles, and keeps a tag exactly when it matches.
  auto filter = ImageFilter::make({{"reference", {std::string(pattern)}}});
  if (filter.has_value() != compiled.has_value()) std::abort();
  if (filter) {
    auto kept = filter->select({std::string(name)});
    if (kept.has_value() != matchReference(*compiled, name)) std::abort();
  }
  // And as a label or dangling value: labels never fail to build, dangling only for
  // something that is not a Go boolean.
  if (!ImageFilter::make({{"label", {std::string(pattern)}}})) std::abort();
  const bool boolean = pattern == "true" || pattern == "false" || pattern == "1" || pattern == "0";
  if (ImageFilter::make({{"dangling", {std::string(pattern)}}}).has_value() != boolean) std::abort();
  return 0;
}

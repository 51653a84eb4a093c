#include "frontend/image_filters.hpp"

#include <algorithm>
#include <array>

namespace dockerbox::frontend {
namespace {

using Term = GlobPattern::Term;
using Segment = GlobPattern::Segment;

constexpr char32_t kRuneError = 0xFFFD;

bool isContinuation(unsigned char byte, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
  return byte >= lo && byte <= hi;
}

/// One UTF-8 character at the start of `text` (non-empty) as Go's utf8.DecodeRuneInString
/// reads it: {U+FFFD, 1} for a byte that does not start a valid, shortest-form sequence.
std::pair<char32_t, std::size_t> decodeRune(std::string_view text) {
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char b0 = at(0);
  if (b0 < 0x80) return {b0, 1};
  std::size_t length = 0;
  unsigned char lo = 0x80;  // the allowed range of the second byte (no overlongs, no
  unsigned char hi = 0xBF;  // surrogates, nothing above U+10FFFF)
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {kRuneError, 1};
  }
  if (text.size() < length || !isContinuation(at(1), lo, hi)) return {kRuneError, 1};
  for (std::size_t i = 2; i < length; ++i) {
    if (!isContinuation(at(i))) return {kRuneError, 1};
  }
  char32_t rune = b0 & (0xFF >> (length + 1));
  for (std::size_t i = 1; i < length; ++i) rune = (rune << 6) | (at(i) & 0x3F);
  return {rune, length};
}

/// One bound of a class range, possibly escaped, consumed from `pattern`. Like Go, a bound
/// may not be '-' or ']' unescaped, must be valid UTF-8, and must leave something after it
/// (the class has to close).
std::optional<char32_t> classBound(std::string_view& pattern) {
  if (pattern.empty() || pattern.front() == '-' || pattern.front() == ']') return std::nullopt;
  if (pattern.front() == '\\') {
    pattern.remove_prefix(1);
    if (pattern.empty()) return std::nullopt;
  }
  auto [rune, length] = decodeRune(pattern);
  if (rune == kRuneError && length == 1) return std::nullopt;
  pattern.remove_prefix(length);
  if (pattern.empty()) return std::nullopt;
  return rune;
}

/// A class after its '[': ranges up to the first unescaped ']' (there must be one range).
std::optional<Term> parseClass(std::string_view& pattern) {
  Term term;
  term.kind = Term::Kind::Class;
  if (!pattern.empty() && pattern.front() == '^') {
    term.negated = true;
    pattern.remove_prefix(1);
  }
  while (term.ranges.empty() || pattern.empty() || pattern.front() != ']') {
    auto lo = classBound(pattern);
    if (!lo) return std::nullopt;
    char32_t hi = *lo;
    if (pattern.front() == '-') {  // classBound left at least one byte
      pattern.remove_prefix(1);
      auto bound = classBound(pattern);
      if (!bound) return std::nullopt;
      hi = *bound;
    }
    term.ranges.push_back({*lo, hi});
  }
  pattern.remove_prefix(1);  // the ']'
  return term;
}

/// The length of the match of `terms` at the start of `name`, or nullopt.
std::optional<std::size_t> matchTerms(const std::vector<Term>& terms, std::string_view name) {
  std::size_t used = 0;
  for (const Term& term : terms) {
    std::string_view rest = name.substr(used);
    if (rest.empty()) return std::nullopt;
    switch (term.kind) {
      case Term::Kind::Byte:
        if (static_cast<unsigned char>(rest.front()) != term.byte) return std::nullopt;
        used += 1;
        break;
      case Term::Kind::AnyChar:
        if (rest.front() == '/') return std::nullopt;
        used += decodeRune(rest).second;
        break;
      case Term::Kind::Class: {
        // As in Go, a class may match '/' ("[/]", "[^a]"); only '*' and '?' never do.
        // Not a structured binding: the lambda captures it (clang 14 cannot).
        const std::pair<char32_t, std::size_t> decoded = decodeRune(rest);
        const char32_t rune = decoded.first;
        bool in = std::any_of(term.ranges.begin(), term.ranges.end(),
                              [&](const Term::Range& r) { return r.lo <= rune && rune <= r.hi; });
        if (in == term.negated) return std::nullopt;
        used += decoded.second;
        break;
      }
    }
  }
  return used;
}

Error invalidFilter(const std::string& detail) {
  return fail(ErrorKind::BadRequest, "invalid filter '" + detail + "'");
}

/// Go's fmt rendering of a []string, as dockerd's invalidFilter prints its values: "[a b]".
std::string goList(const std::vector<std::string>& values) {
  std::string out = "[";
  for (const auto& value : values) out += (out.size() > 1 ? " " : "") + value;
  return out + "]";
}

/// Whether an image with no labels meets one label condition, read as the containerd image
/// store reads it: `label=k` needs k, `label=k=v` needs k with value v, `label!=k` needs no
/// k, `label!=k=v` needs k with another value, and a key ending in '!' flips the sense
/// (`label=k!=v`). Only "k must be absent" holds for an image without labels.
bool unlabelledImageMeets(std::string_view key, std::string_view value) {
  bool negate = key == "label!";
  auto eq = value.find('=');
  std::string_view labelKey = value.substr(0, eq);
  if (labelKey.ends_with('!')) negate = !negate;
  return negate && eq == std::string_view::npos;
}

}  // namespace

std::optional<GlobPattern> GlobPattern::compile(std::string_view pattern) {
  std::vector<Segment> segments;
  segments.emplace_back();
  while (!pattern.empty()) {
    const char c = pattern.front();
    pattern.remove_prefix(1);
    if (c == '*') {
      // A run of stars is one star. It opens a new segment unless the current one has no
      // terms yet (a leading star, or the second star of "**").
      if (!segments.back().terms.empty()) segments.emplace_back();
      segments.back().star = true;
      continue;
    }
    Term term;
    if (c == '?') {
      term.kind = Term::Kind::AnyChar;
    } else if (c == '[') {
      auto parsed = parseClass(pattern);
      if (!parsed) return std::nullopt;
      term = std::move(*parsed);
    } else if (c == '\\') {
      if (pattern.empty()) return std::nullopt;
      term.byte = static_cast<unsigned char>(pattern.front());
      pattern.remove_prefix(1);
    } else {
      term.byte = static_cast<unsigned char>(c);
    }
    segments.back().terms.push_back(std::move(term));
  }
  return GlobPattern(std::move(segments));
}

bool GlobPattern::matches(std::string_view name) const {
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const Segment& segment = segments_[i];
    const bool last = i + 1 == segments_.size();
    // A star covers bytes up to, not including, the next '/'.
    const std::size_t maxSkip = segment.star ? std::min(name.find('/'), name.size()) : 0;
    if (segment.terms.empty()) {  // only a trailing star has no terms
      return segment.star ? maxSkip == name.size() : name.empty();
    }
    // As in path.Match, the first place the terms match is taken and never revisited; only
    // the last segment keeps looking, for a place that ends the name. That is exact unless
    // a class matches a '/' the next star would need to skip ("*[^a]*b" against "x/b"
    // fails in Go too), and it bounds the cost by pattern length x name length.
    bool found = false;
    for (std::size_t skip = 0; skip <= maxSkip && !found; ++skip) {
      auto length = matchTerms(segment.terms, name.substr(skip));
      if (length && (!last || skip + *length == name.size())) {
        name.remove_prefix(skip + *length);
        found = true;
      }
    }
    if (!found) return false;
  }
  return name.empty();
}

bool matchReference(const GlobPattern& pattern, std::string_view repoTag) {
  if (pattern.matches(repoTag)) return true;
  // FamiliarName: without "@digest" and without ":tag" (a ':' followed by no '/'; the
  // ':' of "localhost:5000/app" is a port).
  std::string_view name = repoTag.substr(0, repoTag.find('@'));
  auto colon = name.rfind(':');
  if (colon != std::string_view::npos && name.find('/', colon) == std::string_view::npos) {
    name = name.substr(0, colon);
  }
  return name.size() != repoTag.size() && pattern.matches(name);
}

Result<ImageFilter> ImageFilter::make(const FilterArgs& args) {
  // The containerd image store's keys (daemon/containerd/image_list.go); the graphdriver
  // store knows all but label! and until.
  constexpr std::array kDockerKeys{"before", "dangling", "label", "label!", "reference", "since", "until"};
  for (const auto& entry : args) {
    if (std::find(kDockerKeys.begin(), kDockerKeys.end(), entry.first) == kDockerKeys.end()) {
      return invalidFilter(entry.first);
    }
  }
  const auto values = [&](const char* key) {
    auto found = args.find(key);
    return found == args.end() ? std::vector<std::string>{} : found->second;
  };
  // dockerd orders images by their creation time for these. miniboxd reports none
  // (ImageSummary.created is 0), so any answer would be made up; say so instead. A key
  // with no values is no filter, as in dockerd.
  for (const char* key : {"before", "since", "until"}) {
    if (!values(key).empty()) {
      return fail(ErrorKind::NotImplemented,
                  std::string("the ") + key + " filter is not supported by dockerbox: miniboxd "
                  "reports no image creation times to compare");
    }
  }
  ImageFilter filter;
  // miniboxd images carry no labels (ImageSummary has none), so a label condition holds
  // only when it asks for a label to be absent: `label=k` and `label=k=v` match nothing,
  // `label!=k` matches every image.
  for (const char* key : {"label", "label!"}) {
    for (const auto& value : values(key)) {
      if (!unlabelledImageMeets(key, value)) filter.labelsExcludeAll_ = true;
    }
  }
  // Filters.GetBoolOrDefault: 1/true or 0/false, and not both.
  if (args.contains("dangling")) {
    const std::vector<std::string> given = values("dangling");
    auto has = [&](const char* v) { return std::find(given.begin(), given.end(), v) != given.end(); };
    bool isTrue = has("1") || has("true");
    bool isFalse = has("0") || has("false");
    if (given.empty()) return invalidFilter("dangling");
    if (isTrue == isFalse) return invalidFilter("dangling=" + goList(given));
    filter.dangling_ = isTrue;
  }
  // A malformed pattern matches nothing in the containerd store and answers 500 "syntax
  // error in pattern" in the graphdriver store; it is the client's mistake, so 400 here.
  for (const auto& value : values("reference")) {
    auto pattern = GlobPattern::compile(value);
    if (!pattern) {
      return fail(ErrorKind::BadRequest,
                  "invalid filter 'reference=" + value + "': syntax error in pattern");
    }
    filter.references_.push_back(std::move(*pattern));
  }
  return filter;
}

std::optional<std::vector<std::string>> ImageFilter::select(std::vector<std::string> repoTags) const {
  if (labelsExcludeAll_) return std::nullopt;
  if (dangling_ && *dangling_ != repoTags.empty()) return std::nullopt;
  if (!references_.empty()) {
    std::erase_if(repoTags, [&](const std::string& tag) {
      return std::none_of(references_.begin(), references_.end(),
                          [&](const GlobPattern& pattern) { return matchReference(pattern, tag); });
    });
    if (repoTags.empty()) return std::nullopt;  // untagged, or no tag matched
  }
  return repoTags;
}

}  // namespace dockerbox::frontend

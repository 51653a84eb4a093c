// The `filters` of GET /images/json, applied to the broker's image list, and the shell
// patterns of the `reference` filter. Runs in: a frontend worker. Input: untrusted filter
// values (patterns included) from the query string; image tags from the broker.
#pragma once

#include "common/result.hpp"
#include "frontend/filters.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::frontend {

/// A shell pattern with the grammar and matching rules of Go's path.Match, which dockerd's
/// reference filter uses (distribution/reference FamiliarMatch):
///   `*` any run of bytes other than '/', `?` one character (UTF-8) other than '/',
///   `[abc]`, `[a-z]`, `[^...]` one character in (or not in) the class, `\c` the byte c.
/// There is no `**`: it is two stars and still stops at '/'.
/// The pattern is checked whole when compiled, so a malformed pattern is refused whatever
/// the name it would be matched against (Go reports ErrBadPattern the same way).
/// Cost: matches() is O(pattern bytes x name bytes) at worst; no backtracking blow-up.
class GlobPattern {
 public:
  /// nullopt: malformed (an unclosed or empty class, a bad range, a trailing '\', invalid
  /// UTF-8 inside a class).
  [[nodiscard]] static std::optional<GlobPattern> compile(std::string_view pattern);

  /// Whether the whole of `name` matches (not a substring).
  [[nodiscard]] bool matches(std::string_view name) const;

  /// One single-character term.
  struct Term {
    enum class Kind { Byte, AnyChar, Class };
    struct Range {
      char32_t lo;
      char32_t hi;
    };
    Kind kind = Kind::Byte;
    unsigned char byte = 0;     // Kind::Byte
    bool negated = false;       // Kind::Class
    std::vector<Range> ranges;  // Kind::Class, never empty
  };
  /// Star-free terms, preceded by a star (one or more '*') or not.
  struct Segment {
    bool star = false;
    std::vector<Term> terms;
  };

 private:
  explicit GlobPattern(std::vector<Segment> segments) : segments_(std::move(segments)) {}
  std::vector<Segment> segments_;
};

/// dockerd's `reference` match of one RepoTag in its familiar form ("alpine:latest",
/// "me/app:1", "ghcr.io/org/x:1"): the pattern against the whole tag, then against the
/// name without its tag, so "alpine" and "alp*" match "alpine:3.19".
[[nodiscard]] bool matchReference(const GlobPattern& pattern, std::string_view repoTag);

/// The filters dockerd accepts for the image list (the containerd image store's set:
/// reference, dangling, label, label!, before, since, until), checked once up front.
class ImageFilter {
 public:
  /// Fails with dockerd's texts: "invalid filter '<key>'" (400) for a key dockerd does not
  /// know, "invalid filter 'dangling=[v]'" (400) for a dangling value that is not a
  /// boolean, 400 for a malformed reference pattern, and 501 for before, since and until,
  /// which dockerbox cannot answer honestly (see image_filters.cpp).
  [[nodiscard]] static Result<ImageFilter> make(const FilterArgs& args);

  /// The RepoTags to show for an image with these tags, or nullopt to leave it out. With a
  /// reference filter only the matching tags are shown, as dockerd does (both image stores).
  [[nodiscard]] std::optional<std::vector<std::string>> select(std::vector<std::string> repoTags) const;

 private:
  ImageFilter() = default;
  std::vector<GlobPattern> references_;  // any may match; none given: no reference filter
  std::optional<bool> dangling_;         // true: untagged images only; false: tagged only
  bool labelsExcludeAll_ = false;        // a label condition no unlabelled image meets
};

}  // namespace dockerbox::frontend

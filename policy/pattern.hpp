// Patterns from the policy file: bind-source paths and image references. Compiled (and so
// validated) once at parse time; matching is pure and bounded by the lengths involved.
#pragma once

#include "policy/checked.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::policy {

/// Longest pattern accepted in a policy file.
inline constexpr std::size_t kMaxPatternBytes = 4096;

/// The caller's values for the placeholders of a path pattern.
struct Placeholders {
  std::string_view user;  // {user}
  std::string_view home;  // {home}
  std::uint32_t uid = 0;  // {uid}
};

/// A bind-source pattern such as "{home}/**" or "/srv/shared/{user}/*.d".
///
/// Grammar: the pattern is "/" followed by segments separated by single "/", or "{home}"
/// optionally followed by "/" and segments. A segment is "**" (zero or more whole path
/// segments, so "/a/**" matches "/a" itself and anything below it), or literal text in which
/// "*" matches any run of characters within that one segment and "{user}" / "{uid}" are
/// replaced by the caller's name and numeric uid. "." and ".." segments, empty segments
/// ("//", trailing "/"), "**" inside a longer segment, unknown "{...}" and "{home}" anywhere
/// but at the start are refused at parse time.
///
/// Matching is by whole segments: "/home/alice/**" matches "/home/alice" and
/// "/home/alice/x" but not "/home/alice2/x". Substituted values are literal (a "*" in a home
/// directory matches only "*"). A placeholder whose value could widen the pattern makes the
/// pattern match nothing: a {home} that is empty, "/", relative or not normalised, and a
/// {user} that is empty, ".", "..", or contains "/".
class PathPattern {
 public:
  [[nodiscard]] static Checked<PathPattern> compile(std::string_view text);

  /// `path` must be absolute and normalised (no ".", "..", empty segments or trailing "/");
  /// anything else does not match. When a placeholder value is unusable and `whyNot` is
  /// given, it receives the reason.
  [[nodiscard]] bool matches(std::string_view path, const Placeholders& values,
                             std::string* whyNot = nullptr) const;

  [[nodiscard]] const std::string& text() const { return text_; }

 private:
  enum class PieceKind { Literal, Star, User, Uid };
  struct Piece {
    PieceKind kind = PieceKind::Literal;
    std::string text;  // Literal only
  };
  struct Segment {
    bool anyDepth = false;  // "**"
    std::vector<Piece> pieces;
  };

  PathPattern() = default;

  std::string text_;
  bool homePrefix_ = false;
  std::vector<Segment> segments_;
};

/// An image pattern matched against the normalised reference the broker passes
/// ("docker.io/library/alpine:latest"). "*" matches any run of characters except "/", "**"
/// any run including "/". The tag or digest is part of the reference, so
/// "docker.io/library/alpine" matches nothing: write "docker.io/library/alpine:*". A pattern
/// must be "**" or contain "/" (a bare "alpine" could never match a normalised reference).
class ImagePattern {
 public:
  [[nodiscard]] static Checked<ImagePattern> compile(std::string_view text);
  [[nodiscard]] bool matches(std::string_view reference) const;
  [[nodiscard]] const std::string& text() const { return text_; }

 private:
  ImagePattern() = default;
  std::string text_;
};

/// True when `path` is absolute and normalised: starts with "/", has no empty, "." or ".."
/// segment, no trailing "/" (except "/" itself) and no NUL byte.
[[nodiscard]] bool isNormalisedAbsolutePath(std::string_view path);

}  // namespace dockerbox::policy

#include "policy/pattern.hpp"

#include <string>
#include <utility>

namespace dockerbox::policy {

namespace {

// A glob compiled to single-character steps so substituted text stays literal.
enum class StepKind { Char, Star, AnyStar };
struct Step {
  StepKind kind = StepKind::Char;
  char c = 0;
};

// Dynamic programming over (steps x text): O(steps * text), no recursion, no backtracking
// blow-up whatever the pattern looks like. Star stops at '/', AnyStar does not.
bool globMatch(const std::vector<Step>& steps, std::string_view text) {
  std::vector<char> row(text.size() + 1, 0), next(text.size() + 1, 0);
  row[0] = 1;
  for (const Step& step : steps) {
    next.assign(text.size() + 1, 0);
    for (std::size_t j = 0; j <= text.size(); ++j) {
      switch (step.kind) {
        case StepKind::Char:
          if (j > 0 && row[j - 1] != 0 && text[j - 1] == step.c) next[j] = 1;
          break;
        case StepKind::Star:
          next[j] =
              static_cast<char>(row[j] != 0 || (j > 0 && next[j - 1] != 0 && text[j - 1] != '/'));
          break;
        case StepKind::AnyStar:
          next[j] = static_cast<char>(row[j] != 0 || (j > 0 && next[j - 1] != 0));
          break;
      }
    }
    row.swap(next);
  }
  return row[text.size()] != 0;
}

void appendLiteral(std::vector<Step>& steps, std::string_view text) {
  for (char c : text) steps.push_back({StepKind::Char, c});
}

std::vector<std::string_view> splitSegments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t pos = 1;  // skip the leading '/'
  while (pos <= path.size() && path.size() > 1) {
    auto end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

bool isUsableUser(std::string_view user) {
  return !user.empty() && user != "." && user != ".." && user.find('/') == std::string_view::npos &&
         user.find('\0') == std::string_view::npos;
}

}  // namespace

bool isNormalisedAbsolutePath(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  if (path.find('\0') != std::string_view::npos) return false;
  if (path == "/") return true;
  for (auto segment : splitSegments(path)) {
    if (segment.empty() || segment == "." || segment == "..") return false;
  }
  return true;
}

Checked<PathPattern> PathPattern::compile(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Invalid{"bind pattern '" + std::string(text) + "': " + why};
  };
  if (text.empty()) return bad("empty");
  if (text.size() > kMaxPatternBytes)
    return bad("longer than " + std::to_string(kMaxPatternBytes) + " bytes");
  if (text.find('\0') != std::string_view::npos) return bad("contains a NUL byte");

  PathPattern pattern;
  pattern.text_ = std::string(text);
  std::string_view rest = text;
  constexpr std::string_view kHome = "{home}";
  if (rest.starts_with(kHome)) {
    pattern.homePrefix_ = true;
    rest.remove_prefix(kHome.size());
    if (rest.empty()) return pattern;
    if (rest.front() != '/') return bad("{home} must be followed by '/' or end the pattern");
  } else if (rest.front() != '/') {
    return bad("must be absolute (start with '/' or '{home}')");
  }
  if (rest == "/") {
    if (pattern.homePrefix_) return bad("trailing '/'");
    return pattern;  // "/" alone: only the root directory itself
  }
  for (auto segmentText : splitSegments(rest)) {
    if (segmentText.empty()) return bad("empty path segment ('//' or a trailing '/')");
    if (segmentText == "." || segmentText == "..")
      return bad("'.' and '..' segments are not allowed");
    Segment segment;
    if (segmentText == "**") {
      segment.anyDepth = true;
      pattern.segments_.push_back(std::move(segment));
      continue;
    }
    if (segmentText.find("**") != std::string_view::npos)
      return bad("'**' must be a whole segment");
    std::size_t i = 0;
    while (i < segmentText.size()) {
      char c = segmentText[i];
      if (c == '*') {
        segment.pieces.push_back({PieceKind::Star, {}});
        ++i;
      } else if (c == '{') {
        auto close = segmentText.find('}', i);
        if (close == std::string_view::npos) return bad("unclosed '{'");
        auto name = segmentText.substr(i, close - i + 1);
        if (name == "{user}") {
          segment.pieces.push_back({PieceKind::User, {}});
        } else if (name == "{uid}") {
          segment.pieces.push_back({PieceKind::Uid, {}});
        } else if (name == "{home}") {
          return bad("{home} is only allowed at the start");
        } else {
          return bad("unknown placeholder " + std::string(name) +
                     " (known: {home}, {user}, {uid})");
        }
        i = close + 1;
      } else if (c == '}') {
        return bad("unmatched '}'");
      } else {
        if (segment.pieces.empty() || segment.pieces.back().kind != PieceKind::Literal) {
          segment.pieces.push_back({PieceKind::Literal, {}});
        }
        segment.pieces.back().text.push_back(c);
        ++i;
      }
    }
    pattern.segments_.push_back(std::move(segment));
  }
  return pattern;
}

bool PathPattern::matches(std::string_view path, const Placeholders& values,
                          std::string* whyNot) const {
  if (!isNormalisedAbsolutePath(path)) return false;
  auto unusable = [&](const std::string& why) {
    if (whyNot != nullptr) *whyNot = "pattern '" + text_ + "' unusable for this caller: " + why;
    return false;
  };

  // Expand the pattern into per-segment globs, with {home}, {user} and {uid} as literals.
  std::vector<std::vector<Step>> globs;  // empty vector + anyDepth flag below
  std::vector<bool> anyDepth;
  if (homePrefix_) {
    if (!isNormalisedAbsolutePath(values.home) || values.home == "/") {
      return unusable("home directory '" + std::string(values.home) +
                      "' is empty, '/' or not a normalised path");
    }
    for (auto segment : splitSegments(values.home)) {
      globs.emplace_back();
      appendLiteral(globs.back(), segment);
      anyDepth.push_back(false);
    }
  }
  for (const Segment& segment : segments_) {
    globs.emplace_back();
    anyDepth.push_back(segment.anyDepth);
    for (const Piece& piece : segment.pieces) {
      switch (piece.kind) {
        case PieceKind::Literal:
          appendLiteral(globs.back(), piece.text);
          break;
        case PieceKind::Star:
          globs.back().push_back({StepKind::Star, 0});
          break;
        case PieceKind::User:
          if (!isUsableUser(values.user))
            return unusable("user name '" + std::string(values.user) + "'");
          appendLiteral(globs.back(), values.user);
          break;
        case PieceKind::Uid:
          appendLiteral(globs.back(), std::to_string(values.uid));
          break;
      }
    }
  }

  // Segment-level DP: a glob matches exactly one path segment, "**" zero or more.
  auto pathSegments = splitSegments(path);
  std::vector<char> row(pathSegments.size() + 1, 0), next;
  row[0] = 1;
  for (std::size_t i = 0; i < globs.size(); ++i) {
    next.assign(pathSegments.size() + 1, 0);
    for (std::size_t j = 0; j <= pathSegments.size(); ++j) {
      if (anyDepth[i]) {
        next[j] = static_cast<char>(row[j] != 0 || (j > 0 && next[j - 1] != 0));
      } else if (j > 0 && row[j - 1] != 0 && globMatch(globs[i], pathSegments[j - 1])) {
        next[j] = 1;
      }
    }
    row.swap(next);
  }
  return row[pathSegments.size()] != 0;
}

Checked<ImagePattern> ImagePattern::compile(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Invalid{"image pattern '" + std::string(text) + "': " + why};
  };
  if (text.empty()) return bad("empty");
  if (text.size() > kMaxPatternBytes)
    return bad("longer than " + std::to_string(kMaxPatternBytes) + " bytes");
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return bad("contains whitespace or a control character");
  }
  if (text.find("***") != std::string_view::npos) return bad("'***' is ambiguous");
  if (text != "**" && text.find('/') == std::string_view::npos) {
    return bad("must be '**' or a normalised reference such as 'docker.io/library/alpine:*'");
  }
  ImagePattern pattern;
  pattern.text_ = std::string(text);
  return pattern;
}

bool ImagePattern::matches(std::string_view reference) const {
  std::vector<Step> steps;
  for (std::size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] != '*') {
      steps.push_back({StepKind::Char, text_[i]});
    } else if (i + 1 < text_.size() && text_[i + 1] == '*') {
      steps.push_back({StepKind::AnyStar, 0});
      ++i;
    } else {
      steps.push_back({StepKind::Star, 0});
    }
  }
  return globMatch(steps, reference);
}

}  // namespace dockerbox::policy

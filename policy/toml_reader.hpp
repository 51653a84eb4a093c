// Private to parser.cpp: typed readers for toml++ nodes that report every problem with the
// node's line:column instead of throwing. Kept out of the public headers so that only
// parser.cpp compiles toml++ (header-only, without exceptions; see policy/CMakeLists.txt).
#pragma once

#include "policy/policy.hpp"
#include "policy/values.hpp"

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#define TOML_ENABLE_FORMATTERS 0
// toml++ 3.3 states input-dependent preconditions as TOML_ASSERT_ASSUME: an assert() in
// debug builds and __builtin_assume (undefined behaviour when false) under clang -DNDEBUG.
// At least one is reachable from malformed text: a table header such as "[\x01]" enters
// parse_key() with a character that is not a key start (fuzzer find; fixed upstream in
// marzer/tomlplusplus#301). parse_key() reports that case as a normal parse error on its
// own, so the precondition is turned into nothing: never an abort, never an assumption.
// preprocessor.h is `#pragma once`, so toml.h keeps this definition.
#include <toml++/impl/preprocessor.h>
#undef TOML_ASSERT_ASSUME
#define TOML_ASSERT_ASSUME(expr) static_assert(true)
#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace dockerbox::policy::detail {

// More diagnostics than this are not useful to a human and would let a hostile or broken
// file make the report arbitrarily long.
inline constexpr std::size_t kMaxDiagnostics = 50;

inline bool hasControlChar(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

/// Each reader reports its own error and returns nullopt (or false).
class TomlReader {
 public:
  explicit TomlReader(std::string_view source) : source_(source) {}

  void error(const toml::source_region& where, std::string message) {
    if (diagnostics_.size() > kMaxDiagnostics) return;
    if (diagnostics_.size() == kMaxDiagnostics) {
      message = "too many errors; stopping here";
    } else {
      message.insert(0, context_);
    }
    diagnostics_.push_back({source_, where.begin.line, where.begin.column, std::move(message)});
  }

  /// Prefixed to every message until changed: which rule or section it is about.
  void setContext(std::string context) { context_ = std::move(context); }
  [[nodiscard]] std::size_t errorCount() const { return diagnostics_.size(); }
  [[nodiscard]] const std::string& source() const { return source_; }

  /// Every diagnostic so far, in file order.
  ParseFailure takeFailure() {
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                       return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
    return ParseFailure{std::move(diagnostics_)};
  }

  std::optional<std::string> string(const toml::node& node, std::string_view what) {
    if (const auto* s = node.as_string()) {
      const std::string& value = s->get();
      if (hasControlChar(value)) {
        error(node.source(), std::string(what) + " must not contain control characters");
        return std::nullopt;
      }
      return value;
    }
    error(node.source(), std::string(what) + " must be a string");
    return std::nullopt;
  }

  std::optional<bool> boolean(const toml::node& node, std::string_view what) {
    if (const auto* b = node.as_boolean()) return b->get();
    error(node.source(), std::string(what) + " must be true or false");
    return std::nullopt;
  }

  // Calls `each` for every element; returns false if `node` is not an array.
  bool array(const toml::node& node, std::string_view what,
             const std::function<void(const toml::node&)>& each) {
    const auto* a = node.as_array();
    if (a == nullptr) {
      error(node.source(), std::string(what) + " must be an array");
      return false;
    }
    for (const auto& element : *a) each(element);
    return true;
  }

  std::optional<Mode> mode(const toml::node& node) {
    auto s = string(node, "mode");
    if (!s) return std::nullopt;
    if (*s == "enforce") return Mode::Enforce;
    if (*s == "audit") return Mode::Audit;
    error(node.source(), "mode must be \"enforce\" or \"audit\"");
    return std::nullopt;
  }

  std::optional<Visibility> visibility(const toml::node& node) {
    auto s = string(node, "visibility");
    if (!s) return std::nullopt;
    if (*s == "own") return Visibility::Own;
    if (*s == "group") return Visibility::Group;
    if (*s == "all") return Visibility::All;
    error(node.source(), "visibility must be \"own\", \"group\" or \"all\"");
    return std::nullopt;
  }

  std::optional<SubjectRef> subjectRef(const toml::node& node, std::string_view what) {
    if (const auto* i = node.as_integer()) {
      auto v = i->get();
      if (v < 0 || v >= std::numeric_limits<std::uint32_t>::max()) {
        error(node.source(), std::string(what) + " id out of range");
        return std::nullopt;
      }
      return SubjectRef{static_cast<std::uint32_t>(v), std::to_string(v)};
    }
    auto s = string(node, what);
    if (!s) return std::nullopt;
    if (s->empty()) {
      error(node.source(), std::string(what) + " must not be empty");
      return std::nullopt;
    }
    SubjectRef ref{std::nullopt, *s};
    if (std::all_of(s->begin(), s->end(), [](char c) { return c >= '0' && c <= '9'; })) {
      std::uint64_t v = 0;
      for (char c : *s) {
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
        if (v >= std::numeric_limits<std::uint32_t>::max()) {
          error(node.source(), std::string(what) + " id out of range");
          return std::nullopt;
        }
      }
      ref.id = static_cast<std::uint32_t>(v);
    }
    return ref;
  }

  std::optional<std::uint64_t> size(const toml::node& node, std::string_view what) {
    if (const auto* i = node.as_integer()) {
      if (i->get() > 0) return static_cast<std::uint64_t>(i->get());
      error(node.source(), std::string(what) + " must be above zero");
      return std::nullopt;
    }
    auto s = string(node, what);
    if (!s) return std::nullopt;
    auto bytes = parseSize(*s);
    if (!bytes) {
      error(node.source(), std::string(what) + ": " + bytes.error().message);
      return std::nullopt;
    }
    return *bytes;
  }

  std::optional<std::uint64_t> cpus(const toml::node& node, std::string_view what) {
    double value = 0;
    if (const auto* f = node.as_floating_point()) {
      value = f->get();
    } else if (const auto* i = node.as_integer()) {
      value = static_cast<double>(i->get());
    } else {
      error(node.source(), std::string(what) + " must be a number");
      return std::nullopt;
    }
    auto nano = cpusToNanoCpus(value);
    if (!nano) {
      error(node.source(), std::string(what) + ": " + nano.error().message);
      return std::nullopt;
    }
    return *nano;
  }

  template <class Pattern>
  void patterns(const toml::node& node, std::string_view what, std::vector<Pattern>& out) {
    array(node, what, [&](const toml::node& element) {
      auto text = string(element, what);
      if (!text) return;
      auto compiled = Pattern::compile(*text);
      if (!compiled) {
        error(element.source(), compiled.error().message);
        return;
      }
      out.push_back(std::move(*compiled));
    });
  }

  void stringList(const toml::node& node, std::string_view what, std::vector<std::string>& out,
                  const std::function<std::optional<std::string>(const std::string&)>& check) {
    array(node, what, [&](const toml::node& element) {
      auto text = string(element, what);
      if (!text) return;
      if (auto problem = check(*text)) {
        error(element.source(), std::string(what) + " '" + *text + "': " + *problem);
        return;
      }
      out.push_back(*text);
    });
  }

 private:
  std::string source_;
  std::string context_;
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace dockerbox::policy::detail

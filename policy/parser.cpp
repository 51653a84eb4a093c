// Parses and validates the policy file (format and semantics: policy.hpp, README.md).
// toml++ is compiled header-only into this one translation unit, without exceptions, so it
// is built with our sanitizer and fuzzing flags and no other file sees its headers.
#include "policy/policy.hpp"

#include "policy/values.hpp"

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>

namespace dockerbox::policy {

namespace {

// More diagnostics than this are not useful to a human and would let a hostile or broken
// file make the report arbitrarily long.
constexpr std::size_t kMaxDiagnostics = 50;
constexpr std::size_t kMaxRuleNameBytes = 64;

bool isValidRuleName(std::string_view name) {
  if (name.empty() || name.size() > kMaxRuleNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

bool hasControlChar(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

// Friend of Policy: the only code that fills one.
class PolicyBuilder {
 public:
  PolicyBuilder(std::string_view source, std::span<const std::string_view> known) : source_(source) {
    for (auto op : known) policy_.knownOperations_.emplace(op);
  }

  ParseResult build(std::string_view text) {
    if (text.size() > kMaxPolicyBytes) {
      error({}, "policy is larger than " + std::to_string(kMaxPolicyBytes) + " bytes");
      return fail();
    }
    toml::parse_result parsed = toml::parse(text, source_);
    if (!parsed) {
      const auto& e = parsed.error();
      error(e.source(), std::string(e.description()));
      return fail();
    }
    document(parsed.table());
    if (!diagnostics_.empty()) return fail();
    return std::move(policy_);
  }

 private:
  using Region = toml::source_region;

  ParseFailure fail() {
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    return ParseFailure{std::move(diagnostics_)};
  }

  void error(const Region& where, std::string message) {
    if (diagnostics_.size() > kMaxDiagnostics) return;
    if (diagnostics_.size() == kMaxDiagnostics) {
      message = "too many errors; stopping here";
    } else {
      message.insert(0, context_);
    }
    diagnostics_.push_back({source_, where.begin.line, where.begin.column, std::move(message)});
  }

  void document(const toml::table& root) {
    for (const auto& [key, node] : root) {
      if (key.str() == "settings") {
        if (const auto* table = node.as_table()) {
          settings(*table);
        } else {
          error(node.source(), "'settings' must be a table: [settings]");
        }
      } else if (key.str() == "rule") {
        rules(node);
      } else {
        error(key.source(), "unknown top-level key '" + std::string(key.str()) + "' (expected [settings] or [[rule]])");
      }
    }
  }

  void settings(const toml::table& table) {
    context_ = "[settings]: ";
    for (const auto& [key, node] : table) {
      if (key.str() == "mode") {
        if (auto m = mode(node)) policy_.settings_.mode = *m;
      } else if (key.str() == "default_visibility") {
        if (auto v = visibility(node)) policy_.settings_.defaultVisibility = *v;
      } else {
        error(key.source(), "unknown key '" + std::string(key.str()) + "'");
      }
    }
    context_.clear();
  }

  void rules(const toml::node& node) {
    const auto* array = node.as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
      error(node.source(), "'rule' must be an array of tables: write [[rule]]");
      return;
    }
    std::map<std::string, std::uint32_t, std::less<>> seen;
    for (const auto& element : *array) {
      const auto& table = *element.as_table();
      auto parsed = rule(table);
      if (!parsed) continue;
      auto [it, fresh] = seen.emplace(parsed->name, parsed->line);
      if (!fresh) {
        error(table.source(), "duplicate rule name '" + parsed->name + "' (first at line " +
                                  std::to_string(it->second) + ")");
        continue;
      }
      policy_.rules_.push_back(std::move(*parsed));
    }
  }

  // ---- typed field readers; each reports its own error and returns nullopt ----

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
  bool array(const toml::node& node, std::string_view what, const std::function<void(const toml::node&)>& each) {
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

  void operations(const toml::node& node, Rule& rule) {
    const auto& known = policy_.knownOperations_;
    array(node, "allow", [&](const toml::node& element) {
      auto entry = string(element, "allow entry");
      if (!entry) return;
      rule.allowPatterns.push_back(*entry);
      if (*entry == "*") {
        rule.operations.insert(known.begin(), known.end());
      } else if (entry->size() > 2 && entry->ends_with(".*") && entry->find('*') == entry->size() - 1) {
        auto prefix = std::string_view(*entry).substr(0, entry->size() - 1);  // keeps the '.'
        bool any = false;
        for (const auto& op : known) {
          if (op.starts_with(prefix)) {
            rule.operations.insert(op);
            any = true;
          }
        }
        if (!any) error(element.source(), "'" + *entry + "' matches no known operation");
      } else if (entry->find('*') != std::string::npos) {
        error(element.source(), "'" + *entry + "': only \"*\" and \"<prefix>.*\" patterns are allowed");
      } else if (known.find(*entry) == known.end()) {
        error(element.source(), "unknown operation '" + *entry + "'");
      } else {
        rule.operations.insert(*entry);
      }
    });
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
        error(element.source(), "'" + *text + "': " + *problem);
        return;
      }
      out.push_back(*text);
    });
  }

  std::optional<Rule> rule(const toml::table& table);

  std::string source_;
  std::string context_;  // prefixed to messages: which rule or section they are about
  Policy policy_;
  std::vector<Diagnostic> diagnostics_;
};


std::optional<Rule> PolicyBuilder::rule(const toml::table& table) {
  Rule rule;
  rule.line = table.source().begin.line;
  const std::size_t errorsBefore = diagnostics_.size();
  const auto* nameNode = table.get("name");
  const auto* nameString = nameNode != nullptr ? nameNode->as_string() : nullptr;
  context_ = nameString != nullptr && isValidRuleName(nameString->get())
                 ? "rule '" + nameString->get() + "': "
                 : "rule at line " + std::to_string(rule.line) + ": ";
  std::optional<std::uint64_t> defaultMemory, defaultCpus;
  const toml::node* defaultMemoryNode = nullptr;
  const toml::node* defaultCpusNode = nullptr;
  bool networkModesGiven = false;
  auto flag = [&](const toml::node& node, std::string_view what, auto yes, auto no) {
    auto b = boolean(node, what);
    return b && *b ? yes : no;
  };
  auto subjects = [&](const toml::node& node, std::string_view what, std::vector<SubjectRef>& out) {
    array(node, what, [&](const toml::node& element) {
      if (auto ref = subjectRef(element, what)) out.push_back(std::move(*ref));
    });
  };

  for (const auto& [key, node] : table) {
    const std::string_view k = key.str();
    if (k == "name") {
      if (auto s = string(node, "name")) {
        if (isValidRuleName(*s)) {
          rule.name = *s;
        } else {
          error(node.source(), "name must be 1-64 characters of A-Z a-z 0-9 . _ -");
        }
      }
    } else if (k == "users") {
      subjects(node, "users entry", rule.users);
    } else if (k == "groups") {
      subjects(node, "groups entry", rule.groups);
    } else if (k == "allow") {
      operations(node, rule);
    } else if (k == "mode") {
      rule.mode = mode(node);
    } else if (k == "visibility") {
      rule.visibility = visibility(node);
    } else if (k == "privileged") {
      rule.privileged = flag(node, k, Privileged::Allowed, Privileged::Denied);
    } else if (k == "root_user") {
      rule.rootUser = flag(node, k, RootUser::Allowed, RootUser::Denied);
    } else if (k == "bind_read_only") {
      rule.bindAccess = flag(node, k, BindAccess::ReadOnlyRequired, BindAccess::ReadWriteAllowed);
    } else if (k == "volumes") {
      rule.volumes = flag(node, k, NamedVolumes::Allowed, NamedVolumes::Denied);
    } else if (k == "images") {
      rule.images.emplace();
      patterns(node, "images entry", *rule.images);
    } else if (k == "bind_sources") {
      patterns(node, "bind_sources entry", rule.bindSources);
    } else if (k == "network_modes") {
      networkModesGiven = true;
      stringList(node, "network_modes entry", rule.networkModes, [](const std::string& m) -> std::optional<std::string> {
        if (m.empty()) return "empty (write \"default\")";
        if (m.find(':') != std::string::npos) return "write \"container\" to allow container:<name>";
        return std::nullopt;
      });
    } else if (k == "capabilities") {
      stringList(node, "capabilities entry", rule.capabilities, [](const std::string& c) -> std::optional<std::string> {
        if (isKnownCapability(normaliseCapability(c))) return std::nullopt;
        return "not a Linux capability name";
      });
      for (auto& cap : rule.capabilities) cap = normaliseCapability(cap);
    } else if (k == "devices") {
      stringList(node, "devices entry", rule.devices, [](const std::string& d) -> std::optional<std::string> {
        if (isNormalisedAbsolutePath(d) && d != "/") return std::nullopt;
        return "must be a normalised absolute path such as /dev/fuse";
      });
    } else if (k == "max_memory") {
      rule.maxMemory = size(node, k);
    } else if (k == "default_memory") {
      defaultMemory = size(node, k);
      defaultMemoryNode = &node;
    } else if (k == "max_cpus") {
      rule.maxNanoCpus = cpus(node, k);
    } else if (k == "default_cpus") {
      defaultCpus = cpus(node, k);
      defaultCpusNode = &node;
    } else {
      error(key.source(), "unknown key '" + std::string(k) + "'");
    }
  }

  if (table.get("name") == nullptr) error(table.source(), "rule has no name");
  if (table.get("allow") == nullptr) error(table.source(), "rule has no allow list");
  if (rule.users.empty() && rule.groups.empty() && diagnostics_.size() == errorsBefore) {
    error(table.source(), "rule names no users or groups, so it would match nobody");
  }
  if (!networkModesGiven) rule.networkModes = {"default", "bridge", "none"};
  // Unset must never mean unlimited when a maximum exists: the default falls back to it.
  rule.defaultMemory = defaultMemory ? defaultMemory : rule.maxMemory;
  rule.defaultNanoCpus = defaultCpus ? defaultCpus : rule.maxNanoCpus;
  if (defaultMemory && rule.maxMemory && *defaultMemory > *rule.maxMemory) {
    error(defaultMemoryNode->source(), "default_memory is above max_memory");
  }
  if (defaultCpus && rule.maxNanoCpus && *defaultCpus > *rule.maxNanoCpus) {
    error(defaultCpusNode->source(), "default_cpus is above max_cpus");
  }
  context_.clear();
  if (diagnostics_.size() != errorsBefore) return std::nullopt;
  return rule;
}

ParseResult parsePolicy(std::string_view text, std::span<const std::string_view> knownOperations,
                        std::string_view sourceName) {
  try {
    return PolicyBuilder(sourceName, knownOperations).build(text);
  } catch (const std::exception& e) {
    // Only allocation failure is expected here; a policy that did not parse is refused.
    return ParseFailure{{Diagnostic{std::string(sourceName), 0, 0, std::string("internal error: ") + e.what()}}};
  }
}

}  // namespace dockerbox::policy

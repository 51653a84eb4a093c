// Parses and validates the policy file (format and semantics: policy.hpp, README.md).
// toml++ is compiled header-only into this one translation unit, without exceptions, so it
// is built with our sanitizer and fuzzing flags and no other file sees its headers.
#include "policy/policy.hpp"

#include "policy/toml_reader.hpp"
#include "policy/values.hpp"

#include <algorithm>
#include <map>

namespace dockerbox::policy {

namespace {

constexpr std::size_t kMaxRuleNameBytes = 64;

bool isValidRuleName(std::string_view name) {
  if (name.empty() || name.size() > kMaxRuleNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

}  // namespace

// Friend of Policy: the only code that fills one.
class PolicyBuilder : private detail::TomlReader {
 public:
  PolicyBuilder(std::string_view source, std::span<const std::string_view> known)
      : TomlReader(source) {
    for (auto op : known) policy_.knownOperations_.emplace(op);
  }

  ParseResult build(std::string_view text) {
    if (text.size() > kMaxPolicyBytes) {
      error({}, "policy is larger than " + std::to_string(kMaxPolicyBytes) + " bytes");
      return fail();
    }
    if (!isAscii(text)) return fail();
    toml::parse_result parsed = toml::parse(text, source());
    if (!parsed) {
      const auto& e = parsed.error();
      error(e.source(), std::string(e.description()));
      return fail();
    }
    document(parsed.table());
    if (errorCount() != 0) return fail();
    return std::move(policy_);
  }

 private:
  ParseFailure fail() { return takeFailure(); }

  // Policy files are 7-bit ASCII. toml++ 3.3 classifies non-ASCII code points with
  // functions that reach __builtin_unreachable() for some of them (U+00A1..U+0499 among
  // others, wherever whitespace may appear: a fuzzer find), which is undefined behaviour in
  // a root process. Refusing them up front keeps toml++ off those paths entirely; other
  // characters can still be written in strings as \uXXXX escapes.
  bool isAscii(std::string_view text) {
    std::uint32_t line = 1, column = 1;
    for (char c : text) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        toml::source_region where;
        where.begin = {line, column};
        error(where, "non-ASCII byte: policy files are ASCII (write \\uXXXX in strings)");
        return false;
      }
      if (c == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return true;
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
        error(key.source(), "unknown top-level key '" + std::string(key.str()) +
                                "' (expected [settings] or [[rule]])");
      }
    }
  }

  void settings(const toml::table& table) {
    setContext("[settings]: ");
    for (const auto& [key, node] : table) {
      if (key.str() == "mode") {
        if (auto m = mode(node)) policy_.settings_.mode = *m;
      } else if (key.str() == "default_visibility") {
        if (auto v = visibility(node)) policy_.settings_.defaultVisibility = *v;
      } else {
        error(key.source(), "unknown key '" + std::string(key.str()) + "'");
      }
    }
    setContext({});
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

  void operations(const toml::node& node, Rule& rule) {
    const auto& known = policy_.knownOperations_;
    array(node, "allow", [&](const toml::node& element) {
      auto entry = string(element, "allow entry");
      if (!entry) return;
      rule.allowPatterns.push_back(*entry);
      if (*entry == "*") {
        rule.operations.insert(known.begin(), known.end());
      } else if (entry->size() > 2 && entry->ends_with(".*") &&
                 entry->find('*') == entry->size() - 1) {
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
        error(element.source(),
              "'" + *entry + "': only \"*\" and \"<prefix>.*\" patterns are allowed");
      } else if (known.find(*entry) == known.end()) {
        error(element.source(), "unknown operation '" + *entry + "'");
      } else {
        rule.operations.insert(*entry);
      }
    });
  }

  std::optional<Rule> rule(const toml::table& table);

  Policy policy_;
};

std::optional<Rule> PolicyBuilder::rule(const toml::table& table) {
  Rule rule;
  rule.line = table.source().begin.line;
  const std::size_t errorsBefore = errorCount();
  const auto* nameNode = table.get("name");
  const auto* nameString = nameNode != nullptr ? nameNode->as_string() : nullptr;
  setContext(nameString != nullptr && isValidRuleName(nameString->get())
                 ? "rule '" + nameString->get() + "': "
                 : "rule at line " + std::to_string(rule.line) + ": ");
  std::optional<std::uint64_t> defaultMemory, defaultCpus;
  const toml::node* defaultMemoryNode = nullptr;
  const toml::node* defaultCpusNode = nullptr;
  bool networkModesGiven = false;
  bool publishAddressesGiven = false;
  bool publishPortsGiven = false;
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
      stringList(node, "network_modes entry", rule.networkModes,
                 [](const std::string& m) -> std::optional<std::string> {
                   if (m.empty()) return "empty (write \"default\")";
                   if (m.find(':') != std::string::npos)
                     return "write \"container\" to allow container:<name>";
                   return std::nullopt;
                 });
    } else if (k == "capabilities") {
      stringList(node, "capabilities entry", rule.capabilities,
                 [](const std::string& c) -> std::optional<std::string> {
                   if (isKnownCapability(normaliseCapability(c))) return std::nullopt;
                   return "not a Linux capability name";
                 });
      for (auto& cap : rule.capabilities) cap = normaliseCapability(cap);
    } else if (k == "devices") {
      stringList(node, "devices entry", rule.devices,
                 [](const std::string& d) -> std::optional<std::string> {
                   if (isNormalisedAbsolutePath(d) && d != "/") return std::nullopt;
                   return "must be a normalised absolute path such as /dev/fuse";
                 });
    } else if (k == "publish_addresses") {
      publishAddressesGiven = true;
      stringList(node, "publish_addresses entry", rule.publishAddresses,
                 [](const std::string& a) -> std::optional<std::string> {
                   if (a == "*") return std::nullopt;
                   auto normalised = normaliseIpAddress(a);
                   if (normalised) return std::nullopt;
                   return normalised.error().message;
                 });
      for (auto& a : rule.publishAddresses) {
        if (a != "*") a = normaliseIpAddress(a).value();
      }
    } else if (k == "publish_ports") {
      publishPortsGiven = true;
      std::vector<std::string> ranges;
      stringList(node, "publish_ports entry", ranges,
                 [](const std::string& p) -> std::optional<std::string> {
                   auto range = parsePortRange(p);
                   if (range) return std::nullopt;
                   return range.error().message;
                 });
      for (const auto& p : ranges) rule.publishPorts.push_back(parsePortRange(p).value());
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
  if (const auto* allow = table.get("allow"); allow == nullptr) {
    error(table.source(), "rule has no allow list");
  } else if (const auto* list = allow->as_array(); list != nullptr && list->empty()) {
    error(allow->source(), "allow is empty, so the rule would never apply");
  }
  if (rule.users.empty() && rule.groups.empty() && errorCount() == errorsBefore) {
    error(table.source(), "rule names no users or groups, so it would match nobody");
  }
  if (!networkModesGiven) rule.networkModes = {"default", "bridge", "none"};
  if (!publishAddressesGiven) rule.publishAddresses = {"127.0.0.1", "::1"};
  if (!publishPortsGiven) rule.publishPorts = {PortRange{1024, 65535}};
  // Unset must never mean unlimited when a maximum exists: the default falls back to it.
  rule.defaultMemory = defaultMemory ? defaultMemory : rule.maxMemory;
  rule.defaultNanoCpus = defaultCpus ? defaultCpus : rule.maxNanoCpus;
  if (defaultMemory && rule.maxMemory && *defaultMemory > *rule.maxMemory) {
    error(defaultMemoryNode->source(), "default_memory is above max_memory");
  }
  if (defaultCpus && rule.maxNanoCpus && *defaultCpus > *rule.maxNanoCpus) {
    error(defaultCpusNode->source(), "default_cpus is above max_cpus");
  }
  setContext({});
  if (errorCount() != errorsBefore) return std::nullopt;
  return rule;
}

ParseResult parsePolicy(std::string_view text, std::span<const std::string_view> knownOperations,
                        std::string_view sourceName) {
  try {
    return PolicyBuilder(sourceName, knownOperations).build(text);
  } catch (const std::exception& e) {
    // Only allocation failure is expected here; a policy that did not parse is refused.
    return ParseFailure{
        {Diagnostic{std::string(sourceName), 0, 0, std::string("internal error: ") + e.what()}}};
  }
}

}  // namespace dockerbox::policy

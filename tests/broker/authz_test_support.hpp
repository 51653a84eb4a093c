// Helpers for the authz tests: a private directory tree, policy files, every operation of
// the request union, and the identities the tests act as. Test-only; runs as whoever runs
// the tests (the bind and ownership cases need root and skip visibly without it).
#pragma once

#include "broker/authz.hpp"
#include "broker/dispatch.hpp"
#include "broker/request.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace dockerbox::broker::testing {

inline constexpr uid_t kNobody = 65534;  // nobody:nogroup on Debian, present on every test host

/// A mkdtemp directory (mode 0755 so a dropped-privilege child can reach inside), removed
/// with everything in it when the test ends.
class TempTree {
 public:
  TempTree() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dbx-authz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    root_ = pattern;
    EXPECT_EQ(::chmod(root_.c_str(), 0755), 0);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  ~TempTree() {
    std::error_code ec;  // best effort: a leftover temp dir must not fail the test
    std::filesystem::remove_all(root_, ec);
  }

  [[nodiscard]] std::string path(const std::string& relative = {}) const {
    return relative.empty() ? root_ : root_ + "/" + relative;
  }
  void dir(const std::string& relative, mode_t mode = 0755, uid_t owner = 0) const {
    std::filesystem::create_directories(path(relative));
    setOwnerAndMode(relative, mode, owner);
  }
  void file(const std::string& relative, const std::string& text, mode_t mode = 0644, uid_t owner = 0) const {
    std::ofstream(path(relative)) << text;
    setOwnerAndMode(relative, mode, owner);
  }
  void symlink(const std::string& relative, const std::string& target) const {
    std::filesystem::create_symlink(target, path(relative));
  }

 private:
  void setOwnerAndMode(const std::string& relative, mode_t mode, uid_t owner) const {
    EXPECT_EQ(::chmod(path(relative).c_str(), mode), 0) << relative;
    // Without root every file is the tester's own; the tests that need owners skip then.
    if (::geteuid() == 0) {
      EXPECT_EQ(::chown(path(relative).c_str(), owner, owner), 0) << relative;
    }
  }

  std::string root_;
};

inline std::string readFile(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// deploy/policy.toml with one substitution per pair; each `from` must occur.
inline std::string shippedPolicyWith(const std::vector<std::pair<std::string, std::string>>& edits) {
  std::string text = readFile(DOCKERBOX_DEFAULT_POLICY);
  for (const auto& [from, to] : edits) {
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << "deploy/policy.toml no longer contains: " << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
  }
  return text;
}

/// One default-constructed value of every member of the Operation variant, in order.
template <std::size_t... I>
std::vector<Operation> allOperations(std::index_sequence<I...>) {
  return {Operation(std::in_place_index<I>)...};
}
inline std::vector<Operation> allOperations() {
  return allOperations(std::make_index_sequence<std::variant_size_v<Operation>>{});
}

/// Every operation, with the image operations naming `image` so they can be judged.
inline std::vector<Operation> allOperationsNaming(const std::string& image) {
  auto ops = allOperations();
  for (auto& op : ops) {
    if (auto* c = std::get_if<CreateContainerOp>(&op)) c->spec.image = image;
    if (auto* p = std::get_if<PullImageOp>(&op)) p->ref = image;
    if (auto* i = std::get_if<InspectImageOp>(&op)) i->ref = image;
    if (auto* r = std::get_if<RemoveImageOp>(&op)) r->ref = image;
  }
  return ops;
}

inline Identity rootIdentity() { return Identity{0, 0, 1, {0}, std::nullopt}; }
inline Identity nobodyIdentity() { return Identity{kNobody, kNobody, 1, {kNobody}, std::nullopt}; }

inline CreateContainerOp createOf(const std::string& image = "alpine") {
  CreateContainerOp op;
  op.spec.image = image;
  return op;
}

inline MountSpec bindMount(const std::string& source, MountAccess access = MountAccess::ReadWrite,
                           bool fromBinds = true) {
  MountSpec m;
  m.type = MountType::Bind;
  m.source = source;
  m.target = "/mnt";
  m.access = access;
  m.fromBinds = fromBinds;
  return m;
}

/// A probe that answers without touching the host: every source resolves to itself and is
/// accessible. For tests of everything but the bind checks themselves.
inline BindSourceFacts trustingProbe(std::string_view source, MountAccess) {
  return BindSourceFacts{std::string(source), CallerAccess::Allowed};
}

}  // namespace dockerbox::broker::testing

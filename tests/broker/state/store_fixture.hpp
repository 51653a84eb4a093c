// Shared set-up for StateStore tests: a store in a temp dir with controllable ids.
// Test-only; runs as whoever runs the tests. Input: none.
#pragma once

#include "engine/state/state_store.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <string>

namespace dockerbox::broker::state::testing {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  /// Closes the store (if open) and opens it again on the same directory.
  void reopen(std::int64_t eventRetention = kEventRetention) {
    store_.reset();
    StateStoreOptions options;
    options.eventRetention = eventRetention;
    options.idGenerator = [this]() -> Result<std::string> {
      if (nextIds_.empty()) return randomDockerId();
      std::string id = nextIds_.front();
      nextIds_.pop_front();
      return id;
    };
    auto opened = StateStore::open(stateDir(), std::move(options));
    ASSERT_TRUE(opened) << opened.error().context;
    store_ = std::move(*opened);
  }

  [[nodiscard]] std::filesystem::path stateDir() const { return dir_.path() / "state"; }

  /// The next ids the store draws, padded with '0' to 64 hex.
  void queueIds(std::initializer_list<std::string> prefixes) {
    for (const auto& p : prefixes) nextIds_.push_back(p + std::string(64 - p.size(), '0'));
  }

  static NewContainer spec(std::string name, std::int64_t createdAt = 1) {
    NewContainer s;
    s.name = std::move(name);
    s.image = "alpine";
    s.imageRef = "docker.io/library/alpine:latest";
    s.creatorUid = 1000;
    s.creatorGid = 100;
    s.createdAt = createdAt;
    return s;
  }

  Container create(std::string name, std::int64_t createdAt = 1) {
    auto created = store_->createContainer(spec(std::move(name), createdAt));
    EXPECT_TRUE(created) << created.error().message << " " << created.error().context;
    return created ? *created : Container{};
  }

  TempDir dir_;
  std::deque<std::string> nextIds_;
  std::unique_ptr<StateStore> store_;
};

}  // namespace dockerbox::broker::state::testing

// Shared fixture of the Client tests: an io_context, a temp dir, a fake miniboxd, a Client.
#pragma once

#include "broker/minibox/client.hpp"

#include "fake_miniboxd.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace dockerbox::broker::minibox {

inline constexpr auto kId = "3f9c1a7be2d04c61";
inline const std::string kContainerList =
    R"({"type":"ContainerList","containers":[{"id":"3f9c1a7be2d04c61","name":null,)"
    R"("image":"alpine:latest","command":"/bin/sh -c sleep 100","state":"Running",)"
    R"("created_at":"2026-04-22T10:11:12.123456789+00:00","pid":4242}]})";

class ClientTest : public ::testing::Test {
 protected:
  std::string socketPath() const { return dir_.path() + "/miniboxd.sock"; }

  testing::FakeMiniboxd& serve(testing::Script script,
                               testing::FakeMode mode = testing::FakeMode::Serve) {
    fake_.emplace(io_, socketPath(), std::move(script), mode);
    return *fake_;
  }

  Client& client(Timeouts timeouts = {}) {
    client_.emplace(io_.get_executor(), socketPath(), timeouts);
    return *client_;
  }

  // Declaration order is destruction order in reverse: the client and the fake go first.
  boost::asio::io_context io_;
  testing::TempDir dir_;
  std::optional<testing::FakeMiniboxd> fake_;
  std::optional<Client> client_;
};

}  // namespace dockerbox::broker::minibox

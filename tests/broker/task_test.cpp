// A spawned task that throws is logged and counted, and the io_context keeps running the
// others (asio::detached would have dropped the exception without a word).
#include "common/task.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <stdexcept>

namespace dockerbox::broker {
namespace {

namespace asio = boost::asio;

asio::awaitable<void> failing() {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  throw std::runtime_error("a bug");
}

asio::awaitable<void> succeeding(bool& ran) {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  ran = true;
}

TEST(Task, AnEscapedExceptionIsCountedAndTheOthersRun) {
  asio::io_context io;
  const auto before = escapedTaskExceptions().load();
  bool ran = false;
  asio::co_spawn(io, failing(), logFailure("test task"));
  asio::co_spawn(io, succeeding(ran), logFailure("test task"));
  io.run();
  EXPECT_EQ(escapedTaskExceptions().load(), before + 1);
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace dockerbox::broker

// Client tests about connection reuse, retries, cancellation, the version probe and replies
// that break the protocol.
#include "broker/minibox/client.hpp"

#include "client_fixture.hpp"

#include <gtest/gtest.h>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>

namespace dockerbox::broker::minibox {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using testing::Response;
using testing::runTask;
using testing::runUntil;

const std::string kUnknownListImages =
    R"({"type":"Error","message":"invalid request: unknown variant `ListImages`, expected one of `Run`, `Stop`"})";

/// Answers List normally, except that the second request on connection 0 is met by a close
/// without an answer (the daemon died after our request was written).
testing::Script dieOnSecondRequest() {
  auto seen = std::make_shared<int>(0);
  return [seen](std::size_t connection, const std::string& request) {
    if (connection == 0 && ++*seen == 2) return Response{{}, true};
    if (testing::requestType(request) == "List") return Response{{kContainerList}, false};
    return Response{{R"({"type":"Success","message":"container 3f9c1a7be2d04c61 stopped"})"},
                    false};
  };
}

TEST_F(ClientTest, PooledConnectionClosedByDaemonIsReplacedBeforeSending) {
  auto& fake = serve(testing::replyByType({{"Stop", {R"({"type":"Success","message":"ok"})"}}}));
  auto& c = client();
  ASSERT_TRUE(runTask(io_, c.stop(kId)).value());
  fake.closeAll();  // a daemon restart: the pooled socket is now dead
  auto again = runTask(io_, c.stop(kId));
  ASSERT_TRUE(again);
  EXPECT_TRUE(*again) << "nothing was sent on the dead socket, so any request may go again";
  EXPECT_EQ(fake.accepted(), 2U);
  EXPECT_EQ(fake.requests().size(), 2U);
}

TEST_F(ClientTest, IdempotentRequestIsRetriedOnceWhenPooledSocketDiesUnanswered) {
  auto& fake = serve(dieOnSecondRequest());
  auto& c = client();
  ASSERT_TRUE(runTask(io_, c.list()).value());
  auto again = runTask(io_, c.list());
  ASSERT_TRUE(again);
  EXPECT_TRUE(*again);
  EXPECT_EQ(fake.accepted(), 2U);
  EXPECT_EQ(fake.requests().size(), 3U);
}

TEST_F(ClientTest, NonIdempotentRequestIsNotRetried) {
  auto& fake = serve(dieOnSecondRequest());
  auto& c = client();
  ASSERT_TRUE(runTask(io_, c.stop(kId)).value());
  auto again = runTask(io_, c.stop(kId));
  ASSERT_TRUE(again);
  ASSERT_FALSE(*again);
  EXPECT_EQ(again->error().kind, ErrorKind::Unavailable);
  EXPECT_EQ(again->error().message,
            "miniboxd at " + socketPath() + " closed the connection during Stop");
  EXPECT_EQ(fake.accepted(), 1U);
}

TEST_F(ClientTest, CancelledSubscriptionClosesItsConnection) {
  const std::string event =
      R"({"type":"Event","event":{"type":"started","id":"3f9c1a7be2d04c61","pid":4242,)"
      R"("timestamp":{"secs_since_epoch":1714000000,"nanos_since_epoch":0}}})";
  auto& fake = serve(testing::replyByType({{"SubscribeEvents", {event, event}}}));
  asio::cancellation_signal cancel;
  std::vector<ContainerEvent> events;
  auto onEvent = [&](ContainerEvent e) -> awaitable<void> {
    events.push_back(e);
    // Cancel from outside the stream once it is waiting for the (never coming) third event.
    if (events.size() == 2)
      asio::post(io_, [&] { cancel.emit(asio::cancellation_type::terminal); });
    co_return;
  };
  auto& c = client();
  auto result =
      runTask(io_, c.subscribeEvents(onEvent), std::chrono::milliseconds(5000), cancel.slot());
  ASSERT_TRUE(result) << "cancellation did not end the subscription";
  ASSERT_FALSE(*result);
  EXPECT_NE(result->error().message.find("cancelled"), std::string::npos);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].kind, EventKind::Started);
  EXPECT_EQ(events[0].pid, 4242U);
  EXPECT_EQ(c.idleConnections(), 0U);
  EXPECT_TRUE(runUntil(io_, [&] { return fake.closedByClient() == 1; }));
}

TEST_F(ClientTest, ProbeDetectsV019AndCachesIt) {
  auto& fake = serve(testing::replyByType({{"ListImages", {kUnknownListImages}}}));
  auto& c = client();
  auto protocol = runTask(io_, c.probe());
  ASSERT_TRUE(protocol && *protocol);
  EXPECT_EQ(**protocol, Protocol::V019);
  auto images = runTask(io_, c.listImages());
  ASSERT_TRUE(images);
  ASSERT_FALSE(*images);
  EXPECT_EQ(images->error().kind, ErrorKind::NotImplemented);
  EXPECT_EQ(fake.requests().size(), 1U) << "the cached answer needs no second request";
}

TEST_F(ClientTest, ProbeDetectsHeadAndListsImages) {
  serve(testing::replyByType(
      {{"ListImages", {R"({"type":"ImageList","images":["library/alpine:latest"]})"}}}));
  auto& c = client();
  auto protocol = runTask(io_, c.probe());
  ASSERT_TRUE(protocol && *protocol);
  EXPECT_EQ(**protocol, Protocol::Head);
  auto images = runTask(io_, c.listImages());
  ASSERT_TRUE(images && *images);
  EXPECT_EQ((*images)->at(0), "library/alpine:latest");
}

TEST_F(ClientTest, ProbeIsForgottenAfterReconnectFailure) {
  auto& fake = serve(testing::replyByType({{"ListImages", {kUnknownListImages}}}));
  auto& c = client();
  ASSERT_EQ(runTask(io_, c.probe()).value().value(), Protocol::V019);
  fake.closeAll();
  fake_.reset();  // the daemon is gone: the reconnect fails
  auto down = runTask(io_, c.list());
  ASSERT_TRUE(down);
  ASSERT_FALSE(*down);
  serve(testing::replyByType(
      {{"ListImages", {R"({"type":"ImageList","images":[]})"}}}));  // back, upgraded
  auto again = runTask(io_, c.probe());
  ASSERT_TRUE(again);
  ASSERT_TRUE(*again) << again->error().message;
  EXPECT_EQ(**again, Protocol::Head);
}

TEST_F(ClientTest, MalformedReplyIsAnErrorAndTheConnectionIsNotReused) {
  auto& fake = serve(testing::replyByType(
      {{"List", {"this is not json"}}, {"Stop", {R"({"type":"Success","message":"ok"})"}}}));
  auto& c = client();
  auto result = runTask(io_, c.list());
  ASSERT_TRUE(result);
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().kind, ErrorKind::Internal);
  EXPECT_EQ(result->error().message, "malformed reply from miniboxd");
  ASSERT_TRUE(runTask(io_, c.stop(kId)).value());
  EXPECT_EQ(fake.accepted(), 2U);
}

TEST_F(ClientTest, UnexpectedReplyTypeIsAnError) {
  serve(testing::replyByType({{"List", {R"({"type":"Success","message":"ok"})"}}}));
  auto result = runTask(io_, client().list());
  ASSERT_TRUE(result);
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().message, "unexpected reply from miniboxd");
}

TEST_F(ClientTest, OversizedReplyLineIsRefused) {
  std::string huge =
      R"({"type":"Success","message":")" + std::string(kMaxReplyLineBytes, 'x') + R"("})";
  serve(testing::replyByType({{"Stop", {huge}}}));
  auto result = runTask(io_, client().stop(kId), std::chrono::milliseconds(20000));
  ASSERT_TRUE(result);
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().kind, ErrorKind::Internal);
  EXPECT_EQ(client_->idleConnections(), 0U);
}

TEST_F(ClientTest, OversizedRequestIsRefusedBeforeSending) {
  auto& fake = serve(testing::replyByType({}));
  RunSpec spec{.image = "alpine", .command = {"/bin/true"}};
  spec.env.assign(1, std::string(kMaxRequestBytes, 'x'));
  auto result = runTask(io_, client().runDetached(spec));
  ASSERT_TRUE(result);
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().kind, ErrorKind::BadRequest);
  EXPECT_EQ(fake.accepted(), 0U);
}

}  // namespace
}  // namespace dockerbox::broker::minibox

#include "frontend/router.hpp"

#include "frontend/response.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <set>

namespace dockerbox::frontend {
namespace {

using namespace testing;
using ipc::wire::Request;

TEST(RouteTable, ListsEachServedRouteOnce) {
  std::set<std::pair<int, std::string>> seen;
  for (const Route& route : routeTable()) {
    EXPECT_TRUE(seen.emplace(static_cast<int>(route.method), std::string(route.pattern)).second)
        << route.pattern;
    EXPECT_NE(route.handler, nullptr);
  }
  EXPECT_TRUE(seen.contains({static_cast<int>(Method::Head), "/_ping"}));
  EXPECT_TRUE(seen.contains({static_cast<int>(Method::Get), "/containers/json"}));
}

TEST(Router, HeadPingAnswersLocallyWithDockerdsHeaders) {
  HttpResponse response = localResponse(get("/_ping", Method::Head));
  EXPECT_EQ(response.status, 200u);
  EXPECT_TRUE(response.body.empty());
  expectEngineHeaders(response);
  EXPECT_EQ(response.header("Builder-Version"), "1");
  EXPECT_EQ(response.header("Swarm"), "inactive");
  EXPECT_EQ(response.header("Cache-Control"), "no-cache, no-store, must-revalidate");
  EXPECT_EQ(response.header("Pragma"), "no-cache");
  EXPECT_EQ(response.header("Content-Type"), "text/plain; charset=utf-8");
}

TEST(Router, GetPingSaysOkUnderEveryPrefix) {
  for (const char* target : {"/_ping", "/v1.50/_ping", "/v1.24/_ping", "/v1.41/_ping"}) {
    HttpResponse response = localResponse(get(target));
    EXPECT_EQ(response.status, 200u) << target;
    EXPECT_EQ(response.body, "OK");
  }
}

TEST(Router, UnknownRoutesAndMethodsArePageNotFound) {
  for (auto request : {get("/nope"), get("/"), get("/containers"), get("/v1.50/containers/json/x"),
                       get("/version", Method::Head), get("/containers/json", Method::Post),
                       get("/_ping", Method::Delete), get("/_ping", Method::Other)}) {
    HttpResponse response = localResponse(request);
    EXPECT_EQ(response.status, 404u) << request.target;
    EXPECT_EQ(response.body, "{\"message\":\"page not found\"}\n");
    expectEngineHeaders(response);
  }
}

TEST(Router, NegotiationFailuresAreDockerShaped) {
  HttpResponse response = localResponse(get("/v1.51/containers/json"));
  EXPECT_EQ(response.status, 400u);
  EXPECT_EQ(jsonBody(response).at("message"),
            "client version 1.51 is too new. Maximum supported API version is 1.50");
  EXPECT_EQ(localResponse(get("/v1.12/info")).status, 400u);
  EXPECT_EQ(localResponse(get("/v1.x/info")).status, 404u);
  EXPECT_EQ(localResponse(get("/containers/../info")).status, 400u);
}

TEST(Router, BuildsTypedRequests) {
  auto version = brokerCall(get("/version"));
  EXPECT_EQ(requestOf(version).getOp().which(), Request::Op::VERSION);
  auto info = brokerCall(get("/v1.41/info"));
  EXPECT_EQ(requestOf(info).getOp().which(), Request::Op::INFO);
  EXPECT_EQ(info.version, (ApiVersion{1, 41}));
  auto images = brokerCall(get("/v1.50/images/json?all=1"));
  ASSERT_EQ(requestOf(images).getOp().which(), Request::Op::LIST_IMAGES);
  EXPECT_TRUE(requestOf(images).getOp().getListImages().getAll());
}

TEST(Router, ListContainersPassesAllAndLimit) {
  auto plain = brokerCall(get("/v1.50/containers/json"));
  ASSERT_EQ(requestOf(plain).getOp().which(), Request::Op::LIST_CONTAINERS);
  EXPECT_FALSE(requestOf(plain).getOp().getListContainers().getAll());
  EXPECT_EQ(requestOf(plain).getOp().getListContainers().getLimit(), 0);

  auto limited = brokerCall(get("/containers/json?all=1&limit=3&size=1"));
  EXPECT_TRUE(requestOf(limited).getOp().getListContainers().getAll());
  EXPECT_EQ(requestOf(limited).getOp().getListContainers().getLimit(), 3);
  EXPECT_EQ(requestOf(brokerCall(get("/containers/json?limit=-1"))).getOp().getListContainers().getLimit(), 0);
  EXPECT_EQ(requestOf(brokerCall(get("/containers/json?limit=99999999"))).getOp().getListContainers().getLimit(), 100000);
  EXPECT_EQ(localResponse(get("/containers/json?limit=abc")).status, 400u);
}

TEST(Router, StatusFilterListsStoppedContainersAndLimitIsAppliedLocally) {
  auto call = brokerCall(get(
      "/containers/json?limit=2&filters=%7B%22status%22%3A%7B%22exited%22%3Atrue%7D%7D"));
  EXPECT_TRUE(requestOf(call).getOp().getListContainers().getAll());
  EXPECT_EQ(requestOf(call).getOp().getListContainers().getLimit(), 0);
}

TEST(Router, RefusesBadAndUnsupportedFilters) {
  HttpResponse malformed = localResponse(get("/containers/json?filters=%7Bnot-json"));
  EXPECT_EQ(malformed.status, 400u);
  EXPECT_EQ(jsonBody(malformed).at("message"), "invalid filter");
  HttpResponse volume = localResponse(get("/containers/json?filters=%7B%22volume%22%3A%5B%22v%22%5D%7D"));
  EXPECT_EQ(volume.status, 400u);
  EXPECT_EQ(jsonBody(volume).at("message"), "filter volume is not supported yet");
  HttpResponse unknown = localResponse(get("/containers/json?filters=%7B%22color%22%3A%5B%22red%22%5D%7D"));
  EXPECT_EQ(jsonBody(unknown).at("message"), "invalid filter 'color'");
  HttpResponse images = localResponse(get("/images/json?filters=%7B%22color%22%3A%5B%22x%22%5D%7D"));
  EXPECT_EQ(images.status, 400u);
  EXPECT_EQ(jsonBody(images).at("message"), "invalid filter 'color'");
}

TEST(FinishCall, MapsEveryErrorKindToItsStatus) {
  using K = ipc::wire::ErrorKind;
  const std::pair<K, unsigned> cases[] = {
      {K::INTERNAL, 500},  {K::BAD_REQUEST, 400},    {K::NOT_FOUND, 404},
      {K::CONFLICT, 409},  {K::FORBIDDEN, 403},      {K::UNAVAILABLE, 503},
      {K::NOT_IMPLEMENTED, 501}, {K::NOT_MODIFIED, 304}};
  for (auto [kind, status] : cases) {
    auto call = brokerCall(get("/info"));
    ReplyBuilder reply;
    auto error = reply.response().getResult().initError();
    error.setKind(kind);
    error.setMessage("denied by policy: rule 7");
    HttpResponse response = finishCall(call, reply.reader(), RenderContext{});
    EXPECT_EQ(response.status, status);
    expectEngineHeaders(response);
    if (status == 304) {
      EXPECT_TRUE(response.body.empty());
    } else {
      EXPECT_EQ(jsonBody(response).at("message"), "denied by policy: rule 7");
    }
  }
}

TEST(FinishCall, UnknownEnumValuesAndWrongReplyTypesAre500) {
  auto call = brokerCall(get("/info"));
  ReplyBuilder outOfRange;
  outOfRange.response().getResult().initError().setKind(static_cast<ipc::wire::ErrorKind>(42));
  EXPECT_EQ(finishCall(call, outOfRange.reader(), RenderContext{}).status, 500u);

  ReplyBuilder wrongType;
  wrongType.response().getResult().initImageList();
  EXPECT_EQ(finishCall(call, wrongType.reader(), RenderContext{}).status, 500u);
}

TEST(Response, ErrorKindsMapAsDocumented) {
  EXPECT_EQ(httpStatusFor(ErrorKind::Unavailable), 503u);
  EXPECT_EQ(httpStatusFor(ErrorKind::NotImplemented), 501u);
  EXPECT_EQ(httpStatusFor(ErrorKind::Forbidden), 403u);
}

}  // namespace
}  // namespace dockerbox::frontend

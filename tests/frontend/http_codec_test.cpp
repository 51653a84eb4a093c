#include "frontend/http_codec.hpp"

#include "frontend/limits.hpp"

#include <gtest/gtest.h>

namespace dockerbox::frontend {
namespace {

TEST(HttpCodec, ParsesARealCliRequest) {
  auto parsed = parseRequestBytes(
      "HEAD /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: Docker-Client/28.2.2 "
      "(linux)\r\n\r\n");
  ASSERT_TRUE(parsed.request);
  EXPECT_EQ(parsed.request->method, Method::Head);
  EXPECT_EQ(parsed.request->target, "/_ping");
  EXPECT_EQ(parsed.request->header("user-agent"), "Docker-Client/28.2.2 (linux)");
  EXPECT_TRUE(parsed.request->keepAlive);
}

TEST(HttpCodec, DecodesChunkedBodies) {
  auto parsed = parseRequestBytes(
      "POST /build HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_TRUE(parsed.request);
  EXPECT_EQ(parsed.request->body, "hello world");
}

TEST(HttpCodec, OversizedHeadIs431) {
  std::string request = "GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: " +
                        std::string(kMaxHeaderBytes, 'a') + "\r\n\r\n";
  auto parsed = parseRequestBytes(request);
  ASSERT_TRUE(parsed.refusal);
  EXPECT_EQ(parsed.refusal->status, 431u);
  EXPECT_TRUE(parsed.refusal->closeAfter);
  EXPECT_EQ(parsed.refusal->header("Api-Version"), "1.50");
}

TEST(HttpCodec, OversizedBodyIs413WhetherAnnouncedOrChunked) {
  auto announced = parseRequestBytes("POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                     std::to_string(kMaxBodyBytes + 1) + "\r\n\r\n");
  ASSERT_TRUE(announced.refusal);
  EXPECT_EQ(announced.refusal->status, 413u);
  EXPECT_NE(announced.refusal->body.find("request body too large"), std::string::npos);

  std::string chunked = "POST /build HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string chunk(64 * 1024, 'z');
  for (std::uint64_t sent = 0; sent <= kMaxBodyBytes; sent += chunk.size()) {
    chunked += "10000\r\n" + chunk + "\r\n";
  }
  chunked += "0\r\n\r\n";
  auto streamed = parseRequestBytes(chunked);
  ASSERT_TRUE(streamed.refusal);
  EXPECT_EQ(streamed.refusal->status, 413u);
}

TEST(HttpCodec, MalformedRequestsAre400) {
  for (const char* bytes : {"GARBAGE\r\n\r\n", "GET /_ping HTTP/9.9\r\n\r\n",
                            "GET /_ping HTTP/1.1\r\nBad Header\r\n\r\n",
                            "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
                            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    auto parsed = parseRequestBytes(bytes);
    ASSERT_TRUE(parsed.refusal) << bytes;
    EXPECT_EQ(parsed.refusal->status, 400u) << bytes;
  }
}

TEST(HttpCodec, HeadResponsesCarryNoBody) {
  HttpResponse response;
  response.body = "OK";
  auto wire = toBeast(std::move(response), true, true);
  EXPECT_TRUE(wire.body().empty());
  EXPECT_TRUE(wire.keep_alive());
}

}  // namespace
}  // namespace dockerbox::frontend

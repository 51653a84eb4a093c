// GET /images/json with filters, through the router and the renderer, as the docker CLI
// and the SDKs send them. No sockets: the broker's reply is built in memory.
#include "frontend/handlers.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

namespace dockerbox::frontend {
namespace {

using namespace testing;
namespace json = boost::json;

std::string percentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string imagesWith(std::string_view filtersJson) {
  return "/v1.50/images/json?filters=" + percentEncode(filtersJson);
}

struct Image {
  std::string id;
  std::vector<std::string> tags;
};

/// The broker's reply: one entry per miniboxd image, as handleListImages builds it.
void fillImages(ReplyBuilder& reply, const std::vector<Image>& images) {
  auto list = reply.response().getResult().initImageList().initImages(static_cast<unsigned>(images.size()));
  for (unsigned i = 0; i < images.size(); ++i) {
    list[i].setId("sha256:" + std::string(64, images[i].id.at(0)));
    auto tags = list[i].initRepoTags(static_cast<unsigned>(images[i].tags.size()));
    for (unsigned j = 0; j < images[i].tags.size(); ++j) tags.set(j, images[i].tags[j]);
  }
}

const std::vector<Image> kStore{
    {"a", {"alpine:latest"}},
    {"b", {"alpine:3.19"}},
    {"c", {"busybox:latest"}},
    {"d", {"ghcr.io/org/tool:1"}},
    {"e", {"me/alpine-tools:2", "me/app:1"}},
};

/// The RepoTags of each image listed for `target`, in order.
std::vector<std::vector<std::string>> listed(const std::string& target) {
  auto call = brokerCall(get(target));
  ReplyBuilder reply;
  fillImages(reply, kStore);
  HttpResponse response = finishCall(call, reply.reader(), RenderContext{});
  EXPECT_EQ(response.status, 200u) << target;
  std::vector<std::vector<std::string>> out;
  const json::value body = jsonBody(response);  // kept: the loop below reads into it
  for (const auto& item : body.as_array()) {
    std::vector<std::string> tags;
    for (const auto& tag : item.at("RepoTags").as_array()) tags.emplace_back(tag.as_string());
    out.push_back(std::move(tags));
  }
  return out;
}

using Listing = std::vector<std::vector<std::string>>;

TEST(ListImagesFilters, NoFilterListsEverything) {
  EXPECT_EQ(listed("/images/json").size(), kStore.size());
  EXPECT_EQ(listed(imagesWith("{}")).size(), kStore.size());
}

TEST(ListImagesFilters, DockerImagesNameSendsAReferenceFilter) {
  // `docker images alpine` (CLI map form), then the list form of docker-py.
  const Listing alpine{{"alpine:latest"}, {"alpine:3.19"}};
  EXPECT_EQ(listed(imagesWith(R"({"reference":{"alpine":true}})")), alpine);
  EXPECT_EQ(listed(imagesWith(R"({"reference":["alpine"]})")), alpine);
  EXPECT_EQ(listed(imagesWith(R"({"reference":{"alpine:3.19":true}})")), (Listing{{"alpine:3.19"}}));
  EXPECT_EQ(listed(imagesWith(R"({"reference":{"nginx":true}})")), Listing{});
}

TEST(ListImagesFilters, Api124ClientsSendTheNameAsFilter) {
  const Listing alpine{{"alpine:latest"}, {"alpine:3.19"}};
  EXPECT_EQ(listed("/v1.24/images/json?filter=alpine"), alpine);
  EXPECT_EQ(listed("/v1.24/images/json?filter=alp%2A"), alpine);
  // A reference in `filters` wins, and newer versions ignore the old parameter (dockerd).
  EXPECT_EQ(listed("/v1.24/images/json?filter=alpine&filters=" +
                   percentEncode(R"({"reference":["busybox"]})")),
            (Listing{{"busybox:latest"}}));
  EXPECT_EQ(listed("/v1.25/images/json?filter=alpine").size(), kStore.size());
  EXPECT_EQ(listed("/images/json?filter=alpine").size(), kStore.size());
}

TEST(ListImagesFilters, ReferenceGlobsAndAlternatives) {
  EXPECT_EQ(listed(imagesWith(R"({"reference":{"alp*":true}})")),
            (Listing{{"alpine:latest"}, {"alpine:3.19"}}));
  EXPECT_EQ(listed(imagesWith(R"({"reference":{"*:latest":true}})")),
            (Listing{{"alpine:latest"}, {"busybox:latest"}}));
  EXPECT_EQ(listed(imagesWith(R"({"reference":{"busybox":true,"ghcr.io/*/*":true}})")),
            (Listing{{"busybox:latest"}, {"ghcr.io/org/tool:1"}}));
  // Of an image's tags, only those that match are shown (dockerd does the same).
  EXPECT_EQ(listed(imagesWith(R"({"reference":{"me/app":true}})")), (Listing{{"me/app:1"}}));
  EXPECT_EQ(listed(imagesWith(R"({"reference":{"me/*":true}})")),
            (Listing{{"me/alpine-tools:2", "me/app:1"}}));
}

TEST(ListImagesFilters, DanglingAndLabels) {
  EXPECT_EQ(listed(imagesWith(R"({"dangling":{"true":true}})")), Listing{});
  EXPECT_EQ(listed(imagesWith(R"({"dangling":{"false":true}})")).size(), kStore.size());
  EXPECT_EQ(listed(imagesWith(R"({"label":{"maintainer":true}})")), Listing{});
  EXPECT_EQ(listed(imagesWith(R"({"label":{"a=b":true}})")), Listing{});
  EXPECT_EQ(listed(imagesWith(R"({"label!":{"maintainer":true}})")).size(), kStore.size());
  EXPECT_EQ(listed(imagesWith(R"({"dangling":["false"],"reference":["busybox"]})")),
            (Listing{{"busybox:latest"}}));
}

TEST(ListImagesFilters, BadFiltersAnswerWithoutAskingTheBroker) {
  struct Case {
    const char* filters;
    unsigned status;
    const char* message;
  };
  const Case cases[] = {
      {R"({"color":{"red":true}})", 400, "invalid filter 'color'"},
      {R"({"dangling":{"yes":true}})", 400, "invalid filter 'dangling=[yes]'"},
      {R"({"reference":{"alpine[":true}})", 400,
       "invalid filter 'reference=alpine[': syntax error in pattern"},
      {R"({"before":{"alpine":true}})", 501,
       "the before filter is not supported by dockerbox: miniboxd reports no image creation "
       "times to compare"},
      {R"({"since":["alpine"]})", 501,
       "the since filter is not supported by dockerbox: miniboxd reports no image creation "
       "times to compare"},
      {"{not json", 400, "invalid filter"},
  };
  for (const auto& c : cases) {
    HttpResponse response = localResponse(get(imagesWith(c.filters)));
    EXPECT_EQ(response.status, c.status) << c.filters;
    EXPECT_EQ(jsonBody(response).at("message"), c.message) << c.filters;
    expectEngineHeaders(response);
  }
}

TEST(ListImagesFilters, BrokerErrorsStillPassThrough) {
  auto call = brokerCall(get(imagesWith(R"({"reference":{"alpine":true}})")));
  ReplyBuilder reply;
  auto error = reply.response().getResult().initError();
  error.setKind(ipc::wire::ErrorKind::NOT_IMPLEMENTED);
  error.setMessage("miniboxd v0.19 cannot list images");
  HttpResponse response = finishCall(call, reply.reader(), RenderContext{});
  EXPECT_EQ(response.status, 501u);
  EXPECT_EQ(jsonBody(response).at("message"), "miniboxd v0.19 cannot list images");
}

}  // namespace
}  // namespace dockerbox::frontend

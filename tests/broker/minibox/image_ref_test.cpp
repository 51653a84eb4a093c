#include "broker/minibox/image_ref.hpp"

#include <gtest/gtest.h>

namespace dockerbox::broker::minibox {
namespace {

struct Case {
  const char* reference;
  const char* registry;
  const char* path;
  const char* tag;
  const char* wire;
  const char* store;
  const char* docker;
};

TEST(ImageRef, ParsesAndNormalises) {
  const Case cases[] = {
      {"alpine", "docker.io", "library/alpine", "latest", "alpine", "library/alpine:latest",
       "alpine:latest"},
      {"alpine:3.19", "docker.io", "library/alpine", "3.19", "alpine", "library/alpine:3.19",
       "alpine:3.19"},
      {"library/alpine:latest", "docker.io", "library/alpine", "latest", "alpine",
       "library/alpine:latest", "alpine:latest"},
      {"docker.io/library/nginx:stable", "docker.io", "library/nginx", "stable", "nginx",
       "library/nginx:stable", "nginx:stable"},
      {"me/app:1", "docker.io", "me/app", "1", "me/app", "me/app:1", "me/app:1"},
      {"ghcr.io/org/x:1", "ghcr.io", "org/x", "1", "ghcr.io/org/x", "ghcr.io/org/x:1",
       "ghcr.io/org/x:1"},
      {"localhost:5000/org/x", "localhost:5000", "org/x", "latest", "localhost:5000/org/x",
       "localhost:5000/org/x:latest", "localhost:5000/org/x:latest"},
      {"localhost/org/x:v1.2_3-rc", "localhost", "org/x", "v1.2_3-rc", "localhost/org/x",
       "localhost/org/x:v1.2_3-rc", "localhost/org/x:v1.2_3-rc"},
      {"my_app/sub-dir/x.v2", "docker.io", "my_app/sub-dir/x.v2", "latest", "my_app/sub-dir/x.v2",
       "my_app/sub-dir/x.v2:latest", "my_app/sub-dir/x.v2:latest"},
  };
  for (const Case& c : cases) {
    auto ref = ImageRef::parse(c.reference);
    ASSERT_TRUE(ref) << c.reference << ": " << ref.error().message;
    EXPECT_EQ(ref->registry(), c.registry) << c.reference;
    EXPECT_EQ(ref->path(), c.path) << c.reference;
    EXPECT_EQ(ref->tag(), c.tag) << c.reference;
    EXPECT_EQ(ref->wireRepository(), c.wire) << c.reference;
    EXPECT_EQ(ref->storeName(), c.store) << c.reference;
    EXPECT_EQ(ref->dockerName(), c.docker) << c.reference;
  }
}

TEST(ImageRef, RefusesWhatMiniboxdCannotUse) {
  const char* bad[] = {
      "",
      "alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "Alpine",
      "alpine:",
      ":latest",
      "alpine:-x",
      "alpine:a b",
      "/alpine",
      "alpine/",
      "a//b",
      "ghcr.io/x",    // another registry needs org/name
      "my_app.v2/x",  // a first component with a dot is a registry, and `_` is not a host
      "-alpine",
      "alpine\n:latest",
  };
  for (const char* reference : bad) {
    auto ref = ImageRef::parse(reference);
    ASSERT_FALSE(ref) << "accepted: " << reference;
    EXPECT_EQ(ref.error().kind, ErrorKind::BadRequest);
  }
  EXPECT_FALSE(ImageRef::parse(std::string(600, 'a')));
  EXPECT_FALSE(ImageRef::parse("alpine:" + std::string(129, 't')));
}

TEST(ImageRef, DockerNameFromStoreName) {
  EXPECT_EQ(dockerNameFromStore("library/alpine:latest"), "alpine:latest");
  EXPECT_EQ(dockerNameFromStore("me/app:1"), "me/app:1");
  EXPECT_EQ(dockerNameFromStore("ghcr.io/org/image:stable"), "ghcr.io/org/image:stable");
  EXPECT_EQ(dockerNameFromStore("Weird Name:1"), "Weird Name:1");  // unparsable: unchanged
}

}  // namespace
}  // namespace dockerbox::broker::minibox

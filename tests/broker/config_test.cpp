#include "broker/config.hpp"

#include "broker/peer.hpp"

#include <gtest/gtest.h>

namespace dockerbox::broker {
namespace {

TEST(SocketMode, AcceptsOctalPermissionBits) {
  EXPECT_EQ(*parseSocketMode("0660"), 0660u);
  EXPECT_EQ(*parseSocketMode("660"), 0660u);
  EXPECT_EQ(*parseSocketMode("0o600"), 0600u);
  EXPECT_EQ(*parseSocketMode("0777"), 0777u);
}

TEST(SocketMode, RefusesAnythingElse) {
  for (const char* bad : {"", "abc", "0888", "1777", "4755", "06600", "-1", "0x1ff", " 0660", "066 0"}) {
    EXPECT_FALSE(parseSocketMode(bad)) << bad;
  }
}

TEST(Admission, RootIsAlwaysAdmitted) {
  Identity root{0, 0, 1, {}, std::nullopt};
  EXPECT_EQ(admit(root, std::nullopt), Admission::Admitted);
  EXPECT_EQ(admit(root, 1234), Admission::Admitted);
}

TEST(Admission, OthersNeedTheSocketGroup) {
  Identity user{1000, 1000, 1, {1000, 27}, std::nullopt};
  EXPECT_EQ(admit(user, std::nullopt), Admission::Refused);
  EXPECT_EQ(admit(user, 1234), Admission::Refused);
  EXPECT_EQ(admit(user, 27), Admission::Admitted);    // supplementary
  EXPECT_EQ(admit(user, 1000), Admission::Admitted);  // primary
}

}  // namespace
}  // namespace dockerbox::broker

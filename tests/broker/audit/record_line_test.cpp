// Tests broker/audit/record_line: every kind formats and parses back, and the parser
// refuses lines whose own hash is right but whose content breaks the format.
#include "broker/audit/record_line.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "audit_test_support.hpp"
#include "broker/audit/limits.hpp"
#include "broker/audit/sha256.hpp"

namespace dockerbox::broker::audit {
namespace {

LineHeader header(std::uint64_t seq) {
  return LineHeader{seq, std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)),
                    kZeroHash};
}

/// Gives `body` (a line without its hash member) a correct hash member.
std::string withHash(const std::string& body) {
  return body + ",\"hash\":\"" + sha256Hex(body) + "\"}";
}

/// The line without its hash member, for editing.
std::string bodyOf(const std::string& line) { return line.substr(0, line.rfind(",\"hash\":\"")); }

TEST(RecordLine, EveryKindRoundTrips) {
  auto request = formatRequest(header(1), testing::sampleRequest(2));
  auto outcome = formatOutcome(
      header(2), 1, OutcomeRecord::fromError(Error::make(ErrorKind::NotFound, "no such")));
  auto ok = formatOutcome(header(3), 1, OutcomeRecord::ok());
  auto reload =
      formatPolicyReload(header(4), PolicyReloadEvent{ReloadResult::Failed, "/p.toml", "3:7: bad"});
  auto rotation = formatRotation(header(5), RotationReason::Size);
  auto brk = formatChainBreak(header(6), "audit.log: torn");
  std::pair<std::string, RecordKind> cases[] = {
      {request, RecordKind::Request},   {outcome, RecordKind::Outcome},
      {ok, RecordKind::Outcome},        {reload, RecordKind::PolicyReload},
      {rotation, RecordKind::Rotation}, {brk, RecordKind::ChainBreak},
  };
  std::uint64_t seq = 1;
  for (const auto& [line, kind] : cases) {
    auto parsed = parseLine(line);
    ASSERT_TRUE(parsed) << parsed.error().message << "\n" << line;
    EXPECT_EQ(parsed->kind, kind);
    EXPECT_EQ(parsed->seq, seq++);
    EXPECT_EQ(parsed->prev, kZeroHash);
    EXPECT_EQ(parsed->lineHash, sha256Hex(line));
  }
  EXPECT_EQ(parseLine(outcome)->ref, 1u);
}

TEST(RecordLine, RequestRecordsEveryFieldAndNothingElse) {
  RequestRecord r = testing::sampleRequest(0);
  r.objects.push_back(ObjectRef{"image", "sha256:abc", "alpine:3"});
  r.wouldDeny = true;
  auto v = boost::json::parse(formatRequest(header(1), r)).as_object();
  EXPECT_EQ(v.at("kind").as_string(), "request");
  EXPECT_EQ(v.at("uid").to_number<std::uint64_t>(), 1000u);
  EXPECT_EQ(v.at("groups").as_array().size(), 2u);
  EXPECT_EQ(v.at("loginuid").to_number<std::uint64_t>(), 1000u);
  EXPECT_EQ(v.at("operation").as_string(), "containers.create");
  EXPECT_EQ(v.at("objects").as_array().at(1).as_object().at("name").as_string(), "alpine:3");
  EXPECT_EQ(v.at("decision").as_string(), "deny");
  EXPECT_EQ(v.at("would_deny").as_bool(), true);
  EXPECT_EQ(v.at("rule").as_string(), "no-privileged");
  EXPECT_EQ(v.size(), 17u);  // v seq time kind, 11 request members, prev hash: nothing else
  r.loginuid.reset();
  auto noLogin = boost::json::parse(formatRequest(header(1), r)).as_object();
  EXPECT_TRUE(noLogin.at("loginuid").is_null());
}

TEST(RecordLine, TooManyObjectsAreCounted) {
  RequestRecord r = testing::sampleRequest(1);
  r.objects.assign(kMaxObjects + 3, ObjectRef{"container", "id", "name"});
  std::string line = formatRequest(header(1), r);
  ASSERT_TRUE(parseLine(line)) << parseLine(line).error().message;
  auto v = boost::json::parse(line).as_object();
  EXPECT_EQ(v.at("objects").as_array().size(), kMaxObjects);
  EXPECT_EQ(v.at("objects_omitted").to_number<std::uint64_t>(), 3u);
}

TEST(RecordLine, RefusesBrokenContentEvenWithACorrectHash) {
  std::string good = bodyOf(formatRequest(header(1), testing::sampleRequest(1)));
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  const std::string bodies[] = {
      replace("\"v\":1", "\"v\":2"),
      replace("\"seq\":1", "\"seq\":0"),
      replace("\"seq\":1", "\"seq\":1.0"),
      replace("\"seq\":1", "\"seq\":-1"),
      replace("\"kind\":\"request\"", "\"kind\":\"other\""),
      replace("\"uid\":1001", "\"uid\":4294967296"),
      replace("\"uid\":1001", "\"uid\":\"1001\""),
      replace("\"decision\":\"allow\"", "\"decision\":\"maybe\""),
      replace("\"would_deny\":false", "\"would_deny\":0"),
      replace("\"groups\":[1000,27]", "\"groups\":[1000,-27]"),
      replace("\"loginuid\":null", "\"loginuid\":\"root\""),
      replace("\"rule\":", "\"extra\":1,\"rule\":"),
      replace(",\"rule\":\"group-users\"", ""),
      replace("\"objects\":[", "\"objects\":[[[[1]]],"),
      replace("\"time\":\"2027", "\"time\":\"27"),
      replace("\"prev\":\"0", "\"prev\":\"A"),
      replace("containers.list", "containers.l\xc3\xa9st"),
      replace("containers.list", "containers\tlist"),
      "{}",
      "[]",
      "{\"v\":1",
  };
  for (const auto& body : bodies) {
    auto parsed = parseLine(withHash(body));
    EXPECT_FALSE(parsed) << body;
  }
  EXPECT_TRUE(parseLine(withHash(good)));
}

TEST(RecordLine, OutcomesCarryWhatTheRequestResolvedTo) {
  OutcomeRecord r = OutcomeRecord::ok();
  r.objects.push_back(ObjectRef{"container", std::string(64, 'a'), "web"});
  auto line = formatOutcome(header(2), 1, r);
  auto v = boost::json::parse(line).as_object();
  ASSERT_TRUE(v.contains("objects"));
  EXPECT_EQ(v.at("objects").as_array().at(0).as_object().at("id").as_string(), std::string(64, 'a'));
  EXPECT_TRUE(parseLine(line)) << line;
  // Without objects the member is left out (and older logs, which never had it, still parse).
  EXPECT_FALSE(boost::json::parse(formatOutcome(header(2), 1, OutcomeRecord::ok())).as_object().contains("objects"));
  // A malformed entry is refused.
  std::string s = bodyOf(line);
  s.replace(s.find("\"name\":\"web\""), 12, "\"nome\":\"web\"");
  EXPECT_FALSE(parseLine(withHash(s)));
}

TEST(RecordLine, ErrorKindMustMatchOutcome) {
  std::string ok = bodyOf(formatOutcome(header(2), 1, OutcomeRecord::ok()));
  std::string s = ok;
  s.replace(s.find("\"error_kind\":null"), 17, "\"error_kind\":\"internal\"");
  EXPECT_FALSE(parseLine(withHash(s)));
  std::string err = bodyOf(
      formatOutcome(header(2), 1, OutcomeRecord::fromError(Error::make(ErrorKind::Conflict, "x"))));
  s = err;
  s.replace(s.find("\"conflict\""), 10, "\"teapot\"");
  EXPECT_FALSE(parseLine(withHash(s)));
  for (auto kind : {ErrorKind::Internal, ErrorKind::BadRequest, ErrorKind::NotFound,
                    ErrorKind::Conflict, ErrorKind::Forbidden, ErrorKind::Unavailable,
                    ErrorKind::NotImplemented, ErrorKind::NotModified}) {
    EXPECT_TRUE(
        parseLine(formatOutcome(header(2), 1, OutcomeRecord::fromError(Error::make(kind, "m")))))
        << toString(kind);
  }
}

}  // namespace
}  // namespace dockerbox::broker::audit

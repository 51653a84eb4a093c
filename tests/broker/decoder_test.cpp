// The broker's one door, attacked the way a hostile worker would: truncated and oversized
// frames, unknown union tags, out-of-range enums, oversized chunks, garbage.
#include "broker/decoder.hpp"

#include "broker/containers/config_blob.hpp"
#include "broker/dispatch.hpp"
#include "broker/limits.hpp"
#include "ipc/dockerbox.capnp.h"
#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include <capnp/any.h>
#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <string>

namespace dockerbox::broker {
namespace {

namespace wire = ipc::wire;

std::vector<std::byte> frameOf(capnp::MessageBuilder& message) { return ipc::encodeFrame(message); }

Result<WorkerMessage> decodeBytes(const std::vector<std::byte>& bytes) {
  ipc::FrameDecoder decoder(ipc::kMaxWorkerFrameBytes);
  auto fed = decoder.feed(bytes);
  if (!fed) return fed.error();
  auto frame = decoder.next();
  if (!frame) return frame.error();
  if (!*frame) return fail(ErrorKind::BadRequest, "incomplete");
  return decodeWorkerMessage(frame->value().asPtr());
}

// Writes a 16-bit value into a struct's data section at `offset16` (in 16-bit units), the
// way a forged frame would carry a discriminant or enum the schema does not define.
void poke16(capnp::AnyStruct::Builder any, uint32_t offset16, uint16_t value) {
  auto data = any.getDataSection();
  ASSERT_LE((offset16 + 1) * 2, data.size());
  std::memcpy(data.begin() + offset16 * 2, &value, 2);
}

TEST(Decoder, AcceptsAValidListRequest) {
  capnp::MallocMessageBuilder message;
  auto req = message.initRoot<wire::WorkerMessage>().initRequest();
  req.setId(7);
  auto list = req.initOp().initListContainers();
  list.setAll(true);
  list.setLimit(3);
  auto decoded = decodeBytes(frameOf(message));
  ASSERT_TRUE(decoded) << decoded.error().context;
  auto* r = std::get_if<ValidatedRequest>(&*decoded);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->id, 7u);
  auto* op = std::get_if<ListContainersOp>(&r->op);
  ASSERT_NE(op, nullptr);
  EXPECT_TRUE(op->all);
  EXPECT_EQ(op->limit, 3u);
}

TEST(Decoder, RefusesOutOfRangeLimit) {
  for (int32_t limit : {-2, 100001, INT32_MIN, INT32_MAX}) {
    capnp::MallocMessageBuilder message;
    message.initRoot<wire::WorkerMessage>().initRequest().initOp().initListContainers().setLimit(limit);
    EXPECT_FALSE(decodeBytes(frameOf(message))) << limit;
  }
}

TEST(Decoder, RefusesUnknownOperationTag) {
  capnp::MallocMessageBuilder message;
  auto req = message.initRoot<wire::WorkerMessage>().initRequest();
  req.initOp().initInfo();
  auto opSchema = capnp::Schema::from<wire::Request::Op>().getProto().getStruct();
  poke16(capnp::AnyStruct::Builder(kj::mv(req)), opSchema.getDiscriminantOffset(), 0x7fff);
  auto decoded = decodeBytes(frameOf(message));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().kind, ErrorKind::BadRequest);
}

TEST(Decoder, RefusesUnknownMessageTag) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<wire::WorkerMessage>();
  root.setCancel(1);
  auto schema = capnp::Schema::from<wire::WorkerMessage>().getProto().getStruct();
  poke16(capnp::AnyStruct::Builder(kj::mv(root)), schema.getDiscriminantOffset(), 9);
  EXPECT_FALSE(decodeBytes(frameOf(message)));
}

TEST(Decoder, RefusesOutOfRangeEnum) {
  capnp::MallocMessageBuilder message;
  auto chunk = message.initRoot<wire::WorkerMessage>().initStreamInput();
  chunk.setKind(wire::StreamKind::STDIN);
  auto kindField = capnp::Schema::from<wire::StreamChunk>().getFieldByName("kind");
  poke16(capnp::AnyStruct::Builder(kj::mv(chunk)), kindField.getProto().getSlot().getOffset(), 77);
  EXPECT_FALSE(decodeBytes(frameOf(message)));
}

TEST(Decoder, RefusesOversizedChunk) {
  capnp::MallocMessageBuilder message;
  auto chunk = message.initRoot<wire::WorkerMessage>().initStreamInput();
  chunk.setKind(wire::StreamKind::STDIN);
  chunk.initData(ipc::kMaxChunkBytes + 1);
  EXPECT_FALSE(decodeBytes(frameOf(message)));
}

TEST(Decoder, RefusesOversizedFrameBeforeAllocating) {
  // A segment table announcing 1 GiB: refused from the 8-byte prefix alone.
  std::vector<std::byte> bytes(8);
  uint32_t zero = 0, words = 1u << 27;
  std::memcpy(bytes.data(), &zero, 4);
  std::memcpy(bytes.data() + 4, &words, 4);
  ipc::FrameDecoder decoder(ipc::kMaxWorkerFrameBytes);
  EXPECT_FALSE(decoder.feed(bytes));
}

TEST(Decoder, RefusesTooManySegments) {
  std::vector<std::byte> bytes(8);
  uint32_t count = 1000;
  std::memcpy(bytes.data(), &count, 4);
  ipc::FrameDecoder decoder(ipc::kMaxWorkerFrameBytes);
  EXPECT_FALSE(decoder.feed(bytes));
}

TEST(Decoder, TruncatedFrameIsIncompleteNotDecoded) {
  capnp::MallocMessageBuilder message;
  message.initRoot<wire::WorkerMessage>().initRequest().initOp().initInfo();
  auto bytes = frameOf(message);
  bytes.resize(bytes.size() - 8);
  ipc::FrameDecoder decoder(ipc::kMaxWorkerFrameBytes);
  ASSERT_TRUE(decoder.feed(bytes));
  auto frame = decoder.next();
  ASSERT_TRUE(frame);
  EXPECT_FALSE(frame->has_value());
  EXPECT_NE(decoder.pending(), 0u);
}

TEST(Decoder, GarbagePointersAreRefused) {
  // One segment of 2 words whose root pointer points far outside the segment.
  std::vector<std::byte> bytes(24);
  uint32_t zero = 0, two = 2;
  std::memcpy(bytes.data(), &zero, 4);
  std::memcpy(bytes.data() + 4, &two, 4);
  uint64_t pointer = (uint64_t{0x7ffffff0} << 2) | (uint64_t{1} << 32) | (uint64_t{1} << 48);
  std::memcpy(bytes.data() + 8, &pointer, 8);
  auto decoded = decodeBytes(bytes);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().kind, ErrorKind::BadRequest);
}

// A create request as a (possibly hostile) worker would frame it; `fill` sets the fields a
// test cares about on top of a minimal valid config.
template <class Fill>
Result<WorkerMessage> decodeCreate(Fill&& fill) {
  capnp::MallocMessageBuilder message;
  auto req = message.initRoot<wire::WorkerMessage>().initRequest();
  req.setId(42);
  auto config = req.initOp().initCreateContainer();
  config.setImage("alpine");
  fill(config);
  return decodeBytes(frameOf(message));
}

void setUlimit(wire::Ulimit::Builder out, const char* name, int64_t soft, int64_t hard) {
  out.setName(name);
  out.setSoft(soft);
  out.setHard(hard);
}

// The message a rejected create answers with, or "" when the frame was accepted or refused
// as malformed (which `decoded` tells apart).
std::string rejection(const Result<WorkerMessage>& decoded) {
  if (!decoded) return "";
  auto* r = std::get_if<RejectedRequest>(&*decoded);
  return r == nullptr ? "" : r->error.message;
}

TEST(DecoderCreate, CarriesTheSecuritySettingsIntoTheSpecAndTheStoredConfig) {
  auto decoded = decodeCreate([](wire::ContainerConfig::Builder config) {
    config.setUser("1000:1000");
    config.setHostname("box");
    auto host = config.initHost();
    host.initCapAdd(1).set(0, "NET_ADMIN");
    host.initCapDrop(1).set(0, "ALL");
    host.initSecurityOpt(1).set(0, "no-new-privileges");
    host.setReadonlyRootfs(true);
    host.setHasInit(true);
    host.setInit(false);
    auto ulimits = host.initUlimits(3);
    setUlimit(ulimits[0], "nofile", 1024, 2048);
    setUlimit(ulimits[1], "core", -1, -1);
    setUlimit(ulimits[2], "nproc", 100, -1);
  });
  ASSERT_TRUE(decoded) << decoded.error().context;
  auto* v = std::get_if<ValidatedRequest>(&*decoded);
  ASSERT_NE(v, nullptr) << rejection(decoded);
  auto* op = std::get_if<CreateContainerOp>(&v->op);
  ASSERT_NE(op, nullptr);
  const ContainerSpec& spec = op->spec;
  EXPECT_EQ(spec.user, "1000:1000");
  EXPECT_EQ(spec.hostname, "box");
  EXPECT_EQ(spec.host.capAdd, std::vector<std::string>{"NET_ADMIN"});
  EXPECT_EQ(spec.host.capDrop, std::vector<std::string>{"ALL"});
  EXPECT_EQ(spec.host.securityOpt, std::vector<std::string>{"no-new-privileges"});
  EXPECT_TRUE(spec.host.readonlyRootfs);
  EXPECT_EQ(spec.host.init, std::optional<bool>(false));
  ASSERT_EQ(spec.host.ulimits.size(), 3u);
  EXPECT_EQ(spec.host.ulimits[0].name, "nofile");
  EXPECT_EQ(spec.host.ulimits[0].soft, 1024);
  EXPECT_EQ(spec.host.ulimits[0].hard, 2048);
  EXPECT_EQ(spec.host.ulimits[1].soft, -1);
  EXPECT_EQ(spec.host.ulimits[2].hard, -1);

  // start reads the same settings back from the stored canonical config.
  auto run = containers::readRunConfig(containers::blobFromWords(op->canonicalConfig));
  ASSERT_TRUE(run) << run.error().context;
  EXPECT_EQ(run->user, "1000:1000");
  EXPECT_EQ(run->hostname, "box");
  EXPECT_EQ(run->capAdd, std::vector<std::string>{"NET_ADMIN"});
  EXPECT_EQ(run->capDrop, std::vector<std::string>{"ALL"});
  EXPECT_EQ(run->securityOpt, std::vector<std::string>{"no-new-privileges"});
  EXPECT_TRUE(run->readonlyRootfs);
  ASSERT_EQ(run->ulimits.size(), 3u);
  EXPECT_EQ(run->ulimits[0].name, "nofile");
  EXPECT_EQ(run->ulimits[0].soft, 1024);
  EXPECT_EQ(run->ulimits[0].hard, 2048);
  EXPECT_EQ(run->ulimits[1].name, "core");
  EXPECT_EQ(run->ulimits[1].soft, -1);
}

TEST(DecoderCreate, InitIsAbsentUnlessGiven) {
  auto decoded = decodeCreate([](wire::ContainerConfig::Builder) {});
  ASSERT_TRUE(decoded);
  auto* v = std::get_if<ValidatedRequest>(&*decoded);
  ASSERT_NE(v, nullptr) << rejection(decoded);
  const auto& host = std::get<CreateContainerOp>(v->op).spec.host;
  EXPECT_FALSE(host.init.has_value());
  EXPECT_TRUE(host.ulimits.empty());
  // A value the frame itself says is absent only comes from a forged frame.
  auto forged = decodeCreate([](wire::ContainerConfig::Builder config) { config.initHost().setInit(true); });
  EXPECT_FALSE(forged);
}

// The worker checks all of this too; the broker must not rely on it (style.md §4).
TEST(DecoderCreate, RechecksEveryUlimit) {
  struct Case {
    const char* name;
    int64_t soft, hard;
    std::string_view message;  // the 400 the client gets
  };
  const Case cases[] = {
      {"as", 1, 1, "invalid ulimit type: as"},
      {"NOFILE", 1, 1, "invalid ulimit type: NOFILE"},
      {"", 1, 1, "invalid ulimit type: "},
      {"nofile ", 1, 1, "invalid ulimit type: nofile "},
      {"nofile", 2048, 1024, "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"},
      {"nofile", -1, 1024, "ulimit soft limit must be less than or equal to hard limit: unlimited > 1024"},
      {"nofile", -2, -1, "invalid ulimit nofile: a limit must be -1 (unlimited) or at least 0"},
      {"nofile", 0, INT64_MIN, "invalid ulimit nofile: a limit must be -1 (unlimited) or at least 0"},
  };
  for (const auto& c : cases) {
    auto decoded = decodeCreate([&](wire::ContainerConfig::Builder config) {
      setUlimit(config.initHost().initUlimits(1)[0], c.name, c.soft, c.hard);
    });
    ASSERT_TRUE(decoded) << c.name << ": a client error, not a malformed frame";
    EXPECT_EQ(rejection(decoded), c.message) << c.name << " " << c.soft << " " << c.hard;
  }
  auto duplicate = decodeCreate([](wire::ContainerConfig::Builder config) {
    auto ulimits = config.initHost().initUlimits(2);
    setUlimit(ulimits[0], "nofile", 1, 1);
    setUlimit(ulimits[1], "nofile", 2, 2);
  });
  EXPECT_EQ(rejection(duplicate), "ulimit nofile is given more than once");
  // Unlimited hard with any soft limit, every name Docker knows, and the extremes are fine.
  auto fine = decodeCreate([](wire::ContainerConfig::Builder config) {
    auto names = wire::ULIMIT_NAMES.get();
    auto ulimits = config.initHost().initUlimits(names.size());
    for (unsigned i = 0; i < names.size(); ++i) setUlimit(ulimits[i], names[i].cStr(), i, i == 0 ? -1 : INT64_MAX);
  });
  ASSERT_TRUE(fine);
  EXPECT_NE(std::get_if<ValidatedRequest>(&*fine), nullptr) << rejection(fine);
}

TEST(DecoderCreate, RefusesForgedUlimitListsAsMalformed) {
  // More entries than any real client sends (the worker caps them at the same bound).
  auto tooMany = decodeCreate([](wire::ContainerConfig::Builder config) {
    auto ulimits = config.initHost().initUlimits(wire::MAX_ULIMITS + 1);
    for (auto u : ulimits) setUlimit(u, "nofile", 1, 1);
  });
  ASSERT_FALSE(tooMany);
  EXPECT_EQ(tooMany.error().context, "malformed: too many ulimits");
  auto exactly = decodeCreate([](wire::ContainerConfig::Builder config) {
    auto ulimits = config.initHost().initUlimits(wire::MAX_ULIMITS);
    for (auto u : ulimits) setUlimit(u, "nofile", 1, 1);
  });
  ASSERT_TRUE(exactly);  // within the bound: an ordinary client error (the name repeats)
  EXPECT_EQ(rejection(exactly), "ulimit nofile is given more than once");
  auto longName = decodeCreate([](wire::ContainerConfig::Builder config) {
    std::string name(kMaxNameBytes + 1, 'n');
    setUlimit(config.initHost().initUlimits(1)[0], name.c_str(), 1, 1);
  });
  EXPECT_FALSE(longName);
  auto nul = decodeCreate([](wire::ContainerConfig::Builder config) {
    auto u = config.initHost().initUlimits(1)[0];
    u.setName(capnp::Text::Reader("nofile\0x", 8));
  });
  EXPECT_FALSE(nul);
}

// style.md §4.4: every member of the request union has exactly one dispatch entry.
TEST(DispatchTable, CoversEveryMemberOfTheRequestUnion) {
  auto op = capnp::Schema::from<wire::Request::Op>();
  std::set<std::string> members;
  for (auto field : op.getUnionFields()) members.insert(field.getProto().getName().cStr());
  std::set<std::string> entries;
  for (const auto& info : kOperations) entries.insert(std::string(info.wireName));
  EXPECT_EQ(members, entries);
  EXPECT_EQ(members.size(), kOperations.size());
}

// Each wire member decodes to the variant alternative at its table index (or, when its
// empty fields are refused, is reported under the same operation name).
TEST(DispatchTable, WireTagsDecodeToTheirTableEntries) {
  for (std::size_t i = 0; i < kOperations.size(); ++i) {
    const auto& info = kOperations[i];
    capnp::MallocMessageBuilder message;
    auto req = message.initRoot<wire::WorkerMessage>().initRequest();
    req.setId(i);
    auto op = capnp::toDynamic(req.initOp());
    auto field = op.getSchema().getFieldByName(std::string(info.wireName));
    if (field.getType().isStruct()) {
      op.init(field);
    } else {
      op.set(field, capnp::DynamicValue::Reader(nullptr));
    }
    ASSERT_EQ(req.getOp().which(), info.tag) << info.wireName;
    auto decoded = decodeBytes(frameOf(message));
    ASSERT_TRUE(decoded) << info.wireName << ": " << decoded.error().context;
    if (auto* v = std::get_if<ValidatedRequest>(&*decoded)) {
      EXPECT_EQ(v->op.index(), i) << info.wireName;
    } else {
      auto* r = std::get_if<RejectedRequest>(&*decoded);
      ASSERT_NE(r, nullptr) << info.wireName;
      EXPECT_EQ(r->operation, info.auditName);
    }
  }
}

TEST(DispatchTable, AuditNamesAreUnique) {
  std::set<std::string_view> names;
  for (const auto& info : kOperations) EXPECT_TRUE(names.insert(info.auditName).second) << info.auditName;
}

}  // namespace
}  // namespace dockerbox::broker

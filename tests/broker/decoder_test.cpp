// The broker's one door, attacked the way a hostile worker would: truncated and oversized
// frames, unknown union tags, out-of-range enums, oversized chunks, garbage.
#include "broker/decoder.hpp"

#include "broker/dispatch.hpp"
#include "ipc/dockerbox.capnp.h"
#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include <capnp/any.h>
#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <gtest/gtest.h>

#include <cstring>
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

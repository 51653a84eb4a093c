// Runs as root. Input: untrusted frames from a frontend worker.
#include "broker/decoder.hpp"

#include "ipc/dockerbox.capnp.h"
#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <exception>

namespace dockerbox::broker {
namespace {

namespace wire = ipc::wire;

// Largest `limit` a client may ask for; anything above is a malformed request.
constexpr std::int32_t kMaxListLimit = 100000;

Error malformed(const std::string& what) {
  return Error::make(ErrorKind::BadRequest, "malformed request from the frontend", what);
}

Result<Operation> decodeOp(wire::Request::Op::Reader op) {
  switch (op.which()) {
    case wire::Request::Op::VERSION:
      return Operation{VersionOp{}};
    case wire::Request::Op::INFO:
      return Operation{InfoOp{}};
    case wire::Request::Op::LIST_CONTAINERS: {
      auto in = op.getListContainers();
      ListContainersOp out;
      out.all = in.getAll();
      std::int32_t limit = in.getLimit();
      if (limit > kMaxListLimit || limit < -1) return malformed("listContainers.limit out of range");
      if (limit > 0) out.limit = static_cast<std::uint32_t>(limit);
      return Operation{out};
    }
    case wire::Request::Op::LIST_IMAGES:
      return Operation{ListImagesOp{op.getListImages().getAll()}};
  }
  // A tag this broker does not know (newer or forged frontend): refuse, never default.
  return malformed("unknown operation tag " + std::to_string(static_cast<unsigned>(op.which())));
}

Result<WorkerMessage> decodeChecked(wire::WorkerMessage::Reader msg) {
  switch (msg.which()) {
    case wire::WorkerMessage::REQUEST: {
      auto req = msg.getRequest();
      auto op = decodeOp(req.getOp());
      if (!op) return op.error();
      return WorkerMessage{ValidatedRequest{req.getId(), std::move(*op)}};
    }
    case wire::WorkerMessage::STREAM_INPUT: {
      auto chunk = msg.getStreamInput();
      if (chunk.getKind() != wire::StreamKind::STDIN) return malformed("stream input must be stdin");
      if (chunk.getData().size() > ipc::kMaxChunkBytes) return malformed("stream chunk too large");
      auto data = chunk.getData();
      StreamInput out{chunk.getRequestId(), {}, chunk.getEnd()};
      out.data.resize(data.size());
      std::memcpy(out.data.data(), data.begin(), data.size());
      return WorkerMessage{std::move(out)};
    }
    case wire::WorkerMessage::CANCEL:
      return WorkerMessage{CancelRequest{msg.getCancel()}};
  }
  return malformed("unknown message tag " + std::to_string(static_cast<unsigned>(msg.which())));
}

}  // namespace

Result<WorkerMessage> decodeWorkerMessage(kj::ArrayPtr<const capnp::word> frame) {
  try {
    capnp::FlatArrayMessageReader reader(frame, ipc::readerOptions(ipc::kWorkerTraversalLimitWords));
    return decodeChecked(reader.getRoot<wire::WorkerMessage>());
  } catch (const kj::Exception& e) {
    return malformed(std::string("capnp: ") + e.getDescription().cStr());
  } catch (const std::exception& e) {
    return malformed(std::string("decode: ") + e.what());
  }
}

}  // namespace dockerbox::broker

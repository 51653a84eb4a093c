// Runs as root, in the broker. Input: one untrusted-shaped reply line from miniboxd. The peer
// is trusted, but a malformed line must end as an Error, never a crash or an assert.
#include "broker/minibox/codec.hpp"
#include "broker/minibox/limits.hpp"
#include "broker/minibox/reply_fields.hpp"

#include <boost/json.hpp>

#include <exception>

namespace dockerbox::broker::minibox {
namespace {

namespace json = boost::json;

ContainerInfo containerInfo(Fields& f) {
  return ContainerInfo{.id = f.string("id"),
                       .name = f.optionalString("name"),
                       .image = f.string("image"),
                       .command = f.string("command"),
                       .state = f.state("state"),
                       .createdAtUnixNanos = f.rfc3339("created_at"),
                       .pid = f.optionalU32("pid")};
}

SnapshotInfo snapshotInfo(Fields& f) {
  return SnapshotInfo{.containerId = f.string("container_id"),
                      .name = f.string("name"),
                      .createdAt = f.string("created_at"),
                      .adapter = f.string("adapter"),
                      .image = f.string("image"),
                      .sizeBytes = f.u64("size_bytes")};
}

/// The payload of an Event reply: internally tagged with snake_case tags (protocol section 4).
ContainerEvent containerEvent(Fields& f) {
  ContainerEvent event;
  event.kind = f.eventKind("type");
  switch (event.kind) {
    case EventKind::Created:
      event.id = f.string("id");
      event.image = f.string("image");
      break;
    case EventKind::Started:
      event.id = f.string("id");
      event.pid = f.u32("pid");
      break;
    case EventKind::Stopped:
      event.id = f.string("id");
      event.exitCode = f.i32("exit_code");
      break;
    case EventKind::Paused:
    case EventKind::Resumed:
    case EventKind::OomKilled:
      event.id = f.string("id");
      break;
    case EventKind::ImagePulled:
      event.image = f.string("image");
      event.sizeBytes = f.u64("size_bytes");
      break;
    case EventKind::ImageRemoved:
      event.image = f.string("image");
      break;
    case EventKind::ImagePruned:
      event.count = f.u64("count");
      event.freedBytes = f.u64("freed_bytes");
      break;
  }
  Fields time = f.object("timestamp");
  event.timestampSecs = time.u64("secs_since_epoch");
  event.timestampNanos = time.nanos("nanos_since_epoch");
  return event;
}

Reply decodeBody(std::string_view type, Fields& f) {
  if (type == "ContainerCreated") return ContainerCreated{.id = f.string("id")};
  if (type == "Success") return Success{.message = f.string("message")};
  if (type == "Error") return ErrorReply{.message = f.string("message")};
  if (type == "ContainerPaused") return ContainerPaused{.id = f.string("id")};
  if (type == "ContainerResumed") return ContainerResumed{.id = f.string("id")};
  if (type == "ContainerList")
    return ContainerList{.containers = f.objects<ContainerInfo>("containers", containerInfo)};
  if (type == "ImageLoaded") return ImageLoaded{.image = f.string("image")};
  if (type == "ContainerOutput")
    return ContainerOutput{.stream = f.stream("stream"), .data = f.base64("data")};
  if (type == "ContainerStopped") return ContainerStopped{.exitCode = f.i32("exit_code")};
  if (type == "ExecStarted") return ExecStarted{.execId = f.string("exec_id")};
  if (type == "PushProgress")
    return PushProgress{.layerDigest = f.string("layer_digest"),
                        .bytesUploaded = f.u64("bytes_uploaded"),
                        .totalBytes = f.u64("total_bytes")};
  if (type == "BuildOutput")
    return BuildOutput{
        .step = f.u32("step"), .totalSteps = f.u32("total_steps"), .message = f.string("message")};
  if (type == "BuildComplete")
    return BuildComplete{.imageId = f.string("image_id"), .tag = f.string("tag")};
  if (type == "Event") {
    Fields event = f.object("event");
    return EventReply{.event = containerEvent(event)};
  }
  if (type == "Pruned")
    return Pruned{.removed = f.strings("removed"),
                  .freedBytes = f.u64("freed_bytes"),
                  .dryRun = f.boolean("dry_run")};
  if (type == "LogLine") return LogLine{.stream = f.stream("stream"), .line = f.string("line")};
  if (type == "PipelineComplete")
    return PipelineComplete{.trace = f.anyJson("trace"),
                            .containerId = f.string("container_id"),
                            .exitCode = f.i32("exit_code")};
  if (type == "ImageList") return ImageList{.images = f.strings("images")};
  if (type == "SnapshotSaved") {
    Fields info = f.object("info");
    return SnapshotSaved{.info = snapshotInfo(info)};
  }
  if (type == "SnapshotRestored")
    return SnapshotRestored{.id = f.string("id"), .name = f.string("name")};
  if (type == "SnapshotList")
    return SnapshotList{.id = f.string("id"),
                        .snapshots = f.objects<SnapshotInfo>("snapshots", snapshotInfo)};
  if (type == "UpdateProgress")
    return UpdateProgress{.image = f.string("image"), .status = f.string("status")};
  if (type == "Manifest") return Manifest{.manifest = f.anyJson("manifest")};
  if (type == "VerifyResult")
    return VerifyResult{.allowed = f.boolean("allowed"), .reason = f.string("reason")};
  if (type == "WorkflowStepComplete") return WorkflowStepComplete{};
  if (type == "WorkflowComplete") return WorkflowComplete{};
  f.reject("unknown reply type `" + std::string(type.substr(0, 64)) + "`");
  return ErrorReply{};
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const std::size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

Error malformed(std::string context) {
  return fail(ErrorKind::Internal, "malformed reply from miniboxd", std::move(context));
}

Result<Reply> decodeParsed(const json::value& value) {
  const json::object* object = value.if_object();
  if (object == nullptr) return malformed("reply is not a JSON object");
  Fields fields(*object, "reply");
  const std::string type = fields.string("type");
  if (fields.failed()) return fields.error();
  Reply reply = decodeBody(type, fields);
  if (fields.failed()) return fields.error();
  return reply;
}

}  // namespace

Result<Reply> decodeReply(std::string_view untrustedLine) {
  const std::string_view line = trim(untrustedLine);
  if (line.empty()) return malformed("empty reply line");
  if (line.size() > kMaxReplyLineBytes) return malformed("reply line too long");
  try {
    json::parse_options options;
    options.max_depth = kMaxReplyJsonDepth;
    boost::system::error_code ec;
    json::value value = json::parse(line, ec, {}, options);
    if (ec) return malformed("invalid JSON: " + ec.message());
    return decodeParsed(value);
  } catch (const std::exception& e) {  // bad_alloc or a length_error from Boost.JSON
    return malformed(std::string("decoding failed: ") + e.what());
  }
}

}  // namespace dockerbox::broker::minibox

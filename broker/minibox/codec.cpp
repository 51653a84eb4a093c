// Runs as root, in the broker. Encodes requests for miniboxd and classifies its replies.
// Input: values the broker already validated; miniboxd's Error texts (trusted peer).
#include "broker/minibox/codec.hpp"

#include <boost/json.hpp>

#include <array>

namespace dockerbox::broker::minibox {
namespace {

namespace json = boost::json;

EncodedRequest finish(RequestType type, const json::object& object) {
  // boost::json escapes control characters, so no field can inject a second request line.
  std::string line = json::serialize(object);
  line += '\n';
  return EncodedRequest{type, std::move(line)};
}

/// `{"type":"<T>"}` plus the fields, in the order the daemon declares them.
json::object request(RequestType type) {
  json::object object;
  object["type"] = toString(type);
  return object;
}

json::array strings(const std::vector<std::string>& values) {
  json::array array;
  array.reserve(values.size());
  for (const auto& value : values) array.emplace_back(value);
  return array;
}

template <class T>
json::value optional(const std::optional<T>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

std::string_view networkName(NetworkMode mode) {
  switch (mode) {
    case NetworkMode::None:
      return "None";
    case NetworkMode::Bridge:
      return "Bridge";
    case NetworkMode::Host:
      return "Host";
    case NetworkMode::Tailnet:
      return "Tailnet";
  }
  return "None";
}

json::array mounts(const std::vector<BindMount>& values) {
  json::array array;
  for (const auto& mount : values) {
    array.emplace_back(json::object{{"host_path", mount.hostPath},
                                    {"container_path", mount.containerPath},
                                    {"read_only", mount.access == MountAccess::ReadOnly}});
  }
  return array;
}

EncodedRequest withId(RequestType type, std::string_view key, std::string_view id) {
  json::object object = request(type);
  object[key] = id;
  return finish(type, object);
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

}  // namespace

std::string_view toString(RequestType type) {
  static constexpr std::array<std::string_view, 13> kNames = {
      "Run",        "Stop",        "PauseContainer", "ResumeContainer", "Remove",
      "List",       "Pull",        "Exec",           "ContainerLogs",   "SubscribeEvents",
      "ListImages", "RemoveImage", "SendInput"};
  const auto index = static_cast<std::size_t>(type);
  return index < kNames.size() ? kNames[index] : "Unknown";
}

EncodedRequest encodeRun(const RunSpec& spec, RunMode mode) {
  json::object object = request(RequestType::Run);
  object["image"] = spec.image;
  object["tag"] = optional(spec.tag);
  object["command"] = strings(spec.command);
  object["memory_limit_bytes"] = optional(spec.memoryLimitBytes);
  object["cpu_weight"] = optional(spec.cpuWeight);
  object["ephemeral"] = mode == RunMode::Ephemeral;
  object["network"] = spec.network ? json::value(networkName(*spec.network)) : json::value(nullptr);
  object["env"] = strings(spec.env);
  object["mounts"] = mounts(spec.mounts);
  object["privileged"] = spec.privilege == Privilege::Privileged;
  object["name"] = optional(spec.name);
  object["tty"] = spec.tty;
  return finish(RequestType::Run, object);
}

EncodedRequest encodeStop(std::string_view idOrName) {
  return withId(RequestType::Stop, "id", idOrName);
}
EncodedRequest encodePauseContainer(std::string_view id) {
  return withId(RequestType::PauseContainer, "id", id);
}
EncodedRequest encodeResumeContainer(std::string_view id) {
  return withId(RequestType::ResumeContainer, "id", id);
}
EncodedRequest encodeRemove(std::string_view idOrName) {
  return withId(RequestType::Remove, "id", idOrName);
}
EncodedRequest encodeList() { return finish(RequestType::List, request(RequestType::List)); }

EncodedRequest encodePull(const ImageRef& ref) {
  json::object object = request(RequestType::Pull);
  object["image"] = ref.wireRepository();
  object["tag"] = ref.tag();
  return finish(RequestType::Pull, object);
}

EncodedRequest encodeExec(const ExecSpec& spec) {
  json::object object = request(RequestType::Exec);
  object["container_id"] = spec.containerId;
  object["cmd"] = strings(spec.cmd);
  object["env"] = strings(spec.env);
  object["working_dir"] = optional(spec.workingDir);
  object["tty"] = spec.tty;
  return finish(RequestType::Exec, object);
}

EncodedRequest encodeContainerLogs(std::string_view idOrName) {
  json::object object = request(RequestType::ContainerLogs);
  object["container_id"] = idOrName;
  object["follow"] = false;
  return finish(RequestType::ContainerLogs, object);
}

EncodedRequest encodeSubscribeEvents() {
  return finish(RequestType::SubscribeEvents, request(RequestType::SubscribeEvents));
}
EncodedRequest encodeListImages() {
  return finish(RequestType::ListImages, request(RequestType::ListImages));
}
EncodedRequest encodeRemoveImage(const ImageRef& ref) {
  return withId(RequestType::RemoveImage, "image_ref", ref.storeName());
}

EncodedRequest encodeSendInput(std::string_view sessionId, std::span<const std::uint8_t> data) {
  json::object object = request(RequestType::SendInput);
  object["session_id"] = sessionId;
  object["data"] = base64Encode(data);
  return finish(RequestType::SendInput, object);
}

bool isTerminal(const Reply& reply) {
  return std::visit([](const auto& r) { return std::decay_t<decltype(r)>::kTerminal; }, reply);
}

std::string_view replyType(const Reply& reply) {
  return std::visit([](const auto& r) { return std::decay_t<decltype(r)>::kType; }, reply);
}

Error unexpectedReply(const Reply& reply, RequestType request) {
  return fail(ErrorKind::Internal, "unexpected reply from miniboxd",
              std::string(replyType(reply)) + " in answer to " + std::string(toString(request)));
}

bool isUnknownVariant(const ErrorReply& reply) {
  return reply.message.starts_with("invalid request: unknown variant");
}

Error errorFromReply(const ErrorReply& reply, RequestType request) {
  const std::string_view text = reply.message;
  ErrorKind kind = ErrorKind::Internal;
  if (text.starts_with("container not found:")) {
    kind = ErrorKind::NotFound;
  } else if (text.starts_with("policy violation:")) {
    kind = ErrorKind::Forbidden;
  } else if (contains(text, "not supported on this platform") || isUnknownVariant(reply)) {
    kind = ErrorKind::NotImplemented;
  } else if (contains(text, "is already in use") || contains(text, "has no PID") ||
             contains(text, "has no pid") || contains(text, "is not running") ||
             contains(text, "is not paused") || contains(text, "is already running")) {
    kind = ErrorKind::Conflict;
  } else if (text.starts_with("container ") && text.ends_with(" not found")) {
    kind = ErrorKind::NotFound;  // PauseContainer/ResumeContainer: "container <id> not found"
  } else if (text.starts_with("exec failed: container ") && text.ends_with(" not found")) {
    kind = ErrorKind::NotFound;
  } else if (text.starts_with("invalid image reference") ||
             text.starts_with("invalid image ref:") || text.starts_with("invalid container id:")) {
    kind = ErrorKind::BadRequest;
  }
  return fail(kind, reply.message, "miniboxd answered Error to " + std::string(toString(request)));
}

}  // namespace dockerbox::broker::minibox

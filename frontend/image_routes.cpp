// Image routes: list, pull (POST /images/create), inspect, remove. Runs in: a frontend
// worker. Input: untrusted path and query values; the broker's replies.
#include "frontend/handlers.hpp"
#include "frontend/image_filters.hpp"
#include "frontend/limits.hpp"
#include "frontend/registry_auth.hpp"
#include "frontend/response.hpp"
#include "frontend/stream_framing.hpp"
#include "frontend/time_format.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
namespace wire = ipc::wire;
using Response = wire::Response;

/// The architecture this worker was built for, in Go's words: the broker runs on the same
/// host and miniboxd pulls images for it.
constexpr std::string_view kGoArch =
#if defined(__x86_64__)
    "amd64";
#elif defined(__aarch64__)
    "arm64";
#else
    "unknown";
#endif

std::string line(const json::object& message) { return json::serialize(message) + "\n"; }

/// The image config the broker relayed (verified by the engine at pull), parsed with the
/// worker's limits; nullopt when there is none or it is not an object.
std::optional<json::object> imageConfigOf(capnp::Data::Reader bytes) {
  if (bytes.size() == 0 || bytes.size() > kMaxImageConfigBytes) return std::nullopt;
  json::parse_options options;
  options.max_depth = 32;
  boost::system::error_code ec;
  json::value v = json::parse(std::string_view(bytes.asChars().begin(), bytes.size()), ec, {}, options);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

/// Pull progress in dockerd's shape (client-flows.md 7.2). miniboxd reports no progress, so
/// this is the honest short form: where from, the digest dockerbox verified, the outcome.
class PullRenderer final : public StreamRenderer {
 public:
  std::optional<std::string> head() override { return chunkedHead("application/json"); }
  std::string end(Response::Reader reply) override {
    if (reply.getResult().which() == Response::Result::IMAGE_PULLED) {
      return renderPullImage(reply.getResult().getImagePulled());
    }
    // After the head, an error can only be told inside the stream; the CLI prints it.
    std::string message = reply.getResult().which() == Response::Result::ERROR
                              ? wireText(reply.getResult().getError().getMessage())
                              : "dockerbox: unexpected reply from the broker to pullImage";
    return line(json::object{{"errorDetail", json::object{{"message", message}}}, {"error", message}});
  }
  HttpResponse finish(Response::Reader reply, const RenderContext&) override {
    if (auto error = errorReplyResponse(reply)) return std::move(*error);
    if (reply.getResult().which() != Response::Result::IMAGE_PULLED) return unexpectedReply("pullImage");
    HttpResponse response = emptyResponse(200);
    response.setHeader("Content-Type", "application/json");
    response.body = end(reply);
    response.chunked = true;
    return response;
  }
};

/// ImageSummary (engine-api-v1.50.yaml): every required key is present. miniboxd has no
/// parents, digests or labels; SharedSize and Containers are -1 ("not computed"). With a
/// filter, an image it drops is left out and the RepoTags shown are those it keeps.
HttpResponse renderImageList(wire::ImageListReply::Reader reply, const ImageFilter* filter) {
  json::array items;
  for (auto image : reply.getImages()) {
    std::vector<std::string> repoTags;
    for (auto tag : image.getRepoTags()) repoTags.push_back(wireText(tag));
    if (filter) {
      auto kept = filter->select(std::move(repoTags));
      if (!kept) continue;
      repoTags = std::move(*kept);
    }
    items.push_back(json::object{
        {"Id", wireText(image.getId())},
        {"ParentId", ""},
        {"RepoTags", json::array(repoTags.begin(), repoTags.end())},
        {"RepoDigests", textArray(image.getRepoDigests())},
        {"Created", image.getCreated()},
        {"Size", image.getSize()},
        {"SharedSize", -1},
        {"Labels", json::object{}},
        {"Containers", -1},
    });
  }
  return jsonResponse(200, items);
}

}  // namespace

Result<Action> toListImagesRequest(const RouteRequest& request) {
  auto filters = parseFilters(request.query.get("filters").value_or(""));
  if (!filters) return filters.error();
  // API 1.24 clients send `docker images NAME` as ?filter=NAME (the CLI moves it out of
  // `filters` for daemons that old); dockerd reads it there unless a reference is given.
  std::string legacy = request.query.get("filter").value_or("");
  if (request.version.major == 1 && request.version.minor < 25 && !legacy.empty() &&
      !filters->contains("reference")) {
    if (legacy.size() > kMaxFilterValueBytes) return fail(ErrorKind::BadRequest, "invalid filter");
    (*filters)["reference"].push_back(std::move(legacy));
  }
  // Checked before the broker is asked, so a bad filter costs no miniboxd round trip.
  auto filter = ImageFilter::make(*filters);
  if (!filter) return filter.error();
  // `shared-size`, `digests` and `manifests` are accepted; the values they add are fixed.
  BrokerCall call = newCall("listImages");
  requestOp(*call.message).initListImages().setAll(request.query.boolValue("all"));
  // The broker lists every image; the filters run here, on its reply (`docker images
  // alpine` sends reference=alpine).
  call.render = [filter = std::move(*filter)](Response::Reader reply, const RenderContext&) {
    if (reply.getResult().which() != Response::Result::IMAGE_LIST) return unexpectedReply("listImages");
    return renderImageList(reply.getResult().getImageList(), &filter);
  };
  return Action{std::move(call)};
}

HttpResponse renderListImages(wire::ImageListReply::Reader reply, const RenderContext&) {
  return renderImageList(reply, nullptr);
}

Result<Action> toPullImageRequest(const RouteRequest& request) {
  // X-Registry-Auth's credentials go to dockerbox's registry client; a JSON body (dockerode)
  // is ignored.
  if (!request.query.get("fromSrc").value_or("").empty()) {
    return fail(ErrorKind::NotImplemented,
                "docker import is not supported by dockerbox: miniboxd cannot import image archives");
  }
  std::string from = request.query.get("fromImage").value_or("");
  if (from.empty()) return fail(ErrorKind::BadRequest, "fromImage or fromSrc is required");
  BrokerStream stream{"pullImage", nullptr, newWorkerMessage(), std::make_unique<PullRenderer>(),
                      StreamFraming::Chunked, {}};
  stream.firstFrameTimeout = kPullReplyTimeout;  // the broker answers once, after the download
  auto auth = parseRegistryAuth(request.http.header("X-Registry-Auth"));
  if (!auth) return auth.error();
  auto op = requestOp(*stream.message).initPullImage();
  op.setRef(from);
  op.setTag(request.query.get("tag").value_or(""));
  if (*auth) {
    op.setUsername((*auth)->username);
    op.setPassword((*auth)->password);
  }
  return Action{std::move(stream)};
}

std::string renderPullImage(wire::ImagePulledReply::Reader reply) {
  // "docker.io/library/alpine:latest": registry, path and tag; the familiar name drops
  // docker.io and library/, as the CLI prints it ("alpine:latest").
  std::string reference = wireText(reply.getReference());
  auto slash = reference.find('/');
  std::string registry = slash == std::string::npos ? "" : reference.substr(0, slash);
  std::string rest = slash == std::string::npos ? reference : reference.substr(slash + 1);
  auto colon = rest.rfind(':');
  std::string path = colon == std::string::npos ? rest : rest.substr(0, colon);
  std::string tag = colon == std::string::npos ? "latest" : rest.substr(colon + 1);
  std::string familiar = path;
  if (registry == "docker.io" && familiar.starts_with("library/")) familiar.erase(0, 8);
  if (registry != "docker.io" && !registry.empty()) familiar = registry + "/" + familiar;
  familiar += ":" + tag;
  std::string out = line(json::object{{"status", "Pulling from " + path}, {"id", tag}});
  if (reply.getWarning().size() > 0) out += line(json::object{{"status", "Warning: " + wireText(reply.getWarning())}});
  if (reply.getDigest().size() > 0) out += line(json::object{{"status", "Digest: " + wireText(reply.getDigest())}});
  out += line(json::object{{"status", reply.getAlreadyPresent() ? "Status: Image is up to date for " + familiar
                                                                 : "Status: Downloaded newer image for " + familiar}});
  return out;
}

Result<Action> toInspectImageRequest(const RouteRequest& request) {
  std::string name = request.params.at(0);
  BrokerCall call = newCall("inspectImage");
  requestOp(*call.message).initInspectImage().setRef(name);
  call.renderErrors = true;
  call.render = [name](Response::Reader reply, const RenderContext&) {
    // A miniboxd that cannot list images cannot find one either. A 404 keeps `docker
    // inspect NAME` going on to networks and volumes, and lets compose pull the image,
    // where a 501 would stop both.
    if (reply.getResult().which() == Response::Result::ERROR &&
        reply.getResult().getError().getKind() == wire::ErrorKind::NOT_IMPLEMENTED) {
      return errorResponse(404, "No such image: " + name + " (" +
                                    wireText(reply.getResult().getError().getMessage()) + ")");
    }
    if (auto error = errorReplyResponse(reply)) return std::move(*error);
    if (reply.getResult().which() != Response::Result::IMAGE_INSPECT) return unexpectedReply("inspectImage");
    return renderInspectImage(reply.getResult().getImageInspect());
  };
  return Action{std::move(call)};
}

HttpResponse renderInspectImage(wire::ImageSummary::Reader image) {
  // ImageInspect: what miniboxd knows (tags; an id derived from the store name), and for an
  // image dockerbox pulled itself what its verified config says; honest blanks otherwise.
  std::int64_t created = image.getCreated();
  json::object config{{"Env", nullptr}, {"Cmd", nullptr}, {"Entrypoint", nullptr},
                      {"WorkingDir", ""}, {"Labels", nullptr}, {"User", ""},
                      {"ExposedPorts", nullptr}, {"Volumes", nullptr}, {"OnBuild", nullptr}};
  json::array layers;
  std::string architecture(kGoArch), os = "linux", author, variant;
  if (auto known = imageConfigOf(image.getConfig())) {
    // The config's own fields, as the registry sent them (the engine verified the digest).
    if (const auto* c = known->if_contains("config"); c != nullptr && c->is_object()) {
      for (const auto& [key, value] : c->as_object()) config[key] = value;
    }
    auto text = [&](std::string_view key, std::string& into) {
      if (const auto* v = known->if_contains(key); v != nullptr && v->is_string()) into = std::string(v->as_string());
    };
    text("architecture", architecture);
    text("os", os);
    text("author", author);
    text("variant", variant);
    if (const auto* rootfs = known->if_contains("rootfs"); rootfs != nullptr && rootfs->is_object()) {
      if (const auto* ids = rootfs->as_object().if_contains("diff_ids"); ids != nullptr && ids->is_array()) {
        layers = ids->as_array();
      }
    }
  }
  json::object body{
      {"Id", wireText(image.getId())},
      {"RepoTags", textArray(image.getRepoTags())},
      {"RepoDigests", textArray(image.getRepoDigests())},
      {"Parent", ""},
      {"Comment", ""},
      {"Created", created == 0 ? std::string() : rfc3339Nano(created * 1'000'000'000)},
      {"DockerVersion", ""},
      {"Author", author},
      {"Config", std::move(config)},
      {"Architecture", architecture},
      {"Os", os},
      {"Size", image.getSize()},
      {"GraphDriver", json::object{{"Data", json::object{}}, {"Name", "minibox"}}},
      {"RootFS", json::object{{"Type", "layers"}, {"Layers", std::move(layers)}}},
      {"Metadata", json::object{{"LastTagTime", kZeroTime}}},
  };
  if (!variant.empty()) body["Variant"] = variant;
  return jsonResponse(200, body);
}

Result<Action> toRemoveImageRequest(const RouteRequest& request) {
  BrokerCall call = newCall("removeImage");
  auto op = requestOp(*call.message).initRemoveImage();
  op.setRef(request.params.at(0));
  op.setForce(request.query.boolValue("force"));
  op.setNoPrune(request.query.boolValue("noprune"));
  call.render = [](Response::Reader reply, const RenderContext&) {
    if (reply.getResult().which() != Response::Result::IMAGE_REMOVED) return unexpectedReply("removeImage");
    json::array items;
    for (auto untagged : reply.getResult().getImageRemoved()) {
      items.push_back(json::object{{"Untagged", wireText(untagged)}});
    }
    return jsonResponse(200, items);
  };
  return Action{std::move(call)};
}

}  // namespace dockerbox::frontend

// GET /images/json. Runs in: a frontend worker. Input: untrusted query parameters.
#include "frontend/handlers.hpp"

#include "frontend/response.hpp"

#include <boost/json/object.hpp>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
using ipc::wire::Response;

}  // namespace

Result<Action> toListImagesRequest(const RouteRequest& request) {
  auto filters = parseFilters(request.query.get("filters").value_or(""));
  if (!filters) return filters.error();
  // TODO(soon): reference, dangling, label, before and since filters.
  if (!filters->empty()) {
    return fail(ErrorKind::BadRequest, "filter " + filters->begin()->first + " is not supported yet");
  }
  // `shared-size`, `digests` and `manifests` are accepted; the values they add are fixed.
  BrokerCall call{"listImages", newWorkerMessage(), {}, {}};
  requestOp(*call.message).initListImages().setAll(request.query.boolValue("all"));
  call.render = [](Response::Reader reply, const RenderContext& context) {
    if (reply.getResult().which() != Response::Result::IMAGE_LIST) {
      return errorResponse(500, "dockerbox: unexpected reply from the broker to listImages");
    }
    return renderListImages(reply.getResult().getImageList(), context);
  };
  return Action{std::move(call)};
}

HttpResponse renderListImages(ipc::wire::ImageListReply::Reader reply, const RenderContext&) {
  // ImageSummary (engine-api-v1.50.yaml): every required key is present. miniboxd has no
  // parents, digests or labels; SharedSize and Containers are -1 ("not computed").
  json::array items;
  for (auto image : reply.getImages()) {
    json::array tags;
    for (auto tag : image.getRepoTags()) tags.emplace_back(wireText(tag));
    items.push_back(json::object{
        {"Id", wireText(image.getId())},
        {"ParentId", ""},
        {"RepoTags", std::move(tags)},
        {"RepoDigests", json::array{}},
        {"Created", image.getCreated()},
        {"Size", image.getSize()},
        {"SharedSize", -1},
        {"Labels", json::object{}},
        {"Containers", -1},
    });
  }
  return jsonResponse(200, items);
}

}  // namespace dockerbox::frontend

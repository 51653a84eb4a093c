// The volume routes (issue 11): /volumes, /volumes/create, /volumes/{name}, /volumes/prune.
// Runs in: a frontend worker. Input: untrusted path parameters, query values and JSON bodies;
// the broker's replies.
#include "frontend/filters.hpp"
#include "frontend/handlers.hpp"
#include "frontend/limits.hpp"
#include "frontend/render_helpers.hpp"
#include "frontend/response.hpp"
#include "frontend/strict_json.hpp"
#include "frontend/time_format.hpp"

#include <boost/json/object.hpp>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
namespace wire = ipc::wire;
using Response = wire::Response;

json::object renderVolume(wire::Volume::Reader v) {
  // Volume (engine-api-v1.50.yaml): every key `docker volume inspect` and compose read.
  json::object labels;
  for (auto l : v.getLabels()) labels[wireText(l.getKey())] = wireText(l.getValue());
  json::object options;
  for (auto o : v.getOptions()) options[wireText(o.getKey())] = wireText(o.getValue());
  return json::object{
      {"Name", wireText(v.getName())},
      {"Driver", wireText(v.getDriver())},
      {"Mountpoint", wireText(v.getMountpoint())},
      {"CreatedAt", rfc3339Nano(v.getCreatedNanos())},
      {"Labels", labels.empty() ? json::value(nullptr) : json::value(std::move(labels))},
      {"Scope", "local"},
      {"Options", options.empty() ? json::value(nullptr) : json::value(std::move(options))},
  };
}

/// ?filters= flattened into (key, value) pairs for the broker.
Result<std::vector<std::pair<std::string, std::string>>> flatFilters(const QueryParams& query) {
  auto filters = parseFilters(query.get("filters").value_or(""));
  if (!filters) return filters.error();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, values] : *filters) {
    for (const auto& value : values) out.emplace_back(key, value);
  }
  if (out.size() > kMaxFilterValues) return fail(ErrorKind::BadRequest, "too many filters");
  return out;
}

template <class Builder>
void setKeyValues(Builder list, const std::vector<std::pair<std::string, std::string>>& values) {
  for (unsigned i = 0; i < values.size(); ++i) {
    list[i].setKey(values[i].first);
    list[i].setValue(values[i].second);
  }
}

}  // namespace

Result<Action> toListVolumesRequest(const RouteRequest& request) {
  auto filters = flatFilters(request.query);
  if (!filters) return filters.error();
  BrokerCall call = newCall("listVolumes");
  auto op = requestOp(*call.message).initListVolumes();
  setKeyValues(op.initFilters(static_cast<unsigned>(filters->size())), *filters);
  call.render = [](Response::Reader reply, const RenderContext&) {
    if (reply.getResult().which() != Response::Result::VOLUME_LIST) return unexpectedReply("listVolumes");
    json::array volumes;
    for (auto v : reply.getResult().getVolumeList()) volumes.push_back(renderVolume(v));
    return jsonResponse(200, json::object{{"Volumes", std::move(volumes)}, {"Warnings", json::array{}}});
  };
  return Action{std::move(call)};
}

Result<Action> toCreateVolumeRequest(const RouteRequest& request) {
  // VolumeCreateOptions: Name, Driver, DriverOpts, Labels (ClusterVolumeSpec: swarm only).
  auto body = parseStrictJson(request.http.body.empty() ? std::string_view("{}") : request.http.body);
  if (!body) return body.error();
  auto fields = JsonFields::of(*body, "VolumeCreateOptions");
  if (!fields) return fields.error();
  std::string name, driver;
  DOCKERBOX_TRY_ASSIGN(name, fields->getString("Name"));
  DOCKERBOX_TRY_ASSIGN(driver, fields->getString("Driver"));
  std::vector<std::pair<std::string, std::string>> options, labels;
  DOCKERBOX_TRY_ASSIGN(options, fields->getStringMap("DriverOpts"));
  DOCKERBOX_TRY_ASSIGN(labels, fields->getStringMap("Labels"));
  if (fields->find("ClusterVolumeSpec") != nullptr) {
    return fail(ErrorKind::NotImplemented, "dockerbox cannot create cluster volumes: it is not a swarm manager");
  }
  BrokerCall call = newCall("createVolume");
  auto op = requestOp(*call.message).initCreateVolume();
  op.setName(name);
  op.setDriver(driver);
  setKeyValues(op.initDriverOpts(static_cast<unsigned>(options.size())), options);
  setKeyValues(op.initLabels(static_cast<unsigned>(labels.size())), labels);
  call.render = [](Response::Reader reply, const RenderContext&) {
    if (reply.getResult().which() != Response::Result::VOLUME) return unexpectedReply("createVolume");
    return jsonResponse(201, renderVolume(reply.getResult().getVolume()));
  };
  return Action{std::move(call)};
}

Result<Action> toInspectVolumeRequest(const RouteRequest& request) {
  BrokerCall call = newCall("inspectVolume");
  requestOp(*call.message).initInspectVolume().setName(request.params.at(0));
  call.render = [](Response::Reader reply, const RenderContext&) {
    if (reply.getResult().which() != Response::Result::VOLUME) return unexpectedReply("inspectVolume");
    return jsonResponse(200, renderVolume(reply.getResult().getVolume()));
  };
  return Action{std::move(call)};
}

Result<Action> toRemoveVolumeRequest(const RouteRequest& request) {
  BrokerCall call = okCall("removeVolume", 204);
  auto op = requestOp(*call.message).initRemoveVolume();
  op.setName(request.params.at(0));
  op.setForce(request.query.boolValue("force"));
  return Action{std::move(call)};
}

Result<Action> toPruneVolumesRequest(const RouteRequest& request) {
  auto filters = flatFilters(request.query);
  if (!filters) return filters.error();
  // Before API 1.42 a prune removed every unused volume; since, only anonymous ones unless
  // the client says all=true (the CLI's `prune -a`).
  if (request.version.major == 1 && request.version.minor < 42) filters->emplace_back("all", "true");
  BrokerCall call = newCall("pruneVolumes");
  auto op = requestOp(*call.message).initPruneVolumes();
  setKeyValues(op.initFilters(static_cast<unsigned>(filters->size())), *filters);
  call.render = [](Response::Reader reply, const RenderContext&) {
    if (reply.getResult().which() != Response::Result::VOLUMES_PRUNED) return unexpectedReply("pruneVolumes");
    auto pruned = reply.getResult().getVolumesPruned();
    json::array deleted;
    for (auto name : pruned.getDeleted()) deleted.push_back(json::string(wireText(name)));
    return jsonResponse(200, json::object{{"VolumesDeleted", std::move(deleted)},
                                          {"SpaceReclaimed", pruned.getSpaceReclaimed()}});
  };
  return Action{std::move(call)};
}

}  // namespace dockerbox::frontend

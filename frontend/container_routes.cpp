// GET /containers/json. Runs in: a frontend worker. Input: untrusted query parameters.
#include "frontend/handlers.hpp"

#include "frontend/response.hpp"

#include <boost/json/object.hpp>

#include <charconv>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
using ipc::wire::Response;

/// Bound on ?limit, as the schema's ListContainersRequest.limit says.
constexpr int kMaxListLimit = 100000;

std::optional<ContainerState> fromWire(ipc::wire::ContainerState state) {
  switch (state) {
    case ipc::wire::ContainerState::CREATED: return ContainerState::Created;
    case ipc::wire::ContainerState::RUNNING: return ContainerState::Running;
    case ipc::wire::ContainerState::PAUSED: return ContainerState::Paused;
    case ipc::wire::ContainerState::RESTARTING: return ContainerState::Restarting;
    case ipc::wire::ContainerState::REMOVING: return ContainerState::Removing;
    case ipc::wire::ContainerState::EXITED: return ContainerState::Exited;
    case ipc::wire::ContainerState::DEAD: return ContainerState::Dead;
  }
  return std::nullopt;  // out of range: capnp does not check enums for us
}

Result<int> parseLimit(const QueryParams& query) {
  auto raw = query.get("limit");
  if (!raw || raw->empty()) return 0;
  int value = 0;
  auto [ptr, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), value);
  if (ec != std::errc() || ptr != raw->data() + raw->size()) {
    return fail(ErrorKind::BadRequest, "invalid value for limit: " + *raw);
  }
  // dockerd treats any value <= 0 as "no limit"; clamp to the schema's bound.
  return value <= 0 ? 0 : std::min(value, kMaxListLimit);
}

}  // namespace

Result<Action> toListContainersRequest(const RouteRequest& request) {
  auto filters = parseFilters(request.query.get("filters").value_or(""));
  if (!filters) return filters.error();
  auto filter = ContainerFilter::make(*filters);
  if (!filter) return filter.error();
  auto limit = parseLimit(request.query);
  if (!limit) return limit.error();
  // `size` is accepted; sizes are not known (SizeRw/SizeRootFs are left out, as allowed).
  bool all = request.query.boolValue("all") || filter->impliesAll();

  BrokerCall call{"listContainers", newWorkerMessage(), {}, {}};
  auto op = requestOp(*call.message).initListContainers();
  op.setAll(all);
  // Filters are applied here, so the broker must not cut the list before they run.
  op.setLimit(filter->empty() ? *limit : 0);
  ContainerListOptions options{std::move(*filter), *limit};
  call.render = [options = std::move(options)](Response::Reader reply, const RenderContext& context) {
    if (reply.getResult().which() != Response::Result::CONTAINER_LIST) {
      return errorResponse(500, "dockerbox: unexpected reply from the broker to listContainers");
    }
    return renderListContainers(reply.getResult().getContainerList(), context, options);
  };
  return Action{std::move(call)};
}

HttpResponse renderListContainers(ipc::wire::ContainerListReply::Reader reply,
                                  const RenderContext& context,
                                  const ContainerListOptions& options) {
  json::array items;
  for (auto container : reply.getContainers()) {
    if (options.limit > 0 && items.size() >= static_cast<std::size_t>(options.limit)) break;
    auto state = fromWire(container.getState());
    if (!state) return errorResponse(500, "dockerbox: broker sent an unknown container state");
    std::vector<std::string> names;
    for (auto name : container.getNames()) names.push_back(wireText(name));
    std::vector<std::pair<std::string, std::string>> labels;
    for (auto label : container.getLabels()) labels.emplace_back(wireText(label.getKey()), wireText(label.getValue()));
    ContainerTimes times{container.getStartedAt(), container.getFinishedAt(), std::nullopt};
    if (container.getHasExitCode()) times.exitCode = container.getExitCode();
    std::string id = wireText(container.getId());
    if (!options.filter.matches({id, &names, *state, times.exitCode, &labels})) continue;

    json::object labelObject;
    for (auto& [key, value] : labels) labelObject[key] = value;
    json::array nameArray;
    for (auto& name : names) nameArray.emplace_back(name);
    // ContainerSummary (engine-api-v1.50.yaml); `docker ps` prints Id[:12], Image,
    // Command, Created, Status, Ports and Names[0] (client-flows.md 7.4).
    items.push_back(json::object{
        {"Id", id},
        {"Names", std::move(nameArray)},
        {"Image", wireText(container.getImage())},
        {"ImageID", wireText(container.getImageId())},
        {"Command", wireText(container.getCommand())},
        {"Created", container.getCreated()},
        {"Ports", json::array{}},
        {"Labels", std::move(labelObject)},
        {"State", toApiString(*state)},
        {"Status", containerStatusText(*state, times, context.nowUnixSeconds)},
        {"HostConfig", json::object{{"NetworkMode", "default"}}},
        {"NetworkSettings", json::object{{"Networks", json::object{}}}},
        {"Mounts", json::array{}},
    });
  }
  return jsonResponse(200, items);
}

}  // namespace dockerbox::frontend

// GET /containers/json. Runs in: a frontend worker. Input: untrusted query parameters.
#include "frontend/handlers.hpp"
#include "frontend/inspect_parts.hpp"
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

/// Whether `ref` names this container the way dockerd's GetContainer does: full id, name
/// (with or without "/"), or an id prefix.
/// ContainerSummary.Ports: each published port as bound (`docker ps`: 127.0.0.1:8080->80/tcp).
json::array summaryPorts(capnp::List<ipc::wire::BoundPort>::Reader bound) {
  json::array out;
  for (auto port : bound) {
    out.push_back(json::object{{"IP", wireText(port.getHostIp())},
                               {"PrivatePort", port.getContainerPort()},
                               {"PublicPort", port.getHostPort()},
                               {"Type", wireText(port.getProtocol())}});
  }
  return out;
}

bool namesContainer(std::string_view ref, std::string_view id, const std::vector<std::string>& names) {
  if (ref.empty()) return false;
  for (const auto& name : names) {
    if (name == ref || std::string_view(name).substr(1) == ref) return true;
  }
  return id.starts_with(ref);
}

}  // namespace

Result<Action> toListContainersRequest(const RouteRequest& request) {
  auto filters = parseFilters(request.query.get("filters").value_or(""));
  if (!filters) return filters.error();
  auto filter = ContainerFilter::make(*filters);
  if (!filter) return filter.error();
  auto limit = parseLimit(request.query);
  if (!limit) return limit.error();
  // `size` is accepted (docker-py sends size=0, some clients 1); sizes are not known, so
  // SizeRw and SizeRootFs are left out, as the schema allows.
  // dockerd lists stopped containers too with ?all, a status or exited filter, or a limit
  // (`docker ps -n 3`, `-l`). before/since must find their container among all of them.
  bool wantAll = request.query.boolValue("all") || filter->impliesAll() || *limit > 0;
  bool needAll = wantAll || filter->beforeRef() || filter->sinceRef();

  BrokerCall call = newCall("listContainers");
  auto op = requestOp(*call.message).initListContainers();
  op.setAll(needAll);
  // Filters are applied here, so the broker must not cut the list before they run.
  op.setLimit(filter->empty() ? *limit : 0);
  ContainerListOptions options{std::move(*filter), *limit, !wantAll && needAll};
  call.render = [options = std::move(options)](Response::Reader reply, const RenderContext& context) {
    if (reply.getResult().which() != Response::Result::CONTAINER_LIST) return unexpectedReply("listContainers");
    return renderListContainers(reply.getResult().getContainerList(), context, options);
  };
  return Action{std::move(call)};
}

HttpResponse renderListContainers(ipc::wire::ContainerListReply::Reader reply,
                                  const RenderContext& context,
                                  const ContainerListOptions& options) {
  auto before = options.filter.beforeRef();
  auto since = options.filter.sinceRef();
  // before/since name a container that must exist (dockerd: 404 otherwise).
  for (const auto& ref : {before, since}) {
    if (!ref) continue;
    bool found = false;
    for (auto container : reply.getContainers()) {
      std::vector<std::string> names;
      for (auto name : container.getNames()) names.push_back(wireText(name));
      found = found || namesContainer(*ref, wireText(container.getId()), names);
    }
    if (!found) return errorResponse(404, "No such container: " + *ref);
  }
  bool beforeSeen = !before;
  json::array items;
  for (auto container : reply.getContainers()) {
    if (options.limit > 0 && items.size() >= static_cast<std::size_t>(options.limit)) break;
    auto state = fromWire(container.getState());
    if (!state) return errorResponse(500, "dockerbox: broker sent an unknown container state");
    std::vector<std::string> names;
    for (auto name : container.getNames()) names.push_back(wireText(name));
    std::string id = wireText(container.getId());
    // The list is newest first: since= stops at its container, before= starts after it.
    if (since && namesContainer(*since, id, names)) break;
    if (!beforeSeen) {
      beforeSeen = namesContainer(*before, id, names);
      continue;
    }
    if (options.runningOnly && *state != ContainerState::Running && *state != ContainerState::Paused &&
        *state != ContainerState::Restarting) {
      continue;
    }
    std::vector<std::pair<std::string, std::string>> labels;
    for (auto label : container.getLabels()) labels.emplace_back(wireText(label.getKey()), wireText(label.getValue()));
    ContainerTimes times{container.getStartedAt(), container.getFinishedAt(), std::nullopt, container.getCreated()};
    if (container.getHasExitCode()) times.exitCode = container.getExitCode();
    std::string image = wireText(container.getImage());
    std::string imageId = wireText(container.getImageId());
    const std::string health = wireText(container.getHealth());
    if (!options.filter.matches({id, &names, *state, times.exitCode, &labels, image, imageId, health})) continue;

    json::object labelObject;
    for (auto& [key, value] : labels) labelObject[key] = value;
    json::array nameArray;
    for (auto& name : names) nameArray.emplace_back(name);
    std::string networkMode = wireText(container.getNetworkMode());
    if (networkMode.empty()) networkMode = "default";
    json::object networks;
    if (std::string network = networkName(networkMode); !network.empty()) networks[network] = json::object{};
    // ContainerSummary (engine-api-v1.50.yaml); `docker ps` prints Id[:12], Image,
    // Command, Created, Status, Ports and Names[0] (client-flows.md 7.4).
    std::string status = containerStatusText(*state, times, context.nowUnixSeconds);
    // dockerd's State.String(): "Up 3 minutes (healthy)", "(health: starting)".
    if (!health.empty() && *state == ContainerState::Running) {
      status += health == "starting" ? " (health: starting)" : " (" + health + ")";
    }
    items.push_back(json::object{
        {"Id", id},
        {"Names", std::move(nameArray)},
        {"Image", image},
        {"ImageID", imageId},
        {"Command", wireText(container.getCommand())},
        {"Created", container.getCreated()},
        {"Ports", summaryPorts(container.getPorts())},
        {"Labels", std::move(labelObject)},
        {"State", toApiString(*state)},
        {"Status", std::move(status)},
        {"HostConfig", json::object{{"NetworkMode", networkMode}}},
        {"NetworkSettings", json::object{{"Networks", std::move(networks)}}},
        {"Mounts", json::array{}},
    });
  }
  return jsonResponse(200, items);
}

}  // namespace dockerbox::frontend

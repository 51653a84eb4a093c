// Routes answered without the broker: the three built-in networks, and the 404s that
// `docker inspect NAME` falls through (client-flows.md 4: containers, images, networks,
// volumes, plugins; a 404 moves it on to the next kind). Runs in: a frontend worker.
// Input: untrusted path parameters and query values.
#include "frontend/handlers.hpp"

#include "frontend/response.hpp"
#include "frontend/time_format.hpp"

#include <boost/json/object.hpp>

#include <algorithm>
#include <array>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;

struct BuiltinNetwork {
  std::string_view name;
  std::string_view id;
  std::string_view driver;
};

// Docker always has these three. miniboxd has no network objects, so the ids are fixed
// values of dockerbox's own (distinct first characters, so every prefix is unambiguous).
constexpr std::array kBuiltinNetworks{
    BuiltinNetwork{"bridge", "b0c5d0f0a1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4e5f60718293a4b5c6", "bridge"},
    BuiltinNetwork{"host", "a5d1c0e0b9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a493827160504", "host"},
    BuiltinNetwork{"none", "c7e2b1a0d9c8b7a6f5e4d3c2b1a09f8e7d6c5b4a3928170615f4e3d2c1b0a998", "null"},
};

json::object renderNetwork(const BuiltinNetwork& network) {
  // NetworkSummary / Network (engine-api-v1.50.yaml): every key `docker network ls` and
  // `inspect` read. No subnets are known: miniboxd does its own addressing.
  return json::object{
      {"Name", network.name},
      {"Id", network.id},
      {"Created", kZeroTime},
      {"Scope", "local"},
      {"Driver", network.driver},
      {"EnableIPv4", network.name == "bridge"},
      {"EnableIPv6", false},
      {"IPAM", json::object{{"Driver", "default"}, {"Options", nullptr}, {"Config", json::array{}}}},
      {"Internal", false},
      {"Attachable", false},
      {"Ingress", false},
      {"ConfigFrom", json::object{{"Network", ""}}},
      {"ConfigOnly", false},
      {"Containers", json::object{}},
      {"Options", json::object{}},
      {"Labels", json::object{}},
  };
}

const BuiltinNetwork* findNetwork(std::string_view ref) {
  for (const auto& network : kBuiltinNetworks) {
    if (network.name == ref) return &network;
  }
  if (ref.empty()) return nullptr;
  for (const auto& network : kBuiltinNetworks) {
    if (network.id.starts_with(ref)) return &network;
  }
  return nullptr;
}

}  // namespace

Result<Action> handleListNetworks(const RouteRequest& request) {
  auto filters = parseFilters(request.query.get("filters").value_or(""));
  if (!filters) return filters.error();
  for (const auto& [key, values] : *filters) {
    if (key != "name" && key != "id" && key != "driver" && key != "type" && key != "scope") {
      return fail(ErrorKind::BadRequest, "invalid filter '" + key + "'");
    }
  }
  auto matches = [&](const BuiltinNetwork& network) {
    for (const auto& entry : *filters) {
      const std::string& key = entry.first;  // not a structured binding: captured below
      const std::vector<std::string>& values = entry.second;
      bool any = std::any_of(values.begin(), values.end(), [&](const std::string& v) {
        if (key == "name") return network.name.find(v) != std::string_view::npos;
        if (key == "id") return network.id.starts_with(v);
        if (key == "driver") return network.driver == v;
        if (key == "type") return v == "builtin";
        return v == "local";  // scope
      });
      if (!any) return false;
    }
    return true;
  };
  json::array items;
  for (const auto& network : kBuiltinNetworks) {
    if (matches(network)) items.push_back(renderNetwork(network));
  }
  return Action{jsonResponse(200, items)};
}

Result<Action> handleInspectNetwork(const RouteRequest& request) {
  const std::string& ref = request.params.at(0);
  if (const BuiltinNetwork* network = findNetwork(ref)) return Action{jsonResponse(200, renderNetwork(*network))};
  return Action{errorResponse(404, "No such network: " + ref)};
}

Result<Action> handleInspectPlugin(const RouteRequest& request) {
  return Action{errorResponse(404, "No such plugin: " + request.params.at(0))};
}

}  // namespace dockerbox::frontend

// GET /events: a chunked stream of JSON lines, one per event, flushed as each arrives.
// Runs in: a frontend worker. Input: untrusted query values; the broker's events.
#include "frontend/handlers.hpp"
#include "frontend/response.hpp"
#include "frontend/stream_framing.hpp"
#include "frontend/time_format.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
namespace wire = ipc::wire;
using Response = wire::Response;

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

/// Keys dockerd accepts for /events (daemon/events/filter.go); anything else is refused.
constexpr std::array kEventFilterKeys{"config",  "container", "daemon",  "event",  "image",
                                      "label",   "network",   "node",    "plugin", "scope",
                                      "secret",  "service",   "type",    "volume"};

class EventsRenderer final : public StreamRenderer {
 public:
  std::optional<std::string> head() override { return chunkedHead("application/json"); }
  std::string event(wire::Event::Reader event) override { return renderEvent(event); }
  std::string end(Response::Reader) override { return {}; }
  HttpResponse finish(Response::Reader reply, const RenderContext&) override {
    if (auto error = errorReplyResponse(reply)) return std::move(*error);
    HttpResponse response = emptyResponse(200);
    response.setHeader("Content-Type", "application/json");
    return response;
  }
};

Result<std::int64_t> eventTime(const QueryParams& query, std::string_view key) {
  auto raw = query.get(key);
  if (!raw || raw->empty()) return 0;
  auto nanos = parseUnixTimestamp(*raw);
  if (!nanos) return fail(ErrorKind::BadRequest, "invalid value for " + std::string(key) + ": " + *raw);
  return *nanos;
}

}  // namespace

std::string renderEvent(wire::Event::Reader event) {
  std::string type = wireText(event.getType());
  std::string action = wireText(event.getAction());
  std::string actor = wireText(event.getActorId());
  json::object attributes = keyValueObject(event.getAttributes());
  std::int64_t nanos = event.getTimeNanos();
  json::object body;
  // The legacy keys dockerd still sends for container and image events (events.Message).
  if (type == "container" || type == "image") {
    body["status"] = action;
    body["id"] = actor;
    if (type == "container" && attributes.contains("image")) body["from"] = attributes.at("image");
  }
  body["Type"] = type;
  body["Action"] = action;
  body["Actor"] = json::object{{"ID", actor}, {"Attributes", std::move(attributes)}};
  body["scope"] = "local";
  body["time"] = nanos / kNanosPerSecond;
  body["timeNano"] = nanos;
  return json::serialize(body) + "\n";
}

Result<Action> toEventsRequest(const RouteRequest& request) {
  auto since = eventTime(request.query, "since");
  if (!since) return since.error();
  // The broker reads sinceNanos 0 as "only new events"; a client's since=0 means "from the
  // epoch" (everything kept), so any given since is at least 1 ns.
  if (!request.query.get("since").value_or("").empty()) *since = std::max<std::int64_t>(*since, 1);
  auto until = eventTime(request.query, "until");
  if (!until) return until.error();
  auto filters = parseFilters(request.query.get("filters").value_or(""));
  if (!filters) return filters.error();
  std::size_t terms = 0;
  for (const auto& entry : *filters) {
    // Plain references, not structured bindings: lambdas capture them (clang 14 cannot).
    const std::string& key = entry.first;
    if (std::none_of(kEventFilterKeys.begin(), kEventFilterKeys.end(), [&](const char* k) { return key == k; })) {
      return fail(ErrorKind::BadRequest, "invalid filter '" + key + "'");
    }
    terms += entry.second.size();
  }
  BrokerStream stream{"events", nullptr, newWorkerMessage(), std::make_unique<EventsRenderer>(),
                      StreamFraming::Chunked, {}};
  auto op = requestOp(*stream.message).initEvents();
  op.setSinceNanos(*since);
  op.setUntilNanos(*until);
  auto list = op.initFilters(static_cast<unsigned>(terms));
  unsigned i = 0;
  for (const auto& [key, values] : *filters) {
    for (const auto& value : values) {
      list[i].setKey(key);
      list[i].setValue(value);
      ++i;
    }
  }
  return Action{std::move(stream)};
}

}  // namespace dockerbox::frontend

// Helpers shared by the frontend tests: requests, replies the broker might send, JSON.
#pragma once

#include "frontend/http_types.hpp"
#include "frontend/router.hpp"

#include "ipc/dockerbox.capnp.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <capnp/message.h>
#include <gtest/gtest.h>

#include <string>

namespace dockerbox::frontend::testing {

inline HttpRequest get(std::string target, Method method = Method::Get) {
  HttpRequest request;
  request.method = method;
  request.target = std::move(target);
  return request;
}

/// Runs the router and expects a finished response.
inline HttpResponse localResponse(const HttpRequest& request) {
  Action action = routeRequest(request);
  auto* response = std::get_if<HttpResponse>(&action);
  EXPECT_NE(response, nullptr) << request.target;
  return response ? std::move(*response) : HttpResponse{};
}

/// Runs the router and expects a broker call.
inline BrokerCall brokerCall(const HttpRequest& request) {
  Action action = routeRequest(request);
  auto* call = std::get_if<BrokerCall>(&action);
  EXPECT_NE(call, nullptr) << request.target;
  return call ? std::move(*call) : BrokerCall{};
}

/// Runs the router and expects a streaming call.
inline BrokerStream brokerStream(const HttpRequest& request) {
  Action action = routeRequest(request);
  auto* stream = std::get_if<BrokerStream>(&action);
  EXPECT_NE(stream, nullptr) << request.target;
  return stream ? std::move(*stream) : BrokerStream{};
}

inline ipc::wire::Request::Reader requestOf(const BrokerStream& stream) {
  return stream.message->getRoot<ipc::wire::WorkerMessage>().asReader().getRequest();
}

inline ipc::wire::Request::Reader requestOf(const BrokerCall& call) {
  return call.message->getRoot<ipc::wire::WorkerMessage>().asReader().getRequest();
}

inline boost::json::value jsonBody(const HttpResponse& response) {
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_FALSE(response.body.empty());
  EXPECT_EQ(response.body.back(), '\n');
  return boost::json::parse(response.body);
}

inline void expectEngineHeaders(const HttpResponse& response) {
  EXPECT_EQ(response.header("Api-Version"), "1.50");
  EXPECT_EQ(response.header("Docker-Experimental"), "false");
  EXPECT_EQ(response.header("Ostype"), "linux");
  EXPECT_FALSE(response.header("Server").empty());
}

/// A reply message under construction: `response()` to fill, `reader()` to hand over.
struct ReplyBuilder {
  capnp::MallocMessageBuilder message;
  ipc::wire::Response::Builder response() {
    return message.getRoot<ipc::wire::BrokerMessage>().getResponse();
  }
  ReplyBuilder() { message.initRoot<ipc::wire::BrokerMessage>().initResponse(); }
  ipc::wire::Response::Reader reader() {
    return message.getRoot<ipc::wire::BrokerMessage>().asReader().getResponse();
  }
};

}  // namespace dockerbox::frontend::testing

// Fuzz target: arbitrary bytes as an HTTP request, through Beast's parser with the
// production limits, the router and the to<Operation>Request builders, then the
// renderers with a stub broker that answers every call with an error. No sockets.
// Input: untrusted bytes, exactly as a Docker client could send them.
#include "frontend/http_codec.hpp"
#include "frontend/router.hpp"
#include "ipc/framing.hpp"

#include "ipc/dockerbox.capnp.h"

#include <capnp/message.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

using namespace dockerbox::frontend;

void checkResponse(const HttpResponse& response) {
  // Every answer is Docker-shaped: engine headers, and a JSON body ends in a newline.
  if (response.header("Api-Version") != "1.50") std::abort();
  if (response.header("Content-Type") == "application/json" &&
      (response.body.empty() || response.body.back() != '\n')) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ParsedBytes parsed = parseRequestBytes(bytes);
  if (!parsed.request) {
    if (!parsed.refusal || parsed.refusal->status < 400) std::abort();
    checkResponse(*parsed.refusal);
    return 0;
  }
  Action action = routeRequest(*parsed.request);
  if (auto* response = std::get_if<HttpResponse>(&action)) {
    checkResponse(*response);
    return 0;
  }
  // The stub broker refuses, with a kind taken from the input (including invalid ones).
  capnp::MallocMessageBuilder reply;
  auto error = reply.initRoot<dockerbox::ipc::wire::BrokerMessage>().initResponse().initResult().initError();
  error.setKind(static_cast<dockerbox::ipc::wire::ErrorKind>(size % 10));
  error.setMessage("stub broker says no");
  auto refusal = reply.getRoot<dockerbox::ipc::wire::BrokerMessage>().asReader().getResponse();
  if (auto* stream = std::get_if<BrokerStream>(&action)) {
    // Streams: the request (and its prelude) must serialize; a refusal before the stream
    // began is an ordinary Docker error; after the head, it still renders as bytes.
    for (auto* message : {stream->prelude.get(), stream->message.get()}) {
      if (message == nullptr) continue;
      message->getRoot<dockerbox::ipc::wire::WorkerMessage>().getRequest().setId(1);
      if (dockerbox::ipc::encodeFrame(*message).empty()) std::abort();
    }
    if (stream->prelude) {
      auto refused = stream->renderer->afterPrelude(refusal);
      if (!refused) std::abort();  // an error reply always ends the request
      checkResponse(*refused);
    }
    HttpResponse finished = stream->renderer->finish(refusal, RenderContext{1700000000, stream->version});
    checkResponse(finished);
    if (finished.status < 300 && finished.status != 200) std::abort();
    (void)stream->renderer->end(refusal);
    return 0;
  }
  auto& call = std::get<BrokerCall>(action);
  // What would go on the wire must serialize.
  call.message->getRoot<dockerbox::ipc::wire::WorkerMessage>().getRequest().setId(1);
  if (dockerbox::ipc::encodeFrame(*call.message).empty()) std::abort();
  HttpResponse response = finishCall(call, refusal, RenderContext{1700000000, call.version});
  checkResponse(response);
  if (response.status < 300 && response.status != 200) std::abort();
  return 0;
}

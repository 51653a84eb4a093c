// Small helpers shared by the renderers: broker Text and lists to JSON. Runs in: a
// frontend worker. Input: replies from the broker (trusted, still bounded by the reader).
#pragma once

#include "ipc/dockerbox.capnp.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace dockerbox::frontend {

/// Copies a Text field of a broker reply (capnp Text is NUL-terminated, length-checked).
[[nodiscard]] inline std::string wireText(capnp::Text::Reader value) {
  return std::string(value.cStr(), value.size());
}

/// A list of Text as a JSON array of strings.
[[nodiscard]] inline boost::json::array textArray(capnp::List<capnp::Text>::Reader list) {
  boost::json::array out;
  for (auto item : list) out.emplace_back(wireText(item));
  return out;
}

/// Go's nil-slice convention: an empty list renders as null where dockerd sends null.
[[nodiscard]] inline boost::json::value textArrayOrNull(capnp::List<capnp::Text>::Reader list) {
  if (list.size() == 0) return nullptr;
  return textArray(list);
}

/// A KeyValue list as a JSON object (later keys win, as in a Go map).
[[nodiscard]] inline boost::json::object keyValueObject(capnp::List<ipc::wire::KeyValue>::Reader list) {
  boost::json::object out;
  for (auto kv : list) out[wireText(kv.getKey())] = wireText(kv.getValue());
  return out;
}

}  // namespace dockerbox::frontend

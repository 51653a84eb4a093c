// Runs as root. Input: act calls from the container service on the acts channel
// (ipc/acts.capnp): untrusted frames, size-capped, opened under reader limits; records in
// them are checked against their seals by the monitor before anything is done.
//
// The monitor's side of the acts channel: every call becomes one act on the MonitorPort it
// serves, for the caller the monitor bound to the named client request (CallerRegistry),
// never for anyone the engine names. Streaming acts send at most kActWindow interim replies
// ahead of the engine's acknowledgements. When the channel closes every act in flight is
// cancelled (a held run lets go of its container, as when the broker dies).
#pragma once

#include "broker/caller.hpp"
#include "broker/containers/act_wire.hpp"
#include "broker/containers/monitor_port.hpp"
#include "broker/containers/notifier.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <map>
#include <string>
#include <string_view>
#include <memory>

namespace dockerbox::broker::monitor {

/// The client requests in flight, by the number the monitor gave each: who asks, and for
/// which operation (its audit name). An act is served only for a request whose operation
/// needs it (a stop only within a stop, kill, restart or remove), so the service cannot
/// borrow a request in flight for another act.
class CallerRegistry {
 public:
  struct Request {
    Caller who;
    std::string operation;
  };

 private:
  // Shared with the entries: a request suspended at shutdown may be destroyed after the
  // registry (the io_context destroys suspended coroutines last), and it unregisters itself.
  using Map = std::map<std::uint64_t, Request>;

 public:
  /// Registers `who` for the lifetime of the returned guard; sets who.requestId.
  class Entry {
   public:
    Entry(std::shared_ptr<Map> callers, std::uint64_t id) : callers_(std::move(callers)), id_(id) {}
    Entry(Entry&& other) noexcept = default;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    Entry& operator=(Entry&&) = delete;
    ~Entry() {
      if (callers_) callers_->erase(id_);
    }

   private:
    std::shared_ptr<Map> callers_;
    std::uint64_t id_;
  };
  [[nodiscard]] Entry add(Caller& who, std::string_view operation);
  [[nodiscard]] const Request* find(std::uint64_t requestId) const;

 private:
  std::shared_ptr<Map> callers_ = std::make_shared<Map>();
  std::uint64_t next_ = 1;
};

class ActServer {
 public:
  ActServer(boost::asio::any_io_executor executor, boost::asio::local::stream_protocol::socket socket,
            containers::MonitorPort& monitor, const CallerRegistry& callers);
  ~ActServer();
  ActServer(const ActServer&) = delete;
  ActServer& operator=(const ActServer&) = delete;

  [[nodiscard]] bool connected() const { return link_->open(); }

  /// One act in flight (internal to act_server.cpp).
  struct Act {
    explicit Act(boost::asio::any_io_executor executor) : acked(std::move(executor)) {}
    boost::asio::cancellation_signal cancel;
    std::size_t unacked = 0;
    containers::Notifier acked;
  };
  struct Shared;

 private:
  using Frame = kj::Array<capnp::word>;

  void onFrame(Frame frame);
  void onClosed();

  boost::asio::any_io_executor executor_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<containers::ActLink> link_;
};

}  // namespace dockerbox::broker::monitor

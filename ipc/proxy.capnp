# The schema between the root monitor and dockerbox-proxy, the sandboxed port proxy
# (proxy/main.cpp) that carries published ports' traffic (docker run -p). One message per
# SOCK_SEQPACKET packet, with the descriptors it names attached (SCM_RIGHTS).
#
# Rules:
# - The monitor decides and binds every host port itself (root may bind below 1024; the
#   policy decided which addresses and ports the caller may have): the proxy only ever
#   accepts on listening sockets it was given, so it needs no network of its own.
# - The container side is reached through dockerbox-init: the `channel` listener is a Unix
#   stream socket in the run's io directory that the container's pid 1 connects to once
#   (init/port_channel.hpp); over that connection the proxy asks for fresh, unconnected
#   sockets of the container's network namespace and connects them itself.
# - No field names who asked: the monitor judged the request that caused this.

@0xb68ee2327006f412;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("dockerbox::ipc::proxy");

struct PublishedPort {
  protocol @0 :Text;        # "tcp" or "udp"
  containerPort @1 :UInt16;
  hostIp @2 :Text;          # the address the listener is bound to, for logs
  hostPort @3 :UInt16;      # the port it is bound to (chosen by the kernel for a random one)
}

struct Publish {
  run @0 :Text;                       # the container's 64-hex id; one publication per run
  ports @1 :List(PublishedPort);
  # Attached, in order: the channel listener, then one bound socket per entry of `ports`
  # (tcp: listening; udp: bound).
}

# Monitor -> proxy.
struct ProxyCommand {
  union {
    publish @0 :Publish;
    unpublish @1 :Text;  # run: close its sockets and every connection it carries
  }
}

# Proxy -> monitor. (One kind of event so far: no union, which needs two.)
struct ProxyEvent {
  unpublished @0 :Text;  # run: every socket of it is closed (its host ports are free)
}

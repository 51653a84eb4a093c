# The schema between the monitor (dockerboxd, root) and the engine (engine/engine.hpp): the
# monitor hands the engine each request it has judged and relays what the engine answers to
# the client's worker.
#
# Rules:
# - The caller travels one way only. `Principal` is written by the monitor from the
#   kernel's word (SO_PEERCRED, SO_PEERGROUPS) and the deciding rule; no EngineReply names
#   anyone, and the monitor never reads identity from the engine. Acts the engine asks for
#   name the request (acts.capnp), and the monitor uses the caller it registered for it.
# - The engine's answer is data for the client: the monitor copies it to the worker under
#   reader limits and reads only the outcome (the error kind and message) for the audit.
# - Every interim reply (accepted, output, event) is acknowledged by the monitor (`ack`);
#   the engine keeps at most kActWindow unacknowledged per request. Stdin is pulled: the
#   engine asks (`wantInput`), the monitor answers with one chunk or `noInput`.
@0x8d789355569428d5;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("dockerbox::ipc::engine");

using Wire = import "dockerbox.capnp";

struct EngineCall {
  id @0 :UInt64;          # the monitor's number for the request (acts name it so, too)
  union {
    request @1 :EngineRequest;
    input @2 :Input;      # answers `wantInput`: the client's next stdin chunk
    noInput @3 :Void;     # answers `wantInput`: no more stdin (gone, cancelled)
    cancel @4 :Void;      # the client went away, or dockerboxd is shutting down
    ack @5 :Void;         # one interim reply of request `id` was relayed
  }
}

struct EngineRequest {
  caller @0 :Principal;
  frame @1 :Data;         # the worker's WorkerMessage frame carrying the request, as the
                          # monitor decoded and judged it; the engine decodes it the same way
  judgedConfig @2 :Data;  # containers.create: the canonical ContainerConfig as judged (bind
                          # sources resolved, limits injected); it replaces the frame's
}

# Who the monitor serves, for the engine's views (visibility, the owner of what it creates):
# written by the monitor only, from SO_PEERCRED/SO_PEERGROUPS and the deciding rule, never
# read back. Nothing the engine sends the monitor names a uid it chose: acts name the request,
# and a stored record's owner is believed only under the monitor's seal (acts.capnp).
struct Principal {
  uid @0 :UInt32;
  gid @1 :UInt32;
  groups @2 :List(UInt32);
  visibility @3 :Visibility;
  # The deciding rule's grants (policy/README.md), not identities:
  privileged @4 :Bool;
  rootUserAllowed @5 :Bool;  # the rule's root_user: a container or exec User of uid/gid 0

  enum Visibility {
    own @0;
    group @1;
    all @2;
  }
}

struct Input {
  data @0 :Data;
  end @1 :Bool;           # the client half-closed
}

struct EngineReply {
  id @0 :UInt64;
  union {
    accepted @1 :Void;        # the request has begun a stream
    output @2 :Output;
    event @3 :Wire.Event;     # requestId unused
    wantInput @4 :Void;
    done @5 :Done;            # the end: exactly one per request
  }
}

struct Output {
  stderr @0 :Bool;
  data @1 :Data;              # at most 64 KiB
  timeNanos @2 :Int64;
}

struct Done {
  response @0 :Wire.Response; # id unused
  resolved @1 :List(ObjectRef);
}

struct ObjectRef {
  type @0 :Text;
  id @1 :Text;
  name @2 :Text;
}

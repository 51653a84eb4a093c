# The one IPC schema between a frontend worker (untrusted) and the broker (root).
#
# Rules (style.md §4, §8):
# - One request union, one response union. Every operation is listed once; the broker's
#   dispatch table has an entry for each member of Request.op, checked by a test.
# - No field carries the caller's identity. The broker binds each worker channel to the
#   uid/gid/groups it read from the kernel (SO_PEERCRED/SO_PEERGROUPS) at accept time.
# - Every field says its unit, its bound and who sets it. Ordinals are never reused;
#   retired fields are renamed obsolete... and left in place.
# - Cap'n Proto does not range-check enums: the broker's decoder validates every enum
#   and union tag (an out-of-range value is refused, never defaulted).

@0x8b8cb7eda4bf1306;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("dockerbox::ipc::wire");

# ---------------------------------------------------------------------------
# Worker -> broker

struct WorkerMessage {
  union {
    request @0 :Request;      # a new operation
    streamInput @1 :StreamChunk;  # client bytes for a running stream (attach/exec stdin)
    cancel @2 :UInt64;        # the client went away: stop the stream with this request id
  }
}

struct Request {
  id @0 :UInt64;
  # Set by the worker, unique per channel while in flight; echoed in every reply and
  # stream chunk for this request. The broker uses it only to route replies.

  op :union {
    info @1 :InfoRequest;                 # GET /info
    listContainers @2 :ListContainersRequest;  # GET /containers/json
    listImages @3 :ListImagesRequest;     # GET /images/json
    version @4 :VersionRequest;           # GET /version
  }
}

struct VersionRequest {}

struct InfoRequest {}

struct ListContainersRequest {
  all @0 :Bool;     # include containers that are not running (?all=1)
  limit @1 :Int32;  # at most this many, newest first; <= 0 means no limit. Bound: 0..100000.
}

struct ListImagesRequest {
  all @0 :Bool;     # ?all=1 (intermediate images; miniboxd has none, accepted for clients)
}

# ---------------------------------------------------------------------------
# Broker -> worker

struct BrokerMessage {
  union {
    response @0 :Response;    # the final answer to a request (exactly one per request)
    streamOutput @1 :StreamChunk;  # data for a streaming request, before its response
  }
}

struct Response {
  id @0 :UInt64;   # the Request.id this answers

  result :union {
    error @1 :ErrorReply;
    info @2 :InfoReply;
    containerList @3 :ContainerListReply;
    imageList @4 :ImageListReply;
    version @5 :VersionReply;
  }
}

enum ErrorKind {
  internal @0;        # HTTP 500
  badRequest @1;      # HTTP 400
  notFound @2;        # HTTP 404
  conflict @3;        # HTTP 409
  forbidden @4;       # HTTP 403 (policy denial; the message names the rule)
  unavailable @5;     # HTTP 503 (miniboxd absent, refusing or timing out)
  notImplemented @6;  # HTTP 501 (miniboxd cannot do this)
  notModified @7;     # HTTP 304
}

struct ErrorReply {
  kind @0 :ErrorKind;
  message @1 :Text;   # safe to show the client; at most 4 KiB
}

struct VersionReply {
  kernelVersion @0 :Text;     # uname -r of the broker's host
  operatingSystem @1 :Text;   # PRETTY_NAME from /etc/os-release
  architecture @2 :Text;      # Go-style: amd64, arm64, ...
  miniboxProtocol @3 :Text;   # "v0.19", "head", or "unreachable"
}

struct InfoReply {
  containers @0 :UInt32;         # every container miniboxd knows
  containersRunning @1 :UInt32;
  containersPaused @2 :UInt32;
  containersStopped @3 :UInt32;  # Stopped, Failed, Orphaned and Created
  images @4 :UInt32;             # from ListImages (0 where miniboxd cannot list)
  hostname @5 :Text;
  kernelVersion @6 :Text;
  operatingSystem @7 :Text;
  architecture @8 :Text;
  ncpu @9 :UInt32;
  memTotal @10 :UInt64;          # bytes
  miniboxSocket @11 :Text;       # path of the upstream socket (shown in `docker info`)
  miniboxProtocol @12 :Text;     # "v0.19" or "head"
}

enum ContainerState {
  created @0;
  running @1;
  paused @2;
  restarting @3;
  removing @4;
  exited @5;
  dead @6;
}

struct KeyValue {
  key @0 :Text;
  value @1 :Text;
}

struct ContainerSummary {
  id @0 :Text;             # 64 lowercase hex (Docker id)
  names @1 :List(Text);    # each with a leading "/"
  image @2 :Text;          # as the client named it
  imageId @3 :Text;        # "sha256:<64 hex>" or empty
  command @4 :Text;        # joined with spaces
  created @5 :Int64;       # unix seconds
  state @6 :ContainerState;
  startedAt @7 :Int64;     # unix seconds; 0 = never
  finishedAt @8 :Int64;    # unix seconds; 0 = never
  exitCode @9 :Int32;      # Docker convention (128+N for signal N); valid when exited
  hasExitCode @10 :Bool;   # false where miniboxd did not report one
  labels @11 :List(KeyValue);
}

struct ContainerListReply {
  containers @0 :List(ContainerSummary);   # newest first
}

struct ImageSummary {
  id @0 :Text;             # "sha256:<64 hex>", derived from the store name (miniboxd has no ids)
  repoTags @1 :List(Text); # e.g. "alpine:latest" (Docker's short form)
  created @2 :Int64;       # unix seconds; 0 when unknown
  size @3 :Int64;          # bytes; 0 when unknown (miniboxd reports no sizes)
}

struct ImageListReply {
  images @0 :List(ImageSummary);
}

# ---------------------------------------------------------------------------
# Streams (logs, attach, exec, events, pull progress) in both directions.

enum StreamKind {
  stdin @0;
  stdout @1;
  stderr @2;
  message @3;   # one JSON-free progress/event record, rendered by the frontend
}

struct StreamChunk {
  requestId @0 :UInt64;   # the request this belongs to
  kind @1 :StreamKind;
  data @2 :Data;          # at most 64 KiB per chunk
  end @3 :Bool;           # no more chunks of this kind follow (stdin: client half-closed)
}

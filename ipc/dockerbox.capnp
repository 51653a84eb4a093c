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
    createContainer @5 :ContainerConfig;  # POST /containers/create
    inspectContainer @6 :ContainerRef;    # GET /containers/{id}/json
    startContainer @7 :ContainerRef;      # POST /containers/{id}/start
    stopContainer @8 :StopRequest;        # POST /containers/{id}/stop
    killContainer @9 :KillRequest;        # POST /containers/{id}/kill
    restartContainer @10 :StopRequest;    # POST /containers/{id}/restart
    pauseContainer @11 :ContainerRef;     # POST /containers/{id}/pause
    unpauseContainer @12 :ContainerRef;   # POST /containers/{id}/unpause
    waitContainer @13 :WaitRequest;       # POST /containers/{id}/wait (streams: accepted, then the result)
    removeContainer @14 :RemoveRequest;   # DELETE /containers/{id}
    renameContainer @15 :RenameRequest;   # POST /containers/{id}/rename
    containerLogs @16 :LogsRequest;       # GET /containers/{id}/logs (streams)
    attachContainer @17 :AttachRequest;   # POST /containers/{id}/attach (streams both ways)
    resizeContainer @18 :ResizeRequest;   # POST /containers/{id}/resize
    createExec @19 :ExecConfig;           # POST /containers/{id}/exec
    startExec @20 :StartExecRequest;      # POST /exec/{id}/start (streams both ways)
    inspectExec @21 :ExecRef;             # GET /exec/{id}/json
    resizeExec @22 :ResizeRequest;        # POST /exec/{id}/resize (ref is the exec id)
    events @23 :EventsRequest;            # GET /events (streams)
    pullImage @24 :ImageRef;              # POST /images/create?fromImage=
    inspectImage @25 :ImageRef;           # GET /images/{name}/json
    removeImage @26 :RemoveImageRequest;  # DELETE /images/{name}
    auth @27 :AuthRequest;                # POST /auth (docker login)
    listVolumes @28 :ListVolumesRequest;  # GET /volumes
    createVolume @29 :CreateVolumeRequest;  # POST /volumes/create
    inspectVolume @30 :VolumeRef;         # GET /volumes/{name}
    removeVolume @31 :RemoveVolumeRequest;  # DELETE /volumes/{name}
    pruneVolumes @32 :PruneVolumesRequest;  # POST /volumes/prune
  }
}

# A container as the client names it: full or prefix id, or name (with or without "/").
# At most 256 bytes; the broker resolves it (and hides other users' containers).
struct ContainerRef {
  ref @0 :Text;
}

struct StopRequest {
  ref @0 :Text;
  timeoutSeconds @1 :Int32;  # ?t=; -1 = the container's default. Bound: -1..86400.
  signal @2 :Text;           # ?signal= (stop only); empty = default. At most 32 bytes.
}

struct KillRequest {
  ref @0 :Text;
  signal @1 :Text;           # "KILL", "SIGTERM", "9", ...; empty = SIGKILL. At most 32 bytes.
}

enum WaitCondition {
  notRunning @0;
  nextExit @1;
  removed @2;
}

struct WaitRequest {
  ref @0 :Text;
  condition @1 :WaitCondition;
}

struct RemoveRequest {
  ref @0 :Text;
  force @1 :Bool;    # stop a running container first
  volumes @2 :Bool;  # ?v= (anonymous volumes; miniboxd has none)
}

struct RenameRequest {
  ref @0 :Text;
  newName @1 :Text;  # Docker's name rules, checked by the broker
}

struct LogsRequest {
  ref @0 :Text;
  follow @1 :Bool;
  stdout @2 :Bool;
  stderr @3 :Bool;
  sinceNanos @4 :Int64;   # unix nanoseconds; 0 = from the start
  untilNanos @5 :Int64;   # unix nanoseconds; 0 = no end
  tail @6 :Int64;         # lines from the end; -1 = all. Bound: -1..10^9.
  timestamps @7 :Bool;    # the frontend renders them from StreamChunk.timeNanos
}

struct AttachRequest {
  ref @0 :Text;
  stdin @1 :Bool;
  stdout @2 :Bool;
  stderr @3 :Bool;
  logs @4 :Bool;     # replay captured output first
  stream @5 :Bool;   # keep streaming live output
  detachKeys @6 :Text;  # ?detachKeys= as given ("" = ctrl-p,ctrl-q)
}

struct ResizeRequest {
  ref @0 :Text;
  height @1 :UInt16;
  width @2 :UInt16;
}

struct ExecConfig {
  container @0 :Text;         # container ref
  cmd @1 :List(Text);         # at least one element; at most 4096 elements
  env @2 :List(Text);         # "K=V"
  workingDir @3 :Text;
  user @4 :Text;
  tty @5 :Bool;
  attachStdin @6 :Bool;
  attachStdout @7 :Bool;
  attachStderr @8 :Bool;
  privileged @9 :Bool;
  detachKeys @10 :Text;
}

struct ExecRef {
  id @0 :Text;                # 64 hex exec id
}

struct StartExecRequest {
  id @0 :Text;                # 64 hex exec id
  detach @1 :Bool;
  tty @2 :Bool;
}

struct EventsRequest {
  sinceNanos @0 :Int64;       # 0 = only new events
  untilNanos @1 :Int64;       # 0 = no end; the stream ends at this time
  filters @2 :List(FilterTerm);
}

struct FilterTerm {
  key @0 :Text;               # "type", "event", "container", "image", "label", ...
  value @1 :Text;
}

struct ImageRef {
  ref @0 :Text;               # as the client wrote it: "alpine", "alpine:3.19", "docker.io/library/alpine"
  tag @1 :Text;               # separate ?tag= of /images/create; empty = none
  username @2 :Text;          # pull only: the registry credentials of X-Registry-Auth; empty =
  password @3 :Text;          # anonymous. Passed to the registry client, never logged or audited
}

# docker login: the registry's address and the credentials to check. Passed to the registry
# client only; never logged, audited or stored.
struct AuthRequest {
  server @0 :Text;     # "serveraddress" as the client sent it; empty: Docker Hub
  username @1 :Text;
  password @2 :Text;
}

struct RemoveImageRequest {
  ref @0 :Text;
  force @1 :Bool;
  noPrune @2 :Bool;
}

# The container configuration of POST /containers/create, typed. The frontend fills it
# from the client's JSON (keys matched case-insensitively like dockerd's Go decoder,
# duplicate keys refused); the broker validates it, policy checks it, and the broker keeps
# it (serialized) as the container's create config for inspect and restart.
struct ContainerConfig {
  name @0 :Text;                 # ?name=; empty = generated
  image @1 :Text;
  cmd @2 :List(Text);
  hasCmd @3 :Bool;               # false: Cmd was null/absent (image default)
  entrypoint @4 :List(Text);
  hasEntrypoint @5 :Bool;
  env @6 :List(Text);            # "K=V"; values never logged or audited
  labels @7 :List(KeyValue);
  workingDir @8 :Text;
  user @9 :Text;
  tty @10 :Bool;
  openStdin @11 :Bool;
  stdinOnce @12 :Bool;
  attachStdin @13 :Bool;
  attachStdout @14 :Bool;
  attachStderr @15 :Bool;
  hostname @16 :Text;
  domainname @17 :Text;
  exposedPorts @18 :List(Text);  # "80/tcp"
  stopSignal @19 :Text;
  stopTimeout @20 :Int32;        # -1 = unset
  host @21 :HostConfig;
  healthcheck @22 :Healthcheck;  # meaningful only when hasHealthcheck
  hasHealthcheck @23 :Bool;      # false: Healthcheck was null or absent (the image's applies)
}

# Config.Healthcheck. Durations in nanoseconds, 0 = the image's or Docker's default
# (interval 30 s, timeout 30 s, start period 0, start interval 5 s, 3 retries). The broker
# checks the test's form and the bounds again.
struct Healthcheck {
  test @0 :List(Text);      # [] (the image's), ["NONE"], ["CMD", argv...], ["CMD-SHELL", command]
  interval @1 :Int64;
  timeout @2 :Int64;
  startPeriod @3 :Int64;
  startInterval @4 :Int64;
  retries @5 :Int32;
}

# State.Health: what the engine learned from the container's health checks.
struct Health {
  status @0 :Text;          # "starting", "healthy", "unhealthy"
  failingStreak @1 :Int32;
  log @2 :List(HealthResult);  # the last five, oldest first
}

struct HealthResult {
  startNanos @0 :Int64;
  endNanos @1 :Int64;
  exitCode @2 :Int32;       # -1: the check could not run or exceeded its timeout
  output @3 :Text;          # at most 4096 bytes, valid UTF-8
}

enum MountType {
  bind @0;
  volume @1;
  tmpfs @2;
  npipe @3;
  cluster @4;
  image @5;
}

struct Mount {
  type @0 :MountType;
  source @1 :Text;          # host path (bind), volume name (volume), empty (tmpfs)
  target @2 :Text;          # absolute path in the container
  readOnly @3 :Bool;
  fromBinds @4 :Bool;       # true: parsed from a HostConfig.Binds string
  volumeDriver @5 :Text;
  volumeOptions @6 :List(KeyValue);  # DriverConfig.Options (may bind: type=none,o=bind,device=...)
  propagation @7 :Text;
}

struct PortBinding {
  containerPort @0 :Text;   # "80/tcp"
  hostIp @1 :Text;
  hostPort @2 :Text;
}

# A published port as bound while the container runs (the monitor's bind, the kernel's
# choice for a random port).
struct BoundPort {
  protocol @0 :Text;        # "tcp" or "udp"
  containerPort @1 :UInt16;
  hostIp @2 :Text;
  hostPort @3 :UInt16;
}

struct HostConfig {
  mounts @0 :List(Mount);        # Binds and Mounts, both typed here
  networkMode @1 :Text;          # "default", "bridge", "host", "none", "container:<x>", name
  privileged @2 :Bool;
  capAdd @3 :List(Text);
  capDrop @4 :List(Text);
  devices @5 :List(Text);        # PathOnHost of each device mapping
  securityOpt @6 :List(Text);
  pidMode @7 :Text;
  ipcMode @8 :Text;
  utsMode @9 :Text;
  usernsMode @10 :Text;
  cgroupnsMode @11 :Text;
  sysctls @12 :List(KeyValue);
  cgroupParent @13 :Text;
  runtime @14 :Text;
  memory @15 :Int64;             # bytes; 0 = unset
  nanoCpus @16 :Int64;           # 10^-9 CPUs; 0 = unset
  cpuShares @17 :Int64;
  autoRemove @18 :Bool;
  restartPolicy @19 :Text;       # "", "no", "always", "unless-stopped", "on-failure"
  restartMaxRetries @20 :Int32;
  readonlyRootfs @21 :Bool;
  groupAdd @22 :List(Text);
  oomKillDisable @23 :Bool;
  hasDeviceRequests @24 :Bool;
  hasDeviceCgroupRules @25 :Bool;
  portBindings @26 :List(PortBinding);
  publishAllPorts @27 :Bool;
  tmpfs @28 :List(KeyValue);
  volumeDriver @29 :Text;
  volumesFrom @30 :List(Text);
  extraHosts @31 :List(Text);
  dns @32 :List(Text);
  pidsLimit @33 :Int64;
  shmSize @34 :Int64;
  consoleHeight @35 :UInt16;
  consoleWidth @36 :UInt16;
  ulimits @37 :List(Ulimit);
  # HostConfig.Ulimits, set by the frontend from the client's JSON, one entry per name (a
  # repeated name is refused). At most maxUlimits entries; the broker checks names and
  # bounds again. Applied by dockerbox-init inside the container.
  init @38 :Bool;
  # HostConfig.Init as the client gave it; meaningful only when hasInit. Set by the
  # frontend. Whether dockerbox-init runs is dockerbox's decision, not the client's, so this
  # changes nothing and is kept for inspect.
  hasInit @39 :Bool;
  # false: Init was null or absent (dockerd leaves it out of inspect then).
}

# One resource limit of HostConfig.Ulimits (setrlimit(2) inside the container).
struct Ulimit {
  name @0 :Text;
  # Docker's name of the resource, one of ulimitNames ("nofile" is RLIMIT_NOFILE).
  soft @1 :Int64;
  # The soft limit in the resource's own unit (bytes, seconds, count...); -1 = unlimited
  # (RLIM_INFINITY). Bound: -1..2^63-1, at most `hard` unless hard is -1.
  hard @2 :Int64;
  # The hard limit, same unit; -1 = unlimited. Bound: -1..2^63-1.
}

const maxUlimits :UInt32 = 32;
# Entries of HostConfig.ulimits: Docker knows 15 names and each may appear once, so 32 is
# never reached by a real client and keeps a forged list small.

const ulimitNames :List(Text) = ["core", "cpu", "data", "fsize", "locks", "memlock",
    "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"];
# The names Docker accepts (go-units ulimitNameMapping; "as" is left out there too), each
# RLIMIT_ plus the upper-cased name.

# A volume as the client names it: Docker's volume name rules, at most 255 bytes (checked
# by the broker).
struct VolumeRef {
  name @0 :Text;
}

struct ListVolumesRequest {
  filters @0 :List(KeyValue);  # ?filters= flattened: (name|label|dangling|driver, value); at most 64
}

struct CreateVolumeRequest {
  name @0 :Text;               # empty: the engine picks 64 random hex digits
  driver @1 :Text;             # empty or "local"; anything else is judged and refused (501)
  driverOpts @2 :List(KeyValue);  # at most 64 entries
  labels @3 :List(KeyValue);   # at most 256 entries
}

struct RemoveVolumeRequest {
  name @0 :Text;
  force @1 :Bool;              # ?force= (a missing volume is no error)
}

struct PruneVolumesRequest {
  filters @0 :List(KeyValue);  # all=true: named volumes too; label=, label!= ; at most 64
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
    accepted @2 :UInt64;      # the request (by id) is valid and has begun: the frontend may
                              # send its response head (wait, logs, attach, exec, events)
    event @3 :Event;          # one event of an events stream
  }
}

struct Event {
  requestId @0 :UInt64;
  type @1 :Text;              # "container", "image", ...
  action @2 :Text;            # "create", "start", "die", ...
  actorId @3 :Text;
  attributes @4 :List(KeyValue);
  timeNanos @5 :Int64;
}

struct Response {
  id @0 :UInt64;   # the Request.id this answers

  result :union {
    error @1 :ErrorReply;
    info @2 :InfoReply;
    containerList @3 :ContainerListReply;
    imageList @4 :ImageListReply;
    version @5 :VersionReply;
    ok @6 :Void;                          # start, stop, kill, restart, pause, ... done
    containerCreated @7 :ContainerCreatedReply;
    containerInspect @8 :ContainerInspectReply;
    waitResult @9 :WaitResultReply;
    execCreated @10 :Text;                # the new exec's 64 hex id
    execInspect @11 :ExecInspectReply;
    imageInspect @12 :ImageSummary;
    imagePulled @13 :ImagePulledReply;
    imageRemoved @14 :List(Text);         # untagged references
    streamEnded @15 :Void;                # a stream (logs, attach, exec, events) ended normally
    volume @16 :Volume;                   # volume create, inspect
    volumeList @17 :List(Volume);         # GET /volumes
    volumesPruned @18 :VolumesPrunedReply;
  }
}

struct ContainerCreatedReply {
  id @0 :Text;                 # 64 hex
  warnings @1 :List(Text);
}

struct ContainerInspectReply {
  summary @0 :ContainerSummary;
  config @1 :ContainerConfig;  # as created
  pid @2 :Int32;               # host pid while running, else 0
  oomKilled @3 :Bool;
  error @4 :Text;
  restartCount @5 :Int32;
  path @6 :Text;               # the program actually run
  args @7 :List(Text);
  miniboxId @8 :Text;          # the current miniboxd id (16 hex), empty when not running
  execIds @9 :List(Text);      # the container's execs the caller can see, oldest first
  health @10 :Health;          # meaningful only when summary.health is not empty
}

struct WaitResultReply {
  statusCode @0 :Int64;
  error @1 :Text;              # empty: none
}

struct ExecInspectReply {
  id @0 :Text;
  containerId @1 :Text;
  running @2 :Bool;
  exitCode @3 :Int32;
  hasExitCode @4 :Bool;
  pid @5 :Int32;
  config @6 :ExecConfig;
}

struct ImagePulledReply {
  reference @0 :Text;          # normalised, e.g. docker.io/library/alpine:latest
  alreadyPresent @1 :Bool;
  digest @2 :Text;             # what the reference resolved to (verified); empty when unknown
  warning @3 :Text;            # shown as a status line; empty when none
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
  architecture @8 :Text;         # Go-style: amd64, arm64, ... (like VersionReply)
  ncpu @9 :UInt32;
  memTotal @10 :UInt64;          # bytes
  miniboxSocket @11 :Text;       # path of the upstream socket (shown in `docker info`)
  miniboxProtocol @12 :Text;     # "v0.19" or "head"
  engineId @13 :Text;            # stable id of this dockerbox instance (docker info "ID")
  dockerRootDir @14 :Text;       # DOCKERBOX_STATE_DIR
  securityOptions @15 :List(Text);  # what is actually applied, e.g. "name=dockerbox-policy"
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
  networkMode @12 :Text;   # HostConfig.NetworkMode as created
  tty @13 :Bool;
  health @14 :Text;        # "", "starting", "healthy", "unhealthy" (ps: "Up 3 minutes (healthy)")
  ports @15 :List(BoundPort);  # published ports while running
}

struct ContainerListReply {
  containers @0 :List(ContainerSummary);   # newest first
}

struct ImageSummary {
  id @0 :Text;             # "sha256:<64 hex>", derived from the store name (miniboxd has no ids)
  repoTags @1 :List(Text); # e.g. "alpine:latest" (Docker's short form)
  created @2 :Int64;       # unix seconds; 0 when unknown
  size @3 :Int64;          # bytes; 0 when unknown (miniboxd reports no sizes)
  repoDigests @4 :List(Text);  # "alpine@sha256:…" for images dockerbox pulled itself
  config @5 :Data;         # inspect only: the image config's bytes (digest verified at pull);
                           # empty when dockerbox does not know it
}

struct Volume {
  name @0 :Text;
  driver @1 :Text;             # "local"
  mountpoint @2 :Text;         # the host path of its content (root's alone)
  createdNanos @3 :Int64;      # unix nanoseconds
  labels @4 :List(KeyValue);
  options @5 :List(KeyValue);
  anonymous @6 :Bool;          # made for a container's anonymous mount
}

struct VolumesPrunedReply {
  deleted @0 :List(Text);
  spaceReclaimed @1 :UInt64;   # bytes (dockerbox does not measure: 0)
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
  timeNanos @4 :Int64;    # when the output was captured (logs); 0 when unknown
}

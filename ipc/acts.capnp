# The schema between the container service (the engine, unprivileged once it runs in its own
# process) and the root monitor: the acts the engine may ask for (containers/monitor_port.hpp).
#
# Rules:
# - The engine is not trusted. No field of ActCall names who is asking: an act names the
#   client request it serves (`request`), and the monitor uses the caller it bound to that
#   request itself. The owner inside a SealedRecord is data the monitor sealed (an HMAC over
#   it), checked before anything is done, never a claim of identity.
# - Every interim reply of a streaming act (run output, events) is acknowledged by the engine
#   (`ack`), and the monitor keeps at most kActWindow unacknowledged: one slow act never
#   stalls the channel or grows the monitor's memory.
# - The monitor validates every enum and union tag it reads (actcodec.cpp).

@0x83044b40ea504291;

using Cxx = import "/capnp/c++.capnp";
using Registry = import "registry.capnp";
using Dockerbox = import "dockerbox.capnp";
$Cxx.namespace("dockerbox::ipc::acts");

# ---------------------------------------------------------------------------
# Engine -> monitor

struct ActCall {
  id @0 :UInt64;
  # Chosen by the engine, unique while the act is in flight; echoed in every reply.
  request @1 :UInt64;
  # The client request this act serves (the monitor's number for it); 0 for the acts that
  # need no caller (list, listImages, probe, subscribeEvents, canConfine, restartRun,
  # healthCheck).

  act :union {
    list @2 :Void;
    listImages @3 :Void;
    probe @4 :Void;
    subscribeEvents @5 :Void;        # streams `event` until cancelled
    canConfine @6 :Void;
    sealContainer @7 :SealContainer;
    sealExec @8 :SealExec;
    pull @9 :Text;                   # an image reference (minibox::ImageRef::parse)
    removeImage @10 :Text;
    run @11 :SealedRecord;           # streams `created`, then `output`; ends with exitCode
    prepareExec @12 :PrepareExec;
    runExec @13 :UInt64;             # a ticket from prepareExec; streams `output`
    dropExec @14 :UInt64;            # no reply
    stop @15 :OnRun;
    pause @16 :OnRun;
    resume @17 :OnRun;
    cancel @18 :Void;                # ends the act `id` (an events stream); no reply
    ack @19 :Void;                   # one interim reply of act `id` was consumed; no reply
    resolveImage @20 :ResolveImage;  # replies `resolved`: dockerbox-registry's answer, unread
    input @21 :Input;                # client stdin for a held run or exec; replies `done` once written
    resizeTerminal @22 :ResizeTerminal;  # replies `done`
    signal @23 :SignalRun;           # replies `done` once the signal is sent
    createVolume @24 :Text;          # a volume name; replies `volumeCreated`
    removeVolume @25 :Text;          # a volume name; replies `done`
    restartRun @26 :SealedRecord;
    # Request 0: a run the container's own restart policy asks for (docker run --restart),
    # for the sealed owner. The monitor runs it only when the sealed config has a restart
    # policy, for an owner still admitted to the socket, judged again under the policy in
    # force now, with its own audit record. Replies as `run`.
    healthCheck @27 :OnRun;
    # Request 0: one run of the health check in the container's sealed config, in its
    # current run, confined as an exec of its owner (judged as its creator now), ended by
    # dockerbox-init at the check's timeout. At most one per container at a time. Streams
    # `output`, ends with `exitCode`.
  }
}

# Bytes of the client's stdin for a container whose run the monitor holds (OpenStdin), or
# for one of its execs (AttachStdin) when `exec` is set. The monitor writes them, unread,
# into the FIFO dockerbox-init reads the program's stdin from; `close` closes it (the
# program reads EOF). At most one input act per container or exec at a time. An exec's
# input is for an `exec.start` request only, a run's for `containers.attach`.
struct Input {
  container @0 :SealedRecord;
  data @1 :Data;       # at most kMaxInputChunk bytes
  close @2 :Bool;
  exec @3 :SealedRecord;  # unset: the container's run
}

# A new size for a held run's terminal (Tty), or an exec's when `exec` is set (for an
# `exec.resize` request; a run's for `containers.resize`), passed to dockerbox-init.
struct ResizeTerminal {
  container @0 :SealedRecord;
  rows @1 :UInt16;
  cols @2 :UInt16;
  exec @3 :SealedRecord;  # unset: the container's run
}

struct ResolveImage {
  reference @0 :Text;
  platform @1 :Text;   # empty: the host's
  username @2 :Text;   # the client's registry credentials (X-Registry-Auth); empty: anonymous.
  password @3 :Text;   # Handed to the registry client; never logged, audited or stored
  login @4 :Bool;      # docker login: `reference` is a registry address and only the
                       # credentials are checked (the answer holds only `reference`: the domain)
}

struct SealedRecord {
  id @0 :Text;        # 64 hex
  parent @1 :Text;    # an exec's container id; empty for a container
  owner @2 :Owner;
  config @3 :Data;    # the stored config, opaque to the engine
  seal @4 :Text;      # 64 hex, made by the monitor
}

struct Owner {
  uid @0 :UInt32;
  gid @1 :UInt32;
}

struct SealContainer {
  dockerId @0 :Text;
  config @1 :Data;
  image @2 :ImageDefaults;  # when hasImage: seal the config merged with them, judged again
  hasImage @3 :Bool;
}

# What an image's configuration gives a container (containers/config_blob.hpp), as the
# engine read it from a pull it verified. Not trusted: the merged config is judged.
struct ImageDefaults {
  entrypoint @0 :List(Text);
  hasEntrypoint @1 :Bool;
  cmd @2 :List(Text);
  hasCmd @3 :Bool;
  env @4 :List(Text);
  workingDir @5 :Text;
  user @6 :Text;
  stopSignal @7 :Text;
  labelKeys @8 :List(Text);     # the same length as labelValues
  labelValues @9 :List(Text);
  exposedPorts @10 :List(Text);
  volumes @11 :List(Text);      # the image's Volumes: anonymous volumes where no mount covers the path
  healthcheck @12 :Dockerbox.Healthcheck;  # the image's; meaningful when hasHealthcheck
  hasHealthcheck @13 :Bool;
}

struct SealExec {
  execId @0 :Text;
  container @1 :SealedRecord;
  config @2 :Data;
}

struct PrepareExec {
  container @0 :SealedRecord;
  miniboxId @1 :Text;
  exec @2 :SealedRecord;
}

struct OnRun {
  container @0 :SealedRecord;
  miniboxId @1 :Text;
}

# A signal for the current run of a container (docker kill -s, stop's StopSignal): the
# monitor sends it to the process miniboxd started, which is dockerbox-init (it forwards
# it to the program) for a confined run, the program itself otherwise.
struct SignalRun {
  container @0 :SealedRecord;
  miniboxId @1 :Text;
  signal @2 :Int32;    # 1..64
}

# ---------------------------------------------------------------------------
# Monitor -> engine

struct ActReply {
  id @0 :UInt64;
  union {
    # Final replies: the act is over.
    error @1 :ActError;
    done @2 :Void;
    exitCode @3 :Int32;                   # run, runExec: the raw miniboxd exit code
    containers @4 :List(ContainerInfo);   # list
    images @5 :List(Text);                # listImages
    protocol @6 :Protocol;                # probe
    confinable @7 :Bool;                  # canConfine
    seal @8 :Text;                        # sealContainer, sealExec
    ticket @9 :UInt64;                    # prepareExec
    volumeCreated @14 :Bool;              # createVolume: made now (false: the caller's already)
    resolved @13 :Registry.ResolvedImage; # resolveImage (nothing in it is verified yet; all
                                          # empty: dockerbox's registry client is not enabled)
    # Interim replies (each acknowledged).
    created @10 :Text;                    # run: the miniboxd id
    output @11 :Output;                   # run, runExec
    event @12 :ContainerEvent;            # subscribeEvents
    published @15 :List(Dockerbox.BoundPort);  # run: its ports as bound (before `created`)
  }
}

struct ActError {
  kind @0 :ErrorKind;
  message @1 :Text;   # shown to the client
  context @2 :Text;   # the daemon's log only
}

enum ErrorKind {
  internal @0;
  badRequest @1;
  notFound @2;
  conflict @3;
  forbidden @4;
  unavailable @5;
  notImplemented @6;
  notModified @7;
}

enum Protocol {
  v019 @0;
  head @1;
}

enum ContainerState {
  created @0;
  running @1;
  paused @2;
  stopped @3;
  failed @4;
  orphaned @5;
}

struct ContainerInfo {
  id @0 :Text;
  name @1 :Text;
  hasName @2 :Bool;
  image @3 :Text;
  command @4 :Text;
  state @5 :ContainerState;
  createdAtUnixNanos @6 :Int64;
  pid @7 :UInt32;
  hasPid @8 :Bool;
}

enum EventKind {
  created @0;
  started @1;
  stopped @2;
  paused @3;
  resumed @4;
  oomKilled @5;
  imagePulled @6;
  imageRemoved @7;
  imagePruned @8;
}

struct ContainerEvent {
  kind @0 :EventKind;
  id @1 :Text;
  image @2 :Text;
  exitCode @3 :Int32;
  hasExitCode @4 :Bool;
}

struct Output {
  stderr @0 :Bool;
  data @1 :Data;      # at most 64 KiB
}

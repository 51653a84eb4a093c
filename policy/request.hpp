// What the evaluator judges: the policy's own plain values. The broker fills them from a
// request that broker::decodeRequest already validated, plus facts it looked up itself
// (names for the kernel-attested ids, resolved bind sources, access checks). The evaluator
// never sees Cap'n Proto, JSON or anything the frontend stated about identity.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dockerbox::policy {

/// The caller. Ids come from SO_PEERCRED / SO_PEERGROUPS (P1); names and home are the
/// broker's lookups for those ids (empty when an id has no name).
struct Subject {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups
  std::string userName;
  std::vector<std::string> groupNames;  // names of gid and of every supplementary group
  std::string home;                     // the account's home directory, for {home}
};

/// Where a mount's source comes from.
enum class BindKind {
  Bind,              // a host path (Binds entry or Mounts type=bind)
  Volume,            // a named volume, no host path (requestedSource is the volume name)
  VolumeDriverBind,  // local driver options o=bind,device=<path>: a bind of the device path
};

/// Whether the container may write through the mount.
enum class MountAccess { ReadWrite, ReadOnly };

struct Bind {
  BindKind kind = BindKind::Bind;
  std::string requestedSource;  // as the client sent it; for messages only
  std::optional<std::string>
      resolvedSource;  // realpath by the broker; nullopt: unresolved or missing
  MountAccess access = MountAccess::ReadWrite;
  // The broker checked, with the caller's uid/gid/groups, that the caller could access
  // resolvedSource themselves in the requested mode (read for ReadOnly, read and write for
  // ReadWrite). Must be false when not checked.
  bool userCanAccess = false;
};

/// One host binding a container asks for (`-p [ip:]hostPort:containerPort[/proto]`, or one
/// exposed port under `-P`). The broker binds it itself, as root, so the policy judges the
/// socket that will really be opened.
struct PortPublish {
  std::string protocol;  // "tcp" or "udp"; anything else is denied (fail closed)
  // The address that will actually be bound, never empty: the broker substitutes its default
  // ("127.0.0.1") for an empty HostIp. "0.0.0.0" and "::" mean every address. Textual; the
  // policy normalises it ("0:0:0:0:0:0:0:1" is "::1"). Not an IP address: denied.
  std::string hostIp;
  std::uint16_t hostPort = 0;  // 0: a port the kernel picks from its ephemeral range
  std::uint16_t containerPort = 0;
};

/// Every privilege-raising or policy-relevant field of Engine API Config/HostConfig.
struct ContainerSpec {
  std::string image;  // normalised reference: "docker.io/library/alpine:latest"
  std::string user;   // Config.User exactly as given
  bool privileged = false;
  std::vector<std::string> capAdd;
  std::vector<std::string> devices;  // host paths (PathOnHost)
  bool deviceRequests = false;       // HostConfig.DeviceRequests non-empty
  bool deviceCgroupRules = false;    // HostConfig.DeviceCgroupRules non-empty
  std::vector<std::string> securityOpt;
  std::string pidMode, ipcMode, utsMode, usernsMode, cgroupnsMode;
  std::map<std::string, std::string> sysctls;
  std::string cgroupParent;
  std::string runtime;
  bool oomKillDisable = false;
  std::vector<std::string> groupAdd;
  std::vector<std::string> volumesFrom;  // mounts another container's volumes
  bool maskedPathsSet = false;           // HostConfig.MaskedPaths given (replaces the defaults)
  bool readonlyPathsSet = false;         // HostConfig.ReadonlyPaths given
  std::string networkMode;               // "" counts as "default"
  std::uint64_t memory = 0;              // bytes; 0 = unset
  std::uint64_t nanoCpus = 0;            // 0 = unset
  std::vector<Bind> binds;               // Binds, Mounts and binding volume driver options
  std::vector<PortPublish> ports;        // PortBindings (and -P's picks): host sockets to bind
};

/// exec.create: the fields that raise privilege.
struct ExecSpec {
  bool privileged = false;
  std::string user;  // empty: the container's user
};

/// volumes.create.
struct VolumeSpec {
  std::string driver;       // "" or "local"; anything else needs `privileged`
  std::vector<Bind> binds;  // driver options that bind a host path (kind VolumeDriverBind)
};

struct Request {
  std::string operation;                   // a name from the broker's dispatch table
  std::optional<ContainerSpec> container;  // containers.create (and start, with the stored spec)
  std::optional<ExecSpec> exec;            // exec.create
  std::optional<VolumeSpec> volume;        // volumes.create
  std::vector<std::string> images;  // normalised references the request names (pull, tag, ...)
};

/// Who created an object, recorded by the broker from the creator's kernel identity.
struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;  // the creator's primary (effective) gid at creation
};

}  // namespace dockerbox::policy

# The schema between the root monitor and dockerbox-registry, the sandboxed registry client
# it starts for each image resolution (registry/main.cpp): one request, one reply, then the
# client exits.
#
# Rules:
# - The registry client is not trusted. The monitor copies what it answers to the engine
#   without reading the bytes (it never parses manifests or configs); the engine verifies
#   every digest before it believes anything (engine/containers/service_images.cpp).
# - No field names who asked: the monitor judged the client request that caused this.

@0x9435f9eb38cf70f3;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("dockerbox::ipc::registry");

struct RegistryRequest {
  reference @0 :Text;                   # as the client sent it; the client normalises it
  platform @1 :Text;                    # "os/arch[/variant]"; empty = the host's
  insecureRegistries @2 :List(Text);    # host[:port] spoken to in plain HTTP (besides loopback)
  username @3 :Text;                    # the client's credentials for this registry; empty:
  password @4 :Text;                    # anonymous. Never logged
  login @5 :Bool;                       # docker login: `reference` is a registry address; only
                                        # check the credentials (the reply's image then holds
                                        # only `reference`, the registry's domain)
}

struct RegistryReply {
  union {
    error @0 :RegistryError;
    image @1 :ResolvedImage;
  }
}

struct RegistryError {
  kind @0 :UInt8;      # dockerbox::ErrorKind
  message @1 :Text;    # shown to the client
}

struct ResolvedImage {
  reference @0 :Text;       # canonical: docker.io/library/alpine:latest
  repoDigest @1 :Text;      # sha256 of `index` when the reference named an index, else of `manifest`
  manifestDigest @2 :Text;  # sha256 of `manifest`
  manifest @3 :Data;        # the platform's image manifest, as the registry sent it
  index @4 :Data;           # the index, when the reference named one; else empty
  configDigest @5 :Text;
  config @6 :Data;          # the image config, as the registry sent it
}

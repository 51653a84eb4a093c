// dockerbox-registry: dockerbox's own client for OCI distribution registries (issue 10).
// Network-facing code never runs in the root broker: this process runs as its own user,
// with no capability and no host file, under a seccomp deny-list (sandbox.hpp), and what
// it fetches is verified by digest (here, and again by the engine). Thin by design
// (style.md §1): flags, logging, sandbox, one resolution.
//
//   dockerbox-registry serve --uid N --gid N [--log-level LEVEL] [--log-format text|journal]
//     Started by dockerboxd as root for one image: confines itself (sandbox.hpp), reads one
//     RegistryRequest (ipc/registry.capnp) from fd 3, answers one RegistryReply, exits.
//   dockerbox-registry serve --unprivileged [--log-level LEVEL] [--log-format text|journal]
//     The same, started by systemd (deploy/dockerbox-registry@.service) already as its own
//     user in the unit's sandbox, with the connection as fd 3: it checks that it holds
//     nothing, then loads the same seccomp deny-list.
//
//   dockerbox-registry inspect [--platform OS/ARCH[/VARIANT]] [--insecure-registry HOST[:PORT]]...
//                              [--user NAME] [--username NAME --password-stdin] [--raw-config] REFERENCE
//     For administrators and tests: prints what REFERENCE resolves to (the repository
//     digest, the platform's manifest digest, the verified image config); --raw-config
//     prints the config blob exactly as the registry sent it (what `skopeo inspect --raw
//     --config` prints). Run as root, it confines itself as --user (required then).
#include "common/confine.hpp"
#include "common/deny_filter.hpp"
#include "common/log_format.hpp"
#include "ipc/framing.hpp"
#include "ipc/registry.capnp.h"
#include "registry/client.hpp"
#include "registry/image_config.hpp"
#include "registry/json_limits.hpp"
#include "registry/sandbox.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <spdlog/spdlog.h>

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#if defined(DOCKERBOX_SANITIZER_BUILD) && DOCKERBOX_SANITIZER_BUILD
// LeakSanitizer needs /proc and ptrace, neither of which exists in the sandbox.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
#endif

namespace asio = boost::asio;
using namespace dockerbox;
using namespace dockerbox::registry;

namespace {

constexpr auto kStepTimeout = std::chrono::seconds(30);
constexpr int kChannelFd = 3;
constexpr std::size_t kMaxRequestBytes = 1 << 20;

struct InspectArgs {
  std::string reference;
  std::string platform;
  std::string user;
  std::string username;
  bool passwordStdin = false;
  bool rawConfig = false;
  std::vector<std::string> insecure;
};

struct ServeArgs {
  std::optional<unsigned> uid, gid;
  bool unprivileged = false;
  HelperLogFlags log;
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s serve (--uid UID --gid GID | --unprivileged) [--log-level LEVEL] [--log-format text|journal]\n"
               "         (started by dockerboxd or systemd: one request on fd 3)\n"
               "       %s inspect [--platform OS/ARCH[/VARIANT]] [--insecure-registry HOST[:PORT]]...\n"
               "                  [--user NAME] [--username NAME --password-stdin] [--raw-config] REFERENCE\n",
               argv0, argv0);
  std::exit(2);
}

InspectArgs parseInspect(int argc, char** argv) {
  InspectArgs a;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(argv[0]);
      return argv[++i];
    };
    if (arg == "--platform") a.platform = value();
    else if (arg == "--insecure-registry") a.insecure.push_back(value());
    else if (arg == "--user") a.user = value();
    else if (arg == "--username") a.username = value();
    else if (arg == "--password-stdin") a.passwordStdin = true;
    else if (arg == "--raw-config") a.rawConfig = true;
    else if (!arg.starts_with("-") && a.reference.empty()) a.reference = arg;
    else usage(argv[0]);
  }
  if (a.reference.empty() || a.passwordStdin != !a.username.empty()) usage(argv[0]);
  return a;
}

ServeArgs parseServe(int argc, char** argv) {
  ServeArgs a;
  int first = 2;
  if (argc > 2 && std::string_view(argv[2]) == "--unprivileged") {
    a.unprivileged = true;
    first = 3;
  }
  if ((argc - first) % 2 != 0) usage(argv[0]);
  for (int i = first; i + 1 < argc; i += 2) {
    std::string_view name = argv[i];
    std::string_view value = argv[i + 1];
    if (name == "--uid") {
      if (!(a.uid = confine::parseId(value))) usage(argv[0]);
    } else if (name == "--gid") {
      if (!(a.gid = confine::parseId(value))) usage(argv[0]);
    } else if (auto taken = a.log.take(name, value); !taken || !*taken) {
      usage(argv[0]);
    }
  }
  if (a.unprivileged == (a.uid || a.gid) || (!a.unprivileged && (!a.uid || !a.gid))) usage(argv[0]);
  return a;
}

/// Under systemd: the unit made the sandbox (its own user, no capability, no_new_privs, no
/// dockerbox file); this checks what it promised and adds the seccomp deny-list.
Result<void> confineUnprivileged() {
  if (::geteuid() == 0 || ::getuid() == 0) return fail(ErrorKind::Internal, "refusing to run as root with --unprivileged");
  const int keep[] = {kChannelFd};
  if (auto ok = confine::beginSandbox(keep); !ok) return ok;
  if (auto ok = confine::dieWithParent(::getppid()); !ok) return ok;
  confine::verifyUnprivileged("dockerbox-registry", ::getuid(), ::getgid());
  return confine::loadDenyFilter({.networkClient = true});
}

Result<ResolvedImage> resolveOnce(asio::ssl::context& tls, ClientOptions options, const Reference& ref,
                                  const Platform& platform) {
  asio::io_context io;
  HttpClient http(tls, kStepTimeout);
  RegistryClient client(http, std::move(options));
  auto future = asio::co_spawn(io, client.resolve(ref, platform), asio::use_future);
  io.run();
  return future.get();
}

/// A login check: the registry's domain once it accepted the credentials.
Result<std::string> loginOnce(asio::ssl::context& tls, ClientOptions options, const Reference& registry) {
  asio::io_context io;
  HttpClient http(tls, kStepTimeout);
  RegistryClient client(http, std::move(options));
  auto future = asio::co_spawn(io, client.login(registry), asio::use_future);
  io.run();
  auto ok = future.get();
  if (!ok) return ok.error();
  return registry.domain;
}

ClientOptions optionsOf(ipc::registry::RegistryRequest::Reader request) {
  ClientOptions options;
  for (auto host : request.getInsecureRegistries()) options.insecureRegistries.emplace_back(host.cStr());
  if (request.getUsername().size() > 0) {
    options.credentials = Credentials{request.getUsername().cStr(), request.getPassword().cStr()};
  }
  return options;
}

Result<ResolvedImage> resolveRequest(asio::ssl::context& tls, ipc::registry::RegistryRequest::Reader request) {
  auto ref = parseReference(request.getReference().cStr());
  if (!ref) return ref.error();
  auto platform = request.getPlatform().size() == 0 ? Result<Platform>(hostPlatform())
                                                    : parsePlatform(request.getPlatform().cStr());
  if (!platform) return platform.error();
  return resolveOnce(tls, optionsOf(request), *ref, *platform);
}

/// Reads the one request frame from the channel (blocking: nothing else happens meanwhile).
Result<kj::Array<capnp::word>> readRequest() {
  ipc::FrameDecoder decoder(kMaxRequestBytes);
  std::vector<std::byte> buffer(16 * 1024);
  while (true) {
    const ssize_t n = ::read(kChannelFd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(ErrorKind::Unavailable, "the monitor closed the channel before asking");
    if (auto fed = decoder.feed({buffer.data(), static_cast<std::size_t>(n)}); !fed) return fed.error();
    auto next = decoder.next();
    if (!next) return next.error();
    if (*next) return std::move(**next);
  }
}

bool writeAll(const std::vector<std::byte>& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(kChannelFd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

int serve(int argc, char** argv) {
  const ServeArgs args = parseServe(argc, argv);
  useHelperLogger("registry", args.log);
  ::signal(SIGPIPE, SIG_IGN);
  auto tls = makeTlsContext();
  if (!tls) {
    spdlog::critical("event=startup_failed what=tls error=\"{}\"", tls.error().message);
    return 1;
  }
  auto confined = args.unprivileged ? confineUnprivileged() : enterSandbox({*args.uid, *args.gid, {kChannelFd}});
  if (auto& ok = confined; !ok) {
    spdlog::critical("event=startup_failed what=sandbox error=\"{}\" context=\"{}\"", ok.error().message,
                     ok.error().context);
    return 1;
  }
  auto frame = readRequest();
  if (!frame) {
    spdlog::error("event=request_refused error=\"{}\"", frame.error().message);
    return 1;
  }
  capnp::MallocMessageBuilder message;
  auto reply = message.initRoot<ipc::registry::RegistryReply>();
  try {
    capnp::FlatArrayMessageReader reader(*frame, ipc::readerOptions(kMaxRequestBytes / 8 * 2));
    auto request = reader.getRoot<ipc::registry::RegistryRequest>();
    if (request.getLogin()) {
      auto registry = parseRegistryAddress(request.getReference().cStr());
      auto domain = registry ? loginOnce(*tls, optionsOf(request), *registry) : Result<std::string>(registry.error());
      if (domain) {
        reply.initImage().setReference(*domain);
        spdlog::info("event=login_checked registry={}", *domain);
      } else {
        auto e = reply.initError();
        e.setKind(static_cast<std::uint8_t>(domain.error().kind));
        e.setMessage(domain.error().message);
        spdlog::info("event=login_failed error=\"{}\"", domain.error().message);
      }
      return writeAll(ipc::encodeFrame(message)) ? 0 : 1;
    }
    auto resolved = resolveRequest(*tls, request);
    if (resolved) {
      auto out = reply.initImage();
      out.setReference(resolved->reference.canonical());
      out.setRepoDigest(resolved->repoDigest);
      out.setManifestDigest(resolved->manifestDigest);
      auto bytes = [](const std::string& s) { return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size()); };
      out.setManifest(bytes(resolved->manifest));
      out.setIndex(bytes(resolved->index));
      out.setConfigDigest(resolved->configDigest);
      out.setConfig(bytes(resolved->config));
      spdlog::info("event=resolved reference={} digest={}", resolved->reference.canonical(), resolved->repoDigest);
    } else {
      auto e = reply.initError();
      e.setKind(static_cast<std::uint8_t>(resolved.error().kind));
      e.setMessage(resolved.error().message);
      spdlog::info("event=resolve_failed error=\"{}\"", resolved.error().message);
    }
  } catch (const kj::Exception& e) {
    spdlog::error("event=request_refused error=\"{}\"", e.getDescription().cStr());
    return 1;
  }
  return writeAll(ipc::encodeFrame(message)) ? 0 : 1;
}

int die(const std::string& message) {
  std::fprintf(stderr, "Error: %s\n", message.c_str());
  return 1;
}

boost::json::object summaryOf(const ResolvedImage& image) {
  boost::json::object out;
  out["Reference"] = image.reference.canonical();
  out["RepoDigest"] = image.reference.repository() + "@" + image.repoDigest;
  out["ManifestDigest"] = image.manifestDigest;
  out["ConfigDigest"] = image.configDigest;
  out["LayersSize"] = image.layersSize;
  auto config = parseLimitedJson(image.config);
  out["Config"] = config ? std::move(*config) : boost::json::value();
  return out;
}

int inspect(int argc, char** argv) {
  const InspectArgs args = parseInspect(argc, argv);
  auto ref = parseReference(args.reference);
  if (!ref) return die(ref.error().message);
  auto platform = args.platform.empty() ? Result<Platform>(hostPlatform()) : parsePlatform(args.platform);
  if (!platform) return die(platform.error().message);
  ClientOptions options;
  options.insecureRegistries = args.insecure;
  if (args.passwordStdin) {
    std::string password;
    std::getline(std::cin, password);
    options.credentials = Credentials{args.username, password};
  }
  auto tls = makeTlsContext();
  if (!tls) return die(tls.error().message);
  if (::geteuid() == 0) {
    if (args.user.empty()) return die("refusing to reach a registry as root: name the client's user with --user");
    struct passwd* pw = ::getpwnam(args.user.c_str());
    if (pw == nullptr) return die("no such user: " + args.user);
    const int out = ::dup(STDOUT_FILENO);
    if (out < 0) return die("dup(stdout) failed");
    if (auto ok = enterSandbox({pw->pw_uid, pw->pw_gid, {out}}); !ok) {
      return die(ok.error().message + (ok.error().context.empty() ? "" : ": " + ok.error().context));
    }
    if (::dup2(out, STDOUT_FILENO) < 0) return die("dup2(stdout) failed");
    ::close(out);
  }
  auto resolved = resolveOnce(*tls, std::move(options), *ref, *platform);
  if (!resolved) return die(resolved.error().message);
  if (args.rawConfig) {
    std::fwrite(resolved->config.data(), 1, resolved->config.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  if (auto config = parseImageConfig(resolved->config); !config) return die(config.error().message);
  std::printf("%s\n", boost::json::serialize(summaryOf(*resolved)).c_str());
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "serve") return serve(argc, argv);
  if (argc >= 2 && std::string_view(argv[1]) == "inspect") return inspect(argc, argv);
  usage(argv[0]);
}

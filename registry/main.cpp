// dockerbox-registry: dockerbox's own client for OCI distribution registries (issue 10).
// Network-facing code never runs in the root broker: this process runs as its own user,
// with no capability and no host file, under a seccomp deny-list (sandbox.hpp), and what
// it fetches is verified by digest.
//
//   dockerbox-registry inspect [--platform OS/ARCH[/VARIANT]] [--insecure-registry HOST[:PORT]]...
//                              [--user NAME] [--username NAME --password-stdin] [--raw-config] REFERENCE
//
// prints what REFERENCE resolves to: the repository digest, the platform's manifest digest,
// the image config (verified) and the compressed size; --raw-config prints the config blob
// exactly as the registry sent it (what `skopeo inspect --raw --config` prints). Run as
// root, it confines itself as --user (required then) before it touches the network.
#include "registry/client.hpp"
#include "registry/image_config.hpp"
#include "registry/json_limits.hpp"
#include "registry/sandbox.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace dockerbox;
using namespace dockerbox::registry;

namespace {

constexpr auto kStepTimeout = std::chrono::seconds(30);

struct Args {
  std::string reference;
  std::string platform;
  std::string user;
  std::string username;
  bool passwordStdin = false;
  bool rawConfig = false;
  std::vector<std::string> insecure;
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s inspect [--platform OS/ARCH[/VARIANT]] [--insecure-registry HOST[:PORT]]...\n"
               "                  [--user NAME] [--username NAME --password-stdin] [--raw-config] REFERENCE\n",
               argv0);
  std::exit(2);
}

Args parseArgs(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) != "inspect") usage(argv[0]);
  Args a;
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

}  // namespace

int main(int argc, char** argv) {
  const Args args = parseArgs(argc, argv);
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

  asio::io_context io;
  HttpClient http(*tls, kStepTimeout);
  RegistryClient client(http, options);
  auto future = asio::co_spawn(io, client.resolve(*ref, *platform), asio::use_future);
  io.run();
  auto resolved = future.get();
  if (!resolved) return die(resolved.error().message);
  if (args.rawConfig) {
    std::fwrite(resolved->config.data(), 1, resolved->config.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  if (auto config = parseImageConfig(resolved->config); !config) return die(config.error().message);
  std::printf("%s\n", boost::json::serialize(summaryOf(*resolved)).c_str());
  return std::fflush(stdout) == 0 ? 0 : 1;
}

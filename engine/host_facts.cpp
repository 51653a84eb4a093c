#include "engine/host_facts.hpp"

#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>

namespace dockerbox::broker {
namespace {

std::string goArch(const std::string& machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine == "i686" || machine == "i386") return "386";
  if (machine.rfind("armv7", 0) == 0) return "arm";
  return machine;
}

std::string prettyName() {
  std::ifstream in("/etc/os-release");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
    std::string value = line.substr(12);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return value;
  }
  return "Linux";
}

}  // namespace

HostFacts readHostFacts() {
  HostFacts facts;
  utsname uts{};
  if (::uname(&uts) == 0) {
    facts.hostname = uts.nodename;
    facts.kernelVersion = uts.release;
    facts.architecture = goArch(uts.machine);
  }
  facts.operatingSystem = prettyName();
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  facts.ncpu = cpus > 0 ? static_cast<std::uint32_t>(cpus) : 1;
  struct sysinfo info{};
  if (::sysinfo(&info) == 0) facts.memTotal = static_cast<std::uint64_t>(info.totalram) * info.mem_unit;
  return facts;
}

}  // namespace dockerbox::broker

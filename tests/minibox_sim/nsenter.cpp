// minibox-sim, miniboxd process model: the nsenter command line of upstream's exec adapter.
#include "tests/minibox_sim/nsenter.hpp"

#include <map>

namespace dockerbox::sim {

std::vector<std::string> nsenterArgv(pid_t target, const std::vector<std::string>& cmd,
                                     const std::optional<std::string>& workingDir) {
  std::vector<std::string> argv = {
      "nsenter", "--target", std::to_string(target), "--mount", "--pid", "--net", "--uts", "--ipc"};
  if (workingDir) {
    argv.emplace_back("--wd");
    argv.push_back(*workingDir);
  }
  argv.emplace_back("--");
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  return argv;
}

SpawnSpec nsenterSpec(pid_t target, const std::vector<std::string>& cmd,
                      const std::vector<std::string>& env,
                      const std::optional<std::string>& workingDir) {
  SpawnSpec spec;
  spec.argv = nsenterArgv(target, cmd, workingDir);
  // Rust's CommandEnv is a BTreeMap: a repeated key keeps its last value and the child's environ
  // comes out sorted by key (bytewise), which the exec'd command then inherits.
  std::map<std::string, std::string> vars;
  for (const auto& kv : env) {
    auto eq = kv.find('=');
    vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [key, value] : vars) spec.env.push_back(key + "=" + value);
  spec.style = ExecStyle::Nsenter;
  return spec;
}

}  // namespace dockerbox::sim

// Runs in dockerbox-init after the privilege drop, as the user. Input: the command and
// environment the broker wrote; the files it finds are the container's.
#include "init/exec_path.hpp"

#include "init/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace dockerbox::init {
namespace {

bool definesVariable(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& entry : env) {
    if (entry.size() > name.size() && entry.starts_with(name) && entry[name.size()] == '=') {
      return true;
    }
  }
  return false;
}

std::string quotedName(std::string_view name) { return "exec: \"" + std::string(name) + "\""; }

/// strerror text in Docker's lower-case style ("permission denied").
std::string reasonText(int err) {
  std::string text = std::strerror(err);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

enum class Candidate { Executable, NotExecutable, Absent };

Candidate probe(const std::string& path) {
  // AT_EACCESS: the effective ids decide, as they will for execve.
  if (::faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) != 0) {
    return errno == EACCES ? Candidate::NotExecutable : Candidate::Absent;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Candidate::Absent;
  // execve refuses a directory with EACCES, and execvp moves on.
  return S_ISDIR(st.st_mode) ? Candidate::NotExecutable : Candidate::Executable;
}

}  // namespace

std::vector<std::string> programEnvironment(const std::vector<std::string>& env,
                                            std::string_view home) {
  std::vector<std::string> out = env;
  if (!definesVariable(out, "PATH")) out.emplace_back(kDefaultPathEnv);
  if (!definesVariable(out, "HOME")) out.push_back("HOME=" + std::string(home));
  return out;
}

std::string_view pathValue(const std::vector<std::string>& env) {
  std::string_view value;
  for (const auto& entry : env) {
    if (entry.starts_with("PATH=")) value = std::string_view(entry).substr(5);
  }
  return value;
}

Result<std::string> findExecutable(std::string_view name, std::string_view path) {
  if (name.find('/') != std::string_view::npos) return std::string(name);
  bool sawForbidden = false;
  for (;;) {
    auto colon = path.find(':');
    auto dir = path.substr(0, colon);
    std::string candidate = (dir.empty() ? std::string(".") : std::string(dir)) + "/";
    candidate += name;
    switch (probe(candidate)) {
      case Candidate::Executable: return candidate;
      case Candidate::NotExecutable: sawForbidden = true; break;
      case Candidate::Absent: break;
    }
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  if (sawForbidden) {
    return fail(ErrorKind::Forbidden, quotedName(name) + ": " + reasonText(EACCES));
  }
  return fail(ErrorKind::NotFound, quotedName(name) + ": executable file not found in $PATH");
}

Error execProgram(const std::string& path, const std::vector<std::string>& argv,
                  const std::vector<std::string>& env) {
  std::vector<char*> argvPointers;
  std::vector<char*> envPointers;
  for (const auto& arg : argv) argvPointers.push_back(const_cast<char*>(arg.c_str()));
  for (const auto& entry : env) envPointers.push_back(const_cast<char*>(entry.c_str()));
  argvPointers.push_back(nullptr);
  envPointers.push_back(nullptr);
  ::execve(path.c_str(), argvPointers.data(), envPointers.data());
  int err = errno;
  auto kind = (err == ENOENT || err == ENOTDIR) ? ErrorKind::NotFound : ErrorKind::Forbidden;
  return fail(kind, quotedName(path) + ": " + reasonText(err));
}

int exitCodeFor(const Error& error) {
  return error.kind == ErrorKind::Forbidden ? kExitCannotExecute : kExitNotFound;
}

}  // namespace dockerbox::init

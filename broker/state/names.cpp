// Docker's rules for container names and ids, and their error texts. Runs as root (in the
// broker). Input: names and id references as the client sent them (untrusted text).
#include "broker/state/names.hpp"

#include "common/syscall.hpp"

#include <sys/random.h>

#include <algorithm>
#include <array>

namespace dockerbox::broker::state {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Docker's list (moby/pkg/namesgenerator) is much longer; a short one keeps this file
// small. Combined with the attempt suffix the scheme never runs out of names.
constexpr std::array<std::string_view, 32> kAdjectives = {
    "admiring",   "affectionate", "amazing",  "brave",  "clever",  "compassionate", "cool",
    "determined", "eager",        "elegant",  "epic",   "festive", "focused",       "gallant",
    "happy",      "hopeful",      "jolly",    "keen",   "kind",    "loving",        "modest",
    "nifty",      "optimistic",   "peaceful", "quirky", "relaxed", "serene",        "sharp",
    "trusting",   "vibrant",      "wizardly", "zen"};

constexpr std::array<std::string_view, 32> kSurnames = {
    "babbage", "bell",     "curie",   "darwin",     "dijkstra", "einstein", "euler",   "fermi",
    "feynman", "gauss",    "goodall", "hopper",     "hypatia",  "johnson",  "kepler",  "knuth",
    "lamarr",  "lovelace", "meitner", "mirzakhani", "newton",   "noether",  "pasteur", "ritchie",
    "shannon", "sinoussi", "tesla",   "thompson",   "torvalds", "turing",   "wozniak", "yalow"};

bool isNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool isNameChar(char c) { return isNameStart(c) || c == '_' || c == '.' || c == '-'; }

bool isLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

Result<void> fillRandom(void* buffer, std::size_t size) {
  auto* bytes = static_cast<unsigned char*>(buffer);
  std::size_t done = 0;
  while (done < size) {
    auto got = DOCKERBOX_SYSCALL(::getrandom(bytes + done, size - done, 0), "getrandom");
    if (!got) return got.error();
    done += static_cast<std::size_t>(*got);
  }
  return {};
}

}  // namespace

Result<std::string> randomHex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  auto filled = fillRandom(raw.data(), raw.size());
  if (!filled) return filled.error();
  std::string hex;
  hex.reserve(bytes * 2);
  for (unsigned char c : raw) {
    hex.push_back(kHexDigits[c >> 4]);
    hex.push_back(kHexDigits[c & 0xf]);
  }
  return hex;
}

Result<std::string> randomDockerId() {
  for (;;) {
    auto id = randomHex(32);
    if (!id) return id;
    const std::string_view shortId = std::string_view(*id).substr(0, 12);
    // Probability 10^12/16^12 (~0.4%) per draw, so this loop ends quickly.
    bool allDigits =
        std::all_of(shortId.begin(), shortId.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!allDigits) return id;
  }
}

bool isFullId(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), isLowerHex);
}

bool isIdPrefix(std::string_view text) {
  return !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), isLowerHex);
}

Result<std::string> normaliseContainerName(std::string_view untrustedName) {
  std::string_view name = untrustedName;
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  // Docker's regex also lets "//web" through (and then stores "//web"); we refuse it,
  // since no client produces it and it would make "/"-stripping ambiguous.
  bool valid = name.size() >= 2 && name.size() <= kMaxNameLength && isNameStart(name.front()) &&
               std::all_of(name.begin() + 1, name.end(), isNameChar);
  if (!valid) {
    std::string shown(untrustedName.substr(0, kMaxNameLength + 1));  // bounded echo
    return fail(ErrorKind::BadRequest, "Invalid container name (" + shown +
                                           "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  }
  return std::string(name);
}

Error nameConflict(std::string_view name, std::string_view holderId) {
  std::string message = "Conflict. The container name \"/";
  message.append(name);
  message += "\" is already in use by container \"";
  message.append(holderId);
  message += "\". You have to remove (or rename) that container to be able to reuse that name.";
  return fail(ErrorKind::Conflict, std::move(message));
}

Error noSuchContainer(std::string_view ref) {
  return fail(ErrorKind::NotFound, "No such container: " + std::string(ref));
}

std::string dockerStyleName(const std::function<std::uint32_t(std::uint32_t)>& pick, int attempt) {
  std::string name(
      kAdjectives[pick(static_cast<std::uint32_t>(kAdjectives.size())) % kAdjectives.size()]);
  name += '_';
  name += kSurnames[pick(static_cast<std::uint32_t>(kSurnames.size())) % kSurnames.size()];
  if (attempt > 0) name += std::to_string(attempt);
  return name;
}

std::uint32_t randomBelow(std::uint32_t n) {
  if (n == 0) return 0;
  // Rejection sampling, so every name is equally likely.
  const std::uint32_t limit = UINT32_MAX - (UINT32_MAX % n);
  for (;;) {
    std::uint32_t value = 0;
    if (!fillRandom(&value, sizeof value)) return 0;
    if (value < limit) return value % n;
  }
}

}  // namespace dockerbox::broker::state

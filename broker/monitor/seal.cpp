// Runs as root, in the monitor. Input: see seal.hpp.
#include "broker/monitor/seal.hpp"

#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace dockerbox::broker::monitor {
namespace {

constexpr std::string_view kDomain = "dockerbox-seal-v1";

void appendField(std::string& out, std::string_view bytes) {
  const std::uint64_t n = bytes.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out.append(bytes);
}

std::string message(SealKind kind, const containers::SealedRecord& r) {
  std::string out;
  appendField(out, kDomain);
  appendField(out, std::string(1, static_cast<char>(kind)));
  appendField(out, r.id);
  appendField(out, r.parent);
  appendField(out, std::to_string(r.ownerUid));
  appendField(out, std::to_string(r.ownerGid));
  appendField(out, std::string_view(reinterpret_cast<const char*>(r.config.data()), r.config.size()));
  return out;
}

Result<void> readAll(int fd, std::uint8_t* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(ErrorKind::Internal, "seal key unreadable", n < 0 ? errnoText(errno) : "short file");
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

Result<Sealer> Sealer::open(const std::string& path) {
  Key key{};
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!file && errno == ENOENT) {
    // A fresh state directory: a new key, written whole before it is given its name.
    if (::getrandom(key.data(), key.size(), 0) != static_cast<ssize_t>(key.size())) {
      return fail(ErrorKind::Internal, "seal key", "getrandom: " + errnoText(errno));
    }
    const std::string temp = path + ".new";
    ::unlink(temp.c_str());
    UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return fail(ErrorKind::Internal, "seal key", temp + ": " + errnoText(errno));
    if (::write(out.get(), key.data(), key.size()) != static_cast<ssize_t>(key.size()) || ::fsync(out.get()) != 0 ||
        ::rename(temp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(temp.c_str());
      return fail(ErrorKind::Internal, "seal key", path + ": " + errnoText(err));
    }
    return Sealer(key);
  }
  if (!file) return fail(ErrorKind::Internal, "seal key", path + ": " + errnoText(errno));
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) return fail(ErrorKind::Internal, "seal key", path + ": " + errnoText(errno));
  if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 07777) != 0600 ||
      st.st_size != static_cast<off_t>(key.size())) {
    return fail(ErrorKind::Internal, "seal key",
                path + " must be a regular file owned by root, mode 0600, of " + std::to_string(key.size()) + " bytes");
  }
  if (auto read = readAll(file.get(), key.data(), key.size()); !read) return read.error();
  return Sealer(key);
}

std::string Sealer::seal(SealKind kind, const containers::SealedRecord& record) const {
  const std::string text = message(kind, record);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(text.data()),
       text.size(), mac.data(), &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0xf]);
  }
  return hex;
}

bool Sealer::verify(SealKind kind, const containers::SealedRecord& record) const {
  const std::string expected = seal(kind, record);
  return record.seal.size() == expected.size() &&
         CRYPTO_memcmp(record.seal.data(), expected.data(), expected.size()) == 0;
}

}  // namespace dockerbox::broker::monitor

#include "auth/keys.hpp"

#include <fmt/format.h>
#include <zmq.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace berth {

bool is_z85_key(std::string_view s) {
  // The Z85 alphabet (ZeroMQ RFC 32).
  static constexpr std::string_view kAlphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (s.size() != kZ85KeyLength) return false;
  for (char c : s)
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  return true;
}

Result<KeyPair> read_key_file(const std::filesystem::path& path, bool need_secret) {
  std::ifstream in(path);
  if (!in) return Status(Code::invalid_argument, fmt::format("cannot read key file {}: {}", path.string(),
                                                             std::strerror(errno)));
  KeyPair k;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("public=", 0) == 0) k.public_key = line.substr(7);
    else if (line.rfind("secret=", 0) == 0) k.secret_key = line.substr(7);
  }
  if (!is_z85_key(k.public_key) || (!k.secret_key.empty() && !is_z85_key(k.secret_key)))
    return Status(Code::invalid_argument,
                  fmt::format("key file {}: expected a line public=<40 Z85 characters>{}", path.string(),
                              need_secret ? " and a line secret=<40 Z85 characters>" : ""));
  if (need_secret && k.secret_key.empty())
    return Status(Code::invalid_argument,
                  fmt::format("key file {} holds no secret key (a .pub file?)", path.string()));
  if (!k.secret_key.empty()) {
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
      return Status(Code::permission_denied,
                    fmt::format("key file {} holds a secret key and is readable by others (mode {:o}): "
                                "chmod 600 it",
                                path.string(), st.st_mode & 0777));
  }
  return k;
}

Result<std::string> public_key_from(const std::string& text_or_file) {
  if (is_z85_key(text_or_file) && !std::filesystem::exists(text_or_file)) return text_or_file;
  auto k = read_key_file(text_or_file, false);
  if (!k) return k.error();
  return k->public_key;
}

namespace {
Status write_file(const std::filesystem::path& path, mode_t mode, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return {Code::invalid_argument, fmt::format("cannot create {}: {}", path.string(), std::strerror(errno))};
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool closed = close(fd) == 0;
  if (!ok || !closed) return {Code::internal, fmt::format("cannot write {}", path.string())};
  return {};
}
}  // namespace

Status write_key_pair(const std::filesystem::path& path, KeyPair& out) {
  char pub[41] = {}, sec[41] = {};
  if (zmq_curve_keypair(pub, sec) != 0)
    return {Code::unsupported, fmt::format("this libzmq cannot make CURVE keys: {}", zmq_strerror(zmq_errno()))};
  out.public_key = pub;
  out.secret_key = sec;
  const std::string pub_line = "public=" + out.public_key + "\n";
  std::filesystem::path pub_path = path;
  pub_path += ".pub";
  if (auto st = write_file(path, 0600, pub_line + "secret=" + out.secret_key + "\n"); !st) return st;
  if (auto st = write_file(pub_path, 0644, pub_line); !st) return st;
  return {};
}

}  // namespace berth

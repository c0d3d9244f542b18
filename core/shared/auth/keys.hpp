// CURVE key pairs as files. `berthctl keygen NAME` writes NAME (mode 0600,
// `public=` and `secret=` lines) and NAME.pub (the `public=` line alone),
// so a secret is only ever read from a file, never from argv or config text.
#pragma once

#include "common/status.hpp"

#include <filesystem>
#include <string>

namespace berth {

struct KeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters; empty in a .pub file
};

inline constexpr size_t kZ85KeyLength = 40;

// Reads a key file; `need_secret` refuses a .pub file. A file holding a
// secret that others may read is refused too: it would be a secret no more.
Result<KeyPair> read_key_file(const std::filesystem::path& path, bool need_secret);

// A public key given as 40 Z85 characters, or the name of a key file.
Result<std::string> public_key_from(const std::string& text_or_file);

// A fresh key pair written as described above; NAME must not exist.
Status write_key_pair(const std::filesystem::path& path, KeyPair& out);

bool is_z85_key(std::string_view s);

}  // namespace berth

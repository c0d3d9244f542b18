// A provider plugin library, loaded and ABI-negotiated.
#pragma once

#include "common/status.hpp"

#include <berth/provider.h>

#include <filesystem>
#include <memory>
#include <string>

namespace berth {

// The host's service table (one for the whole process; see host.cpp).
const berth_host& host_services();

class Plugin {
 public:
  // Loads the shared object at `path` and negotiates the ABI. Every error
  // names the file: missing, not a shared object, no entry symbol, an entry
  // that returns nothing, a different ABI major or a min_host_minor above
  // ours (both versions named), a library_init that failed.
  static Result<std::shared_ptr<Plugin>> load(const std::filesystem::path& path);

  ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  const std::string& description() const { return description_; }
  uint32_t abi_major() const { return info_.abi_major; }
  uint32_t abi_minor() const { return info_.abi_minor; }
  uint32_t flags() const { return info_.flags; }
  // The plugin's op table, zero-filled past its struct_size: an op the
  // plugin's minor version did not have reads as nullptr.
  const berth_provider_ops& ops() const { return ops_; }

 private:
  struct Library;
  Plugin() = default;

  std::unique_ptr<Library> lib_;
  std::filesystem::path path_;
  berth_plugin_info info_{};
  berth_provider_ops ops_{};
  bool initialized_ = false;  // library_init succeeded: library_fini is owed
  std::string name_, version_, description_;
};

}  // namespace berth

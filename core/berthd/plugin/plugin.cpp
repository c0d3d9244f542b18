#include "plugin/plugin.hpp"

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/shared_library.hpp>

#include <berth/protocol.hpp>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace berth {

struct Plugin::Library {
  boost::dll::shared_library lib;
};

namespace {

Status load_error(const std::filesystem::path& path, const std::string& why) {
  return {Code::invalid_argument, fmt::format("plugin {}: {}", path.string(), why)};
}

// Copies a plugin struct that may be shorter (older minor) or longer (newer
// minor) than ours: take the common prefix, leave the rest zero.
template <class T>
T copy_prefix(const T* from) {
  T to{};
  const size_t n = std::min<size_t>(sizeof(T), from->struct_size);
  std::memcpy(&to, from, n);
  to.struct_size = static_cast<uint32_t>(n);
  return to;
}

std::string or_empty(const char* s) { return s ? s : ""; }

}  // namespace

// The last instance is gone (each holds its plugin): the library's own
// teardown, then the unload.
Plugin::~Plugin() {
  if (initialized_ && info_.library_fini != nullptr) info_.library_fini();
}

Result<std::shared_ptr<Plugin>> Plugin::load(const std::filesystem::path& path) {
  std::error_code fs_error;
  if (!std::filesystem::is_regular_file(path, fs_error))
    return load_error(path, "no such file");

  auto lib = std::make_unique<Library>();
  try {
    lib->lib.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return load_error(path, std::string("cannot load: ") + e.what());
  }
  if (!lib->lib.has(BERTH_ENTRY_SYMBOL))
    return load_error(path, "not a berth provider (no " BERTH_ENTRY_SYMBOL " symbol)");

  auto entry = lib->lib.get<const berth_plugin_info*(const berth_host*)>(BERTH_ENTRY_SYMBOL);
  const berth_plugin_info* info = entry(&host_services());
  if (info == nullptr)
    return load_error(path, fmt::format("refused host ABI {}.{} (entry returned NULL)",
                                        BERTH_ABI_MAJOR, BERTH_ABI_MINOR));
  // Only the frozen prefix may be read before the major is known to match.
  if (info->struct_size < 3 * sizeof(uint32_t))
    return load_error(path, "malformed plugin info (struct_size too small)");
  if (info->abi_major != BERTH_ABI_MAJOR)
    return load_error(path, fmt::format("built for ABI {}.{}, host speaks ABI {}.{}",
                                        info->abi_major, info->abi_minor,
                                        BERTH_ABI_MAJOR, BERTH_ABI_MINOR));
  if (info->ops == nullptr || info->ops->struct_size == 0)
    return load_error(path, "plugin info has no op table");
  if (BERTH_HAS_FIELD(info, berth_plugin_info, min_host_minor) && info->min_host_minor > BERTH_ABI_MINOR)
    return load_error(path, fmt::format("needs host ABI {}.{} or later, host speaks ABI {}.{}", BERTH_ABI_MAJOR,
                                        info->min_host_minor, BERTH_ABI_MAJOR, BERTH_ABI_MINOR));

  auto plugin = std::shared_ptr<Plugin>(new Plugin());
  plugin->info_ = copy_prefix(info);
  plugin->ops_ = copy_prefix(info->ops);
  plugin->name_ = or_empty(plugin->info_.name);
  if (plugin->name_.empty()) return load_error(path, "plugin info has no name");
  plugin->version_ = or_empty(plugin->info_.version);
  plugin->description_ = or_empty(plugin->info_.description);
  if (plugin->ops_.create == nullptr || plugin->ops_.destroy == nullptr ||
      plugin->ops_.capabilities == nullptr)
    return load_error(path, "op table lacks create/destroy/capabilities");
  plugin->path_ = path;
  plugin->lib_ = std::move(lib);
  // Last: a refused plugin never started anything (provider.h section 10).
  if (plugin->info_.library_init != nullptr) {
    const berth_status st = plugin->info_.library_init(&host_services());
    if (st != BERTH_OK)
      return load_error(path, fmt::format("library_init failed: {}", protocol::code_name(protocol::code_from_abi(st))));
    plugin->initialized_ = true;
  }
  return plugin;
}

}  // namespace berth

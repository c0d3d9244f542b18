// Plugins of the wrong ABI, without an entry symbol, or from other minor
// versions: the loader's verdict, and the daemon serving the good ones.
#include "berthd_process.hpp"
#include "plugin/plugin.hpp"
#include "plugin/provider.hpp"

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/shared_library.hpp>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace {

using namespace berth;
using berth::testing::BerthdProcess;
using berth::testing::Client;
namespace fs = std::filesystem;

std::string bad(const std::string& name) {
  return std::string(BERTH_TEST_BAD_PLUGIN_DIR) + "/" + name + ".so";
}

std::string load_error(const std::string& path) {
  auto p = Plugin::load(path);
  EXPECT_FALSE(p.is_ok()) << path << " should be refused";
  return p.is_ok() ? "" : p.error().message();
}

class NoEvents : public ProviderListener {
  bool on_event(Provider&, Event) override { return true; }
  void on_state(Provider&, berth_provider_state, const std::string&) override {}
};

TEST(PluginLoader, AWrongMajorIsRefusedNamingBothVersionsAndTheFile) {
  std::string msg = load_error(bad("bad_abi"));
  EXPECT_NE(msg.find("bad_abi.so"), std::string::npos) << msg;
  EXPECT_NE(msg.find("built for ABI 99.3"), std::string::npos) << msg;
  EXPECT_NE(msg.find(fmt::format("host speaks ABI {}.{}", BERTH_ABI_MAJOR, BERTH_ABI_MINOR)),
            std::string::npos) << msg;
}

TEST(PluginLoader, ALibraryWithoutTheEntrySymbolIsNotAProvider) {
  std::string msg = load_error(bad("no_entry"));
  EXPECT_NE(msg.find("no_entry.so"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no berth_provider_entry symbol"), std::string::npos) << msg;
}

TEST(PluginLoader, AFileThatIsNotASharedObjectIsRefused) {
  fs::path junk = fs::temp_directory_path() / "berth-not-a-library.so";
  { std::ofstream(junk) << "not ELF"; }
  std::string msg = load_error(junk.string());
  EXPECT_NE(msg.find("cannot load"), std::string::npos) << msg;
  fs::remove(junk);
}

TEST(PluginLoader, AnOlderMinorGetsOnlyTheOpsItsTableHas) {
  auto p = Plugin::load(bad("old_minor"));
  ASSERT_TRUE(p.is_ok()) << p.error().message();
  EXPECT_EQ((*p)->ops().restart, nullptr) << "nothing read past the plugin's struct_size";
  EXPECT_EQ((*p)->ops().watch_start, nullptr);
  NoEvents listener;
  auto inst = Provider::create(*p, "old", "{}", listener);
  ASSERT_TRUE(inst.is_ok()) << inst.error().message();
  // It claims every capability; the host keeps only those with an op.
  EXPECT_TRUE((*inst)->supports(BERTH_CAP_LIST | BERTH_CAP_INSPECT));
  EXPECT_FALSE((*inst)->supports(BERTH_CAP_RESTART));
  EXPECT_FALSE((*inst)->supports(BERTH_CAP_WATCH));
  EXPECT_EQ((*inst)->restart("compat", 1, CallOptions::within(std::chrono::seconds(1))).code(),
            Code::unsupported);
  // ABI 1.2's create/remove are further still: absent, and refused by the host.
  EXPECT_EQ((*p)->ops().container_create, nullptr);
  EXPECT_FALSE((*inst)->supports(BERTH_CAP_CREATE));
  EXPECT_FALSE((*inst)->supports(BERTH_CAP_REMOVE));
  berth::sdk::CreateSpec spec;
  spec.image = "busybox";
  auto made = (*inst)->create_container(spec, CallOptions::within(std::chrono::seconds(1)));
  ASSERT_FALSE(made.is_ok());
  EXPECT_EQ(made.error().code(), Code::unsupported);
  EXPECT_EQ((*inst)->remove("compat", false, CallOptions::within(std::chrono::seconds(1))).code(), Code::unsupported);
  auto listed = (*inst)->list(CallOptions::within(std::chrono::seconds(1)));
  ASSERT_TRUE(listed.is_ok());
  EXPECT_EQ(listed->size(), 1u);
}

TEST(PluginLoader, ANewerMinorWithLargerStructsLoadsAndWorks) {
  auto p = Plugin::load(bad("future_minor"));
  ASSERT_TRUE(p.is_ok()) << p.error().message();
  EXPECT_EQ((*p)->abi_minor(), 9u);
  EXPECT_EQ((*p)->name(), "future_minor");
  NoEvents listener;
  auto inst = Provider::create(*p, "future", "{}", listener);
  ASSERT_TRUE(inst.is_ok()) << inst.error().message();
  auto c = (*inst)->inspect("compat", CallOptions::within(std::chrono::seconds(1)));
  ASSERT_TRUE(c.is_ok()) << c.error().message();
  EXPECT_EQ(c->id, "compat-1");
  EXPECT_EQ((*inst)->inspect("nope", CallOptions::within(std::chrono::seconds(1))).error().code(),
            Code::not_found);
}

// ---- ABI 1.3 ----

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Sets an environment variable for one test.
struct Env {
  Env(const char* name, const std::string& value) : name_(name) { setenv(name, value.c_str(), 1); }
  ~Env() { unsetenv(name_); }
  const char* name_;
};

TEST(PluginLoader, APluginNeedingANewerHostMinorIsRefusedNamingBoth) {
  const fs::path log = fs::temp_directory_path() / fmt::format("berth-lifetime-{}", getpid());
  Env env("BERTH_TEST_LIFETIME_LOG", log.string());
  std::string msg = load_error(bad("needs_newer_host"));
  EXPECT_NE(msg.find("needs_newer_host.so"), std::string::npos) << msg;
  EXPECT_NE(msg.find(fmt::format("needs host ABI {}.{} or later, host speaks ABI {}.{}", BERTH_ABI_MAJOR,
                                 BERTH_ABI_MINOR + 1, BERTH_ABI_MAJOR, BERTH_ABI_MINOR)),
            std::string::npos) << msg;
  EXPECT_EQ(read_file(log), "") << "a refused plugin is not initialized";
  fs::remove(log);
}

TEST(PluginLoader, LibraryInitComesBeforeTheFirstCreateAndFiniAfterTheLastDestroy) {
  const fs::path log = fs::temp_directory_path() / fmt::format("berth-lifetime-{}", getpid());
  fs::remove(log);
  Env env("BERTH_TEST_LIFETIME_LOG", log.string());
  NoEvents listener;
  {
    auto loaded = Plugin::load(bad("lifetime"));
    ASSERT_TRUE(loaded.is_ok()) << loaded.error().message();
    std::shared_ptr<Plugin> plugin = std::move(*loaded);
    EXPECT_EQ(read_file(log), "init\n");
    auto a = Provider::create(plugin, "a", "{}", listener);
    auto b = Provider::create(plugin, "b", "{}", listener);
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    auto first = std::move(*a);
    auto second = std::move(*b);
    plugin.reset();  // the instances keep it
    first.reset();
    EXPECT_EQ(read_file(log), "init\ncreate a\ncreate b\ndestroy a\n") << "b still holds the library";
  }
  EXPECT_EQ(read_file(log), "init\ncreate a\ncreate b\ndestroy a\ndestroy b\nfini\n");
  fs::remove(log);
}

TEST(PluginLoader, AFailedLibraryInitRefusesThePluginWithoutFini) {
  const fs::path log = fs::temp_directory_path() / fmt::format("berth-lifetime-{}", getpid());
  fs::remove(log);
  Env env("BERTH_TEST_LIFETIME_LOG", log.string());
  Env fail("BERTH_TEST_LIFETIME_FAIL", "1");
  std::string msg = load_error(bad("lifetime"));
  EXPECT_NE(msg.find("lifetime.so: library_init failed: unavailable"), std::string::npos) << msg;
  EXPECT_EQ(read_file(log), "init\n") << "no fini for a library that did not start";
  fs::remove(log);
}

// Binaries built against the headers of 1.0, 1.1 and 1.2, as they shipped.
TEST(PluginLoader, PluginsBuiltAgainstEveryEarlierMinorLoadAndWork) {
  for (uint32_t minor : {0u, 1u, 2u}) {
    SCOPED_TRACE(fmt::format("ABI 1.{}", minor));
    auto p = Plugin::load(bad(fmt::format("old_1_{}", minor)));
    ASSERT_TRUE(p.is_ok()) << p.error().message();
    EXPECT_EQ((*p)->abi_minor(), minor);
    NoEvents listener;
    auto inst = Provider::create(*p, "old", "{}", listener);
    ASSERT_TRUE(inst.is_ok()) << inst.error().message();
    const auto o = CallOptions::within(std::chrono::seconds(2));
    EXPECT_TRUE((*inst)->start("old", o).is_ok());
    auto c = (*inst)->status("old", o);
    ASSERT_TRUE(c.is_ok()) << c.error().message();
    EXPECT_EQ(c->state, BERTH_STATE_RUNNING);
    EXPECT_TRUE((*inst)->stop("old", std::nullopt, 1, o).is_ok());
    EXPECT_EQ((*inst)->status("old", o)->state, BERTH_STATE_STOPPED);
    EXPECT_EQ((*inst)->status("nope", o).error().code(), Code::not_found);
    EXPECT_FALSE((*inst)->supports(BERTH_CAP_CREATE)) << "a 1.2 op its table does not reach";
  }
}

// The C++ SDK refuses a host older than the plugin's kMinHostMinor in its
// entry point, where an older host (which cannot read min_host_minor) sees
// it: swarm.so needs 1.2's changed().
std::string g_logged;
TEST(PluginLoader, SwarmRefusesAHostOlderThan1_2InItsEntryPoint) {
  boost::dll::shared_library lib(berth::testing::plugin_path("swarm"),
                                 boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  auto entry = lib.get<const berth_plugin_info*(const berth_host*)>(BERTH_ENTRY_SYMBOL);
  berth_host old_host{};
  old_host.struct_size = offsetof(berth_host, call_wait);  // what a 1.0 host's table held
  old_host.abi_major = BERTH_ABI_MAJOR;
  old_host.abi_minor = 1;
  old_host.log = [](berth_host_ctx*, berth_log_level, const char* m) { g_logged += m; };
  EXPECT_EQ(entry(&old_host), nullptr);
  EXPECT_NE(g_logged.find("swarm: this host's ABI minor is too old"), std::string::npos) << g_logged;
  old_host.abi_minor = 2;
  const berth_plugin_info* info = entry(&old_host);
  ASSERT_NE(info, nullptr) << "a 1.2 host has what swarm.so needs";
  EXPECT_EQ(info->min_host_minor, 2u);
}

// The daemon: bad plugins next to a good one in its plugin directory.
TEST(BerthdWithBadPlugins, RefusesThemWithAClearLineAndServesTheGoodOne) {
  char tmpl[] = "/tmp/berth-badplugins-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  fs::create_symlink(berth::testing::plugin_path("sim"), dir / "sim.so");
  fs::create_symlink(bad("bad_abi"), dir / "bad_abi.so");
  fs::create_symlink(bad("no_entry"), dir / "no_entry.so");
  {
    BerthdProcess d("{}", {"--plugin-dir", dir.string()}, /*use_config_file=*/false);
    ASSERT_TRUE(d.ready()) << d.output();
    const std::string out = d.output();
    EXPECT_NE(out.find(fmt::format("bad_abi.so: built for ABI 99.3, host speaks ABI {}.{}", BERTH_ABI_MAJOR, BERTH_ABI_MINOR)), std::string::npos)
        << out;
    EXPECT_NE(out.find("no_entry.so: not a berth provider"), std::string::npos) << out;

    zmq::context_t zmq;
    Client c(zmq, d.commands_endpoint());
    auto providers = c.call(R"({"id":1,"op":"providers"})");
    ASSERT_TRUE(providers.IsObject());
    ASSERT_EQ(providers["result"].Size(), 1u);
    EXPECT_STREQ(providers["result"][0]["name"].GetString(), "sim");
    auto list = c.call(R"({"id":2,"op":"list"})");
    ASSERT_TRUE(list.IsObject());
    EXPECT_TRUE(list["ok"].GetBool());
    EXPECT_EQ(d.terminate(), std::optional<int>(0)) << "still healthy at shutdown";
  }
  fs::remove_all(dir);
}

TEST(BerthdWithOldPlugins, ServesPluginsBuiltAgainstEveryEarlierMinor) {
  char tmpl[] = "/tmp/berth-oldplugins-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  for (int minor : {0, 1, 2}) fs::create_symlink(bad(fmt::format("old_1_{}", minor)), dir / fmt::format("old_1_{}.so", minor));
  {
    BerthdProcess d("{}", {"--plugin-dir", dir.string()}, /*use_config_file=*/false);
    ASSERT_TRUE(d.ready()) << d.output();
    zmq::context_t zmq;
    Client c(zmq, d.commands_endpoint());
    auto providers = c.call(R"({"id":1,"op":"providers"})");
    ASSERT_TRUE(providers.IsObject() && providers["result"].IsArray());
    EXPECT_EQ(providers["result"].Size(), 3u);
    for (int minor : {0, 1, 2}) {
      SCOPED_TRACE(minor);
      auto started = c.call(fmt::format(R"({{"op":"start","provider":"old_1_{}","container":"old"}})", minor));
      ASSERT_TRUE(started.IsObject());
      EXPECT_TRUE(started["ok"].GetBool());
      auto status = c.call(fmt::format(R"({{"op":"status","provider":"old_1_{}","container":"old"}})", minor));
      ASSERT_TRUE(status.IsObject() && status["ok"].GetBool());
      EXPECT_STREQ(status["result"]["state"].GetString(), "running");
    }
    EXPECT_EQ(d.terminate(), std::optional<int>(0));
  }
  fs::remove_all(dir);
}

TEST(BerthdWithBadPlugins, ARequiredBadPluginStopsStartupWithStatus3) {
  BerthdProcess d(fmt::format(R"({{"providers": [{{"name": "bad", "plugin": "{}",
                                                  "required": true}}]}})",
                              bad("bad_abi")));
  EXPECT_FALSE(d.ready());
  auto code = d.wait_exit(std::chrono::seconds(10));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 3);
  EXPECT_NE(d.output().find("built for ABI 99.3"), std::string::npos) << d.output();
}

}  // namespace

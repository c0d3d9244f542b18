// Plugins of the wrong ABI, without an entry symbol, or from other minor
// versions: the loader's verdict, and the daemon serving the good ones.
#include "berthd_process.hpp"
#include "plugin/plugin.hpp"
#include "plugin/provider.hpp"

#include <filesystem>
#include <fstream>

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

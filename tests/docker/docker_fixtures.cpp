// docker.so under the conformance kit, against the real private dockerd.
#include "conformance.hpp"
#include "docker_env.hpp"

#include <atomic>

namespace {

using namespace berth::docker_test;

berth::conformance::Fixture docker_fixture() {
  berth::conformance::Fixture f;
  // The same name for both engines: ctest prefixes the Podman run's names.
  f.name = "engine";
  f.plugin_path = BERTH_TEST_PLUGIN_DIR "/docker.so";
  f.config = [] { return R"({"host": ")" + docker_host() + R"("})"; };
  f.make_stopped_container = [] {
    static std::atomic<int> n{0};
    const std::string name = "berth-conf-" + std::to_string(getpid()) + "-" + std::to_string(n++);
    int status = 0;
    std::string out = docker("create --network none --name " + name + " " + kImage + " " + kIdleCommand, &status);
    EXPECT_EQ(status, 0) << out;
    return name;
  };
  f.remove_container = [](const std::string& ref) { docker("rm -f " + ref); };
  f.create_spec = [](const std::string& name) {
    berth::sdk::CreateSpec s;
    s.image = kImage;
    s.name = name;
    s.command = {"sleep", "300"};
    s.network = "none";
    s.pull = BERTH_PULL_NEVER;
    if (podman()) s.ulimits = {{"nofile", 1024, 20000}, {"nproc", 1024, 1024}};
    return s;
  };
  f.event_timeout = std::chrono::seconds(15);
  f.settle = std::chrono::milliseconds(1000);
  f.engine_unreachable = engine_unreachable;
  return f;
}

}  // namespace

BERTH_CONFORMANCE(Docker, docker_fixture());

// Authenticated endpoints, end to end: berthd on tcp:// with CURVE and its
// ZAP handler, clients with and without keys, each role's reach, berthctl's
// keys and errors, the ipc socket modes, and no secret in logs or argv.
#include "berthd_process.hpp"

#include "auth/curve.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace {

using namespace berth;
using namespace berth::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A port nobody listens on now (the kernel's choice, released at once).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Run {
  int code;
  std::string out, err;
};

Run shell(const std::string& cmd) {
  const std::string err_file = make_temp_dir() + "/err";
  Run r{0, "", ""};
  FILE* p = popen((cmd + " 2>" + err_file).c_str(), "r");
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = slurp(err_file);
  fs::remove_all(fs::path(err_file).parent_path());
  return r;
}

class Curve : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = make_temp_dir();
    for (const char* who : {"server", "operator", "reader", "subscriber", "stranger"}) {
      KeyPair k;
      ASSERT_TRUE(write_key_pair(keys_ + "/" + who, k)) << who;
      pairs_[who] = k;
    }
    events_ = fmt::format("tcp://127.0.0.1:{}", free_port());
    commands_ = fmt::format("tcp://127.0.0.1:{}", free_port());
    daemon_ = std::make_unique<BerthdProcess>(fmt::format(
        R"({{"heartbeat_ms": 100, "log_level": "trace", "events_endpoint": "{}", "commands_endpoint": "{}",
            "curve": {{"server_key_file": "{}/server", "clients": [
              {{"key_file": "{}/operator.pub", "role": "operator", "name": "ops"}},
              {{"key": "{}", "role": "reader"}},
              {{"key_file": "{}/subscriber.pub", "role": "subscriber"}}]}},
            "providers": [{{"name": "sim", "plugin": "{}"}}]}})",
        events_, commands_, keys_, keys_, pairs_["reader"].public_key, keys_, plugin_path("sim")));
    ASSERT_TRUE(daemon_->ready()) << daemon_->output();
  }
  void TearDown() override { fs::remove_all(keys_); }

  ClientKeys as(const std::string& who) { return {pairs_["server"].public_key, pairs_[who]}; }
  std::string ctl(const std::string& who, const std::string& args) {
    return fmt::format("{} --endpoint {} --events-endpoint {} --server-key {}/server.pub --client-key {}/{} {}",
                       BERTH_TEST_BERTHCTL, commands_, events_, keys_, keys_, who, args);
  }

  zmq::context_t zmq_;
  std::string keys_, events_, commands_;
  std::map<std::string, KeyPair> pairs_;
  std::unique_ptr<BerthdProcess> daemon_;
};

TEST_F(Curve, AnUnauthenticatedClientGetsNothingOnEitherSocket) {
  Client plain(zmq_, commands_, 1500ms);
  EXPECT_TRUE(plain.call(R"({"op":"ping"})").IsNull()) << "no reply without CURVE";
  Subscriber sub(zmq_, events_, "");
  EXPECT_FALSE(sub.next(1500ms)) << "no event without CURVE (heartbeats come every 100 ms)";
  // The same sockets with a key do answer: the silence above is the refusal.
  Client op(zmq_, commands_, 5s, as("operator"));
  EXPECT_TRUE(op.call(R"({"op":"ping"})")["ok"].GetBool());
}

TEST_F(Curve, AKeyNotAllowedIsRefusedAndBerthctlSaysSo) {
  Client stranger(zmq_, commands_, 1500ms, as("stranger"));
  EXPECT_TRUE(stranger.call(R"({"op":"ping"})").IsNull());
  Subscriber sub(zmq_, events_, "", as("stranger"));
  EXPECT_FALSE(sub.next(1500ms));

  auto r = shell(ctl("stranger", "--wait-ms 5000 ping"));
  EXPECT_EQ(r.code, 8) << r.err;
  EXPECT_NE(r.err.find("refused this client's key"), std::string::npos) << r.err;
  EXPECT_NE(daemon_->output().find("refused client key " + pairs_["stranger"].public_key), std::string::npos)
      << "the daemon names the refused key:\n" << daemon_->output();

  // A client that has the wrong idea of the server's key fails the handshake.
  auto wrong_server = shell(fmt::format("{} --endpoint {} --server-key {} --client-key {}/operator --wait-ms 5000 ping",
                                        BERTH_TEST_BERTHCTL, commands_, pairs_["stranger"].public_key, keys_));
  EXPECT_NE(wrong_server.code, 0);
  EXPECT_EQ(wrong_server.out, "");
}

TEST_F(Curve, AReaderReadsButCannotStop) {
  Client reader(zmq_, commands_, 5s, as("reader"));
  EXPECT_TRUE(reader.call(R"({"op":"ping"})")["ok"].GetBool());
  EXPECT_TRUE(reader.call(R"({"op":"list"})")["ok"].GetBool());
  auto status = reader.call(R"({"op":"status","container":"web"})");
  ASSERT_TRUE(status["ok"].GetBool());
  EXPECT_STREQ(status["result"]["state"].GetString(), "running");
  for (const char* op : {"stop", "start", "kill", "restart", "pause", "unpause"}) {
    auto r = reader.call(fmt::format(R"({{"op":"{}","container":"web","id":7}})", op));
    ASSERT_FALSE(r["ok"].GetBool()) << op;
    EXPECT_STREQ(r["error"]["code"].GetString(), "permission_denied") << op;
    EXPECT_EQ(r["id"].GetInt(), 7);
  }
  EXPECT_STREQ(reader.call(R"({"op":"status","container":"web"})")["result"]["state"].GetString(), "running")
      << "the refused stop did not run";
  auto r = shell(ctl("reader", "stop web"));
  EXPECT_EQ(r.code, 8) << r.err;
  EXPECT_NE(r.err.find("operator role"), std::string::npos) << r.err;
}

TEST_F(Curve, AnOperatorCanAndEventsFlowToASubscriber) {
  Subscriber sub(zmq_, events_, "", as("subscriber"));
  Client op(zmq_, commands_, 10s, as("operator"));
  ASSERT_TRUE(sub.wait_connected()) << "a subscriber key receives events";
  auto stop = op.call(R"({"op":"stop","container":"web","timeout_s":1})");
  ASSERT_TRUE(stop["ok"].GetBool()) << (stop.IsNull() ? "no reply" : stop["error"]["message"].GetString());
  auto ev = sub.next_matching("container/sim/", 10s);
  ASSERT_TRUE(ev);
  EXPECT_NE(ev->raw.find("\"name\":\"web\""), std::string::npos) << ev->raw;

  auto r = shell(ctl("operator", "start web"));
  EXPECT_EQ(r.code, 0) << r.err;
  auto printed = shell(ctl("subscriber", "--wait-ms 3000 ps"));
  EXPECT_EQ(printed.code, 8) << "a subscriber key may not use the command socket: " << printed.err;
}

TEST_F(Curve, NoSecretInTheLogsOrInArgv) {
  // berthctl events stays running: look at its argv while it does.
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd = "exec " + ctl("operator", "events >/dev/null 2>&1");
    execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
    _exit(127);
  }
  std::string argv;
  for (int i = 0; i < 200 && argv.find("events") == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
    argv = slurp(fmt::format("/proc/{}/cmdline", pid));
  }
  Client op(zmq_, commands_, 10s, as("operator"));
  EXPECT_TRUE(op.call(R"({"op":"restart","container":"web","timeout_s":1})")["ok"].GetBool());
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  ASSERT_NE(argv.find("events"), std::string::npos);
  const std::string daemon_argv = slurp(fmt::format("/proc/{}/cmdline", daemon_->pid()));
  ASSERT_FALSE(daemon_argv.empty());
  daemon_->terminate();
  const std::string log = daemon_->output();
  ASSERT_NE(log.find("ZAP: ops (operator) admitted"), std::string::npos) << "the log is at trace level:\n" << log;
  for (const auto& [who, k] : pairs_) {
    EXPECT_EQ(log.find(k.secret_key), std::string::npos) << who << "'s secret key is in the log";
    EXPECT_EQ(argv.find(k.secret_key), std::string::npos) << who << "'s secret key is in berthctl's argv";
    EXPECT_EQ(daemon_argv.find(k.secret_key), std::string::npos) << who;
  }
}

// Without a ZAP handler, libzmq 4.3 lets any client that knows the server's
// key in; ZMQ_ZAP_ENFORCE_DOMAIN (set by make_curve_server) closes that door.
TEST(CurveServer, FailsClosedWithoutAHandler) {
  zmq::context_t zmq;
  const std::string dir = make_temp_dir();
  KeyPair server, client;
  ASSERT_TRUE(write_key_pair(dir + "/s", server));
  ASSERT_TRUE(write_key_pair(dir + "/c", client));
  zmq::socket_t rep(zmq, zmq::socket_type::rep);
  rep.set(zmq::sockopt::linger, 0);
  ASSERT_TRUE(make_curve_server(rep, server, kCommandsDomain));
  const std::string endpoint = fmt::format("tcp://127.0.0.1:{}", free_port());
  rep.bind(endpoint);
  Client c(zmq, endpoint, 1500ms, ClientKeys{server.public_key, client});
  std::thread echo([&] {
    rep.set(zmq::sockopt::rcvtimeo, 2000);
    zmq::message_t m;
    if (rep.recv(m)) (void)rep.send(m, zmq::send_flags::none);
  });
  EXPECT_EQ(c.call_raw("hello"), "") << "admitted with no ZAP handler";
  echo.join();
  fs::remove_all(dir);
}

TEST(KeyFiles, KeygenWritesASecretOnlyItsOwnerReadsAndNeverOverwrites) {
  const std::string dir = make_temp_dir();
  auto r = shell(fmt::format("{} keygen {}/k", BERTH_TEST_BERTHCTL, dir));
  ASSERT_EQ(r.code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(stat((dir + "/k").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir + "/k.pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 044u);
  auto pair = read_key_file(dir + "/k", true);
  ASSERT_TRUE(pair) << pair.error().message();
  EXPECT_NE(r.out.find(pair->public_key), std::string::npos) << "prints the public key";
  EXPECT_EQ(r.out.find(pair->secret_key), std::string::npos) << "never prints the secret";
  EXPECT_EQ(slurp(dir + "/k.pub").find("secret"), std::string::npos);
  EXPECT_NE(shell(fmt::format("{} keygen {}/k", BERTH_TEST_BERTHCTL, dir)).code, 0) << "k exists";
  EXPECT_EQ(read_key_file(dir + "/k", true)->secret_key, pair->secret_key) << "not overwritten";

  chmod((dir + "/k").c_str(), 0644);
  auto open_secret = read_key_file(dir + "/k", true);
  ASSERT_FALSE(open_secret);
  EXPECT_NE(open_secret.error().message().find("readable by others"), std::string::npos);
  EXPECT_FALSE(read_key_file(dir + "/k.pub", true)) << "a .pub holds no secret";
  fs::remove_all(dir);
}

TEST(Endpoints, ANetworkEndpointNeedsCurveOrAnExplicitInsecure) {
  const std::string tcp = fmt::format("tcp://127.0.0.1:{}", free_port());
  BerthdProcess refused(fmt::format(R"({{"commands_endpoint": "{}", "providers": []}})", tcp));
  EXPECT_FALSE(refused.ready());
  EXPECT_EQ(refused.wait_exit(10s), 1) << refused.output();
  EXPECT_NE(refused.output().find("configure \"curve\""), std::string::npos) << refused.output();

  BerthdProcess insecure(fmt::format(R"({{"commands_endpoint": "{}", "insecure": true, "providers": []}})", tcp));
  ASSERT_TRUE(insecure.ready()) << insecure.output();
  EXPECT_NE(insecure.output().find("INSECURE"), std::string::npos) << "said loudly at start";
}

TEST(Endpoints, IpcSocketsAndTheirDirectoryAreNotOpenToOthers) {
  BerthdProcess d(R"({"providers": []})");
  ASSERT_TRUE(d.ready()) << d.output();
  struct stat st {};
  ASSERT_EQ(stat(d.dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  for (const auto& ep : {d.events_endpoint(), d.commands_endpoint()}) {
    ASSERT_EQ(ep.rfind("ipc://", 0), 0u);
    ASSERT_EQ(stat(ep.substr(6).c_str(), &st), 0) << ep;
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0660u) << ep;
  }
}

}  // namespace

#include "labels/labels.hpp"

#include <rapidjson/document.h>

#include <gtest/gtest.h>

namespace {

using namespace berth::labels;
using berth::sdk::Labels;

Facts named(const std::string& name) {
  Facts f;
  f.name = name;
  return f;
}

const Route* route(const Routing& r, const std::string& alias) {
  for (const auto& x : r.routes)
    if (x.alias == alias) return &x;
  return nullptr;
}

TEST(Labels, AliasesComeFromTheListAndFromAliasKeys) {
  auto r = parse({{"proxy.aliases", "www, app"}, {"proxy.api.port", "9000"}}, named("c"));
  ASSERT_EQ(r.routes.size(), 3u);
  EXPECT_EQ(r.routes[0].alias, "www");
  EXPECT_EQ(r.routes[1].alias, "app");
  EXPECT_EQ(route(r, "api")->port, 9000);
  EXPECT_TRUE(r.errors.empty());
}

TEST(Labels, WildcardAppliesToEveryRouteAndASpecificAliasOverridesIt) {
  auto r = parse({{"proxy.aliases", "app1,app2"}, {"proxy.*.scheme", "https"}, {"proxy.*.port", "8443"},
                  {"proxy.app1.port", "3000"}, {"proxy.*.no_tls_verify", "true"}},
                 named("c"));
  EXPECT_EQ(route(r, "app1")->port, 3000);
  EXPECT_EQ(route(r, "app2")->port, 8443);
  EXPECT_EQ(route(r, "app1")->scheme, "https");
  ASSERT_EQ(route(r, "app2")->fields.size(), 1u);
  EXPECT_EQ(route(r, "app2")->fields[0], (std::pair<std::string, std::string>{"no_tls_verify", "true"}));
}

TEST(Labels, WithoutAliasesTheComposeServiceOrTheNameIsTheRoute) {
  auto by_name = parse({{"proxy.*.port", "80"}}, named("blog"));
  ASSERT_EQ(by_name.routes.size(), 1u);
  EXPECT_EQ(by_name.routes[0].alias, "blog");
  auto by_service = parse({{"com.docker.compose.service", "web"}}, named("shop-web-1"));
  ASSERT_EQ(by_service.routes.size(), 1u);
  EXPECT_EQ(by_service.routes[0].alias, "web");
}

TEST(Labels, PortAndHostAreInferredFromWhatTheProviderReported) {
  Facts f = named("c");
  f.ports = {{9090, 0, ""}, {80, 8081, "0.0.0.0"}};
  auto published = parse({{"proxy.aliases", "a"}}, f);
  EXPECT_EQ(published.routes[0].port, 8081) << "the published port of the web port";
  EXPECT_EQ(published.routes[0].host, "127.0.0.1");

  Facts bridged = named("c");
  bridged.ports = {{3000, 0, ""}};
  bridged.networks = {{"front", "172.18.0.5"}};
  auto b = parse({{"proxy.aliases", "a"}}, bridged);
  EXPECT_EQ(b.routes[0].port, 3000);
  EXPECT_EQ(b.routes[0].host, "172.18.0.5");

  auto https = parse({{"proxy.a.port", "443"}}, named("c"));
  EXPECT_EQ(https.routes[0].scheme, "https");
  EXPECT_EQ(https.routes[0].host, "127.0.0.1") << "host network: the loopback";
}

TEST(Labels, NetworkLabelPicksTheAddress) {
  Facts f = named("c");
  f.networks = {{"back", "10.0.0.2"}, {"front", "10.1.0.2"}};
  auto r = parse({{"proxy.network", "front"}, {"proxy.a.port", "80"}}, f);
  EXPECT_EQ(r.network, "front");
  EXPECT_EQ(r.routes[0].host, "10.1.0.2");
}

TEST(Labels, ExcludeRemovesEveryRoute) {
  auto r = parse({{"proxy.exclude", "true"}, {"proxy.aliases", "x"}}, named("c"));
  EXPECT_TRUE(r.excluded);
  EXPECT_EQ(r.exclude_reason, "label");
  EXPECT_TRUE(r.routes.empty());
}

TEST(Labels, IdleWatcherSettingsAreParsed) {
  auto r = parse({{"proxy.idle_timeout", "1h30m"},
                  {"proxy.wake_timeout", "10s"},
                  {"proxy.stop_method", "pause"},
                  {"proxy.stop_signal", "SIGINT"},
                  {"proxy.stop_timeout", "30"},
                  {"proxy.depends_on", "db, cache"},
                  {"proxy.start_endpoint", "/api/ready"},
                  {"proxy.no_loading_page", "yes"}},
                 named("c"));
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.idle.idle_timeout_ms, 5400000);
  EXPECT_EQ(r.idle.wake_timeout_ms, 10000);
  EXPECT_EQ(r.idle.stop_method, "pause");
  EXPECT_EQ(r.idle.stop_signal, "SIGINT");
  EXPECT_EQ(r.idle.stop_timeout_s, 30);
  EXPECT_EQ(r.idle.depends_on, (std::vector<std::string>{"db", "cache"}));
  EXPECT_EQ(r.idle.start_endpoint, "/api/ready");
  EXPECT_TRUE(r.idle.no_loading_page);
}

TEST(Labels, AMalformedValueIsAnErrorAndTheOtherLabelsStillApply) {
  auto r = parse({{"proxy.idle_timeout", "banana"}, {"proxy.wake_timeout", "5s"},
                  {"proxy.stop_method", "explode"}, {"proxy.app.port", "80x"}, {"proxy.app.scheme", "h2c"}},
                 named("c"));
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0], "proxy.idle_timeout: invalid duration \"banana\"");
  EXPECT_FALSE(r.idle.idle_timeout_ms.has_value());
  EXPECT_EQ(r.idle.wake_timeout_ms, 5000);
  EXPECT_EQ(r.idle.stop_method, "");
  EXPECT_NE(r.errors[2].find("proxy.app.port"), std::string::npos);
  ASSERT_EQ(r.routes.size(), 1u);
  EXPECT_EQ(r.routes[0].scheme, "h2c");
}

TEST(Labels, DurationsFollowGoSyntax) {
  EXPECT_EQ(parse_duration_ms("250ms"), 250);
  EXPECT_EQ(parse_duration_ms("2m"), 120000);
  EXPECT_EQ(parse_duration_ms("1.5s"), 1500);
  EXPECT_EQ(parse_duration_ms("45"), 45000);
  EXPECT_FALSE(parse_duration_ms("10 parsecs"));
  EXPECT_FALSE(parse_duration_ms("m"));
  EXPECT_FALSE(parse_duration_ms(""));
}

TEST(Labels, ComposeLabelsAreCollected) {
  auto r = parse({{"com.docker.compose.project", "shop"},
                  {"com.docker.compose.service", "web"},
                  {"com.docker.compose.depends_on", "db:service_started:false,cache:service_healthy:true"},
                  {"com.docker.compose.project.working_dir", "/srv/shop"}},
                 named("shop-web-1"));
  EXPECT_EQ(r.compose.project, "shop");
  EXPECT_EQ(r.compose.service, "web");
  EXPECT_EQ(r.compose.depends_on, (std::vector<std::string>{"db", "cache"}));
  EXPECT_EQ(r.compose.working_dir, "/srv/shop");
}

TEST(Labels, DatabasesAreBlacklistedByMountOrPortUnlessExplicitlyIncluded) {
  Facts pg = named("pg");
  pg.mount_destinations = {"/var/lib/postgresql/data"};
  auto a = parse({{"app", "x"}}, pg);
  EXPECT_TRUE(a.database);
  EXPECT_TRUE(a.excluded);
  EXPECT_EQ(a.exclude_reason, "database");
  EXPECT_TRUE(a.routes.empty());

  Facts redis = named("redis");
  redis.ports = {{6379, 0, ""}};
  EXPECT_TRUE(parse({{"app", "x"}}, redis).excluded);

  auto forced = parse({{"proxy.exclude", "false"}}, redis);
  EXPECT_TRUE(forced.database);
  EXPECT_FALSE(forced.excluded) << "an explicit proxy.exclude=false wins";

  Facts web = named("web");
  web.ports = {{80, 0, ""}};
  EXPECT_FALSE(parse({{"app", "x"}}, web).database);
}

TEST(Labels, JsonShapeRoundTrips) {
  Facts f = named("c");
  auto r = parse({{"proxy.aliases", "a"}, {"proxy.a.port", "8080"}, {"proxy.a.path_patterns", "/api"},
                  {"proxy.idle_timeout", "nope"}, {"com.docker.compose.project", "p"}},
                 f);
  rapidjson::StringBuffer buf;
  Writer w(buf);
  write(w, r);
  rapidjson::Document d;
  d.Parse(buf.GetString());
  ASSERT_FALSE(d.HasParseError()) << buf.GetString();
  EXPECT_STREQ(d["routes"][0]["alias"].GetString(), "a");
  EXPECT_EQ(d["routes"][0]["port"].GetInt(), 8080);
  EXPECT_STREQ(d["routes"][0]["fields"]["path_patterns"].GetString(), "/api");
  EXPECT_FALSE(d["excluded"].GetBool());
  EXPECT_TRUE(d["idle"].IsObject());
  EXPECT_TRUE(d["idle"]["idle_timeout_ms"].IsNull());
  EXPECT_STREQ(d["compose"]["project"].GetString(), "p");
  EXPECT_EQ(d["errors"].Size(), 1u);
}

TEST(Labels, FactsComeFromDetailsAndToleratesGarbage) {
  berth::sdk::Container c;
  c.name = "x";
  c.details_json = R"({"ports":[{"private":80,"public":8080,"ip":"0.0.0.0"}],
                       "mounts":[{"destination":"/var/lib/mysql"}],"networks":[{"name":"n","ip":"1.2.3.4"}]})";
  auto f = facts_of(c);
  ASSERT_EQ(f.ports.size(), 1u);
  EXPECT_EQ(f.ports[0].public_port, 8080);
  EXPECT_EQ(f.mount_destinations, std::vector<std::string>{"/var/lib/mysql"});
  c.details_json = R"({"ports":"nonsense","mounts":[1,2]})";
  EXPECT_TRUE(facts_of(c).ports.empty());
}

}  // namespace

// ----------------------------------------------- untrusted text never throws

namespace {

using berth::labels::parse_duration_ms;

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

const std::vector<std::string>& malformed_durations() {
  static const std::vector<std::string> all = {
      ".", "..", "1..5s", "99999999999999999999", "-5s", "5x", "1e5", "nan", "inf", "   ",
      std::string(1 << 20, '7'), "1h" + repeat("1h", 10000), "s5", "1.5.5s", "+5s", "0x10"};
  return all;
}

TEST(LabelsUntrusted, AMalformedDurationIsNulloptNotAnException) {
  for (const auto& text : malformed_durations()) {
    std::optional<int64_t> d;
    EXPECT_NO_THROW(d = parse_duration_ms(text)) << text.substr(0, 40);
    EXPECT_FALSE(d) << text.substr(0, 40) << " parsed as " << *d;
  }
}

TEST(LabelsUntrusted, AMalformedDurationLabelIsThatLabelsError) {
  for (const auto& text : malformed_durations()) {
    Routing r;
    EXPECT_NO_THROW(r = parse({{"proxy.idle_timeout", text}, {"proxy.wake_timeout", "5s"}}, named("c")))
        << text.substr(0, 40);
    ASSERT_EQ(r.errors.size(), 1u) << text.substr(0, 40);
    EXPECT_EQ(r.errors[0].rfind("proxy.idle_timeout: invalid duration", 0), 0u) << r.errors[0].substr(0, 80);
    EXPECT_FALSE(r.idle.idle_timeout_ms);
    EXPECT_EQ(r.idle.wake_timeout_ms, 5000) << "the other labels still apply";
  }
}

TEST(LabelsUntrusted, AMalformedStopTimeoutIsThatLabelsError) {
  for (const auto& text : malformed_durations()) {
    Routing r;
    EXPECT_NO_THROW(r = parse({{"proxy.stop_timeout", text}}, named("c"))) << text.substr(0, 40);
    EXPECT_EQ(r.errors.size(), 1u) << text.substr(0, 40);
    EXPECT_FALSE(r.idle.stop_timeout_s);
  }
}

TEST(LabelsUntrusted, ManyUnitsWithinTheLimitAddUp) {
  EXPECT_EQ(parse_duration_ms("1h" + repeat("1h", 1000)), 1001LL * 3600 * 1000);
}

TEST(LabelsUntrusted, ADurationOverTheLimitIsNullopt) {
  EXPECT_EQ(parse_duration_ms("8784h"), berth::labels::kMaxDurationMs);
  EXPECT_FALSE(parse_duration_ms("8785h"));
  EXPECT_FALSE(parse_duration_ms(std::to_string(berth::labels::kMaxDurationMs / 1000 + 1)));
}

TEST(LabelsUntrusted, ValidDurationsStillParse) {
  EXPECT_EQ(parse_duration_ms("1h30m"), 5400000);
  EXPECT_EQ(parse_duration_ms("2.5s"), 2500);
  EXPECT_EQ(parse_duration_ms("250ms"), 250);
  EXPECT_EQ(parse_duration_ms("30"), 30000);
  EXPECT_EQ(parse_duration_ms(" 10s "), 10000);
}

TEST(LabelsUntrusted, AnOutOfRangePortIsThatRoutesErrorNotAnException) {
  for (std::string port : {"99999999999999999999", "65536", "0", "-1", "80.5", ""}) {
    Routing r;
    EXPECT_NO_THROW(r = parse({{"proxy.app.port", port}, {"proxy.app.scheme", "https"}}, named("c"))) << port;
    ASSERT_EQ(r.errors.size(), 1u) << port;
    EXPECT_NE(r.errors[0].find("invalid port"), std::string::npos) << r.errors[0];
    ASSERT_EQ(r.routes.size(), 1u) << "the route itself remains";
    EXPECT_EQ(r.routes[0].scheme, "https");
  }
}

}  // namespace

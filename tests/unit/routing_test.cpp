#include "labels/routing.hpp"

#include <rapidjson/document.h>

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace berth::labels;
using berth::sdk::Labels;

const Route* route(const Routing& r, const std::string& alias) {
  for (const auto& x : r.routes)
    if (x.alias == alias) return &x;
  return nullptr;
}

std::string field(const Route& r, const std::string& key) {
  for (const auto& [k, v] : r.fields)
    if (k == key) return v;
  return "<absent>";
}

Facts ports(std::vector<uint16_t> p) {
  Facts f;
  f.private_ports = std::move(p);
  return f;
}

TEST(Routing, AliasesFromListAndFromAliasKeys) {
  auto r = parse_routing({{"proxy.aliases", " www , app,, "}, {"proxy.api.port", "9000"}},
                         ports({8080}), "web");
  ASSERT_EQ(r.routes.size(), 3u);
  EXPECT_EQ(r.routes[0].alias, "www");
  EXPECT_EQ(r.routes[1].alias, "app");
  EXPECT_EQ(r.routes[2].alias, "api");
  EXPECT_EQ(route(r, "api")->port, 9000);
  EXPECT_EQ(route(r, "www")->port, 8080);
  EXPECT_EQ(route(r, "web"), nullptr);  // no default route once aliases exist
  EXPECT_TRUE(r.errors.empty());
}

TEST(Routing, WildcardAppliesToEveryRouteAndAliasOverrides) {
  auto r = parse_routing({{"proxy.aliases", "app1,app2"},
                          {"proxy.*.scheme", "https"},
                          {"proxy.*.port", "8443"},
                          {"proxy.*.no_tls_verify", "true"},
                          {"proxy.app1.port", "3000"},
                          {"proxy.app1.healthcheck.path", "/health"},
                          {"proxy.app2.host", "10.0.0.5"}},
                         {}, "c");
  ASSERT_EQ(r.routes.size(), 2u);
  const Route* a1 = route(r, "app1");
  const Route* a2 = route(r, "app2");
  ASSERT_TRUE(a1 && a2);
  EXPECT_EQ(a1->port, 3000);
  EXPECT_EQ(a2->port, 8443);
  EXPECT_EQ(a1->scheme, "https");
  EXPECT_EQ(a2->scheme, "https");
  EXPECT_EQ(a1->host, "");
  EXPECT_EQ(a2->host, "10.0.0.5");
  // Other fields: wildcard merged in, sorted by key, no port/scheme/host.
  ASSERT_EQ(a1->fields.size(), 2u);
  EXPECT_EQ(a1->fields[0].first, "healthcheck.path");
  EXPECT_EQ(a1->fields[1].first, "no_tls_verify");
  EXPECT_EQ(field(*a2, "no_tls_verify"), "true");
  EXPECT_EQ(field(*a2, "healthcheck.path"), "<absent>");
  EXPECT_EQ(route(r, "*"), nullptr);
}

TEST(Routing, DefaultRouteFromComposeServiceElseContainerName) {
  auto by_service = parse_routing({{"com.docker.compose.service", "web"}, {"proxy.*.scheme", "https"}},
                                  ports({80}), "/proj-web-1");
  ASSERT_EQ(by_service.routes.size(), 1u);
  EXPECT_EQ(by_service.routes[0].alias, "web");
  EXPECT_EQ(by_service.routes[0].scheme, "https");  // wildcard reaches the default route
  EXPECT_EQ(by_service.routes[0].port, 80);

  auto by_name = parse_routing({}, {}, "/nginx");
  ASSERT_EQ(by_name.routes.size(), 1u);
  EXPECT_EQ(by_name.routes[0].alias, "nginx");
  EXPECT_EQ(by_name.routes[0].port, 0);
  EXPECT_EQ(by_name.routes[0].scheme, "http");

  EXPECT_TRUE(parse_routing({}, {}, "").routes.empty());
}

TEST(Routing, PortInferencePrefersWebPortsThenLowest) {
  EXPECT_EQ(parse_routing({}, ports({9000, 3000, 8080}), "c").routes.at(0).port, 8080);
  EXPECT_EQ(parse_routing({}, ports({9000, 3000, 2000}), "c").routes.at(0).port, 3000);
  EXPECT_EQ(parse_routing({}, ports({9001, 7000}), "c").routes.at(0).port, 7000);
  auto tls = parse_routing({}, ports({443, 9000}), "c");
  EXPECT_EQ(tls.routes.at(0).port, 443);
  EXPECT_EQ(tls.routes.at(0).scheme, "https");
  // An explicit port wins over inference.
  EXPECT_EQ(parse_routing({{"proxy.c.port", "9001"}}, ports({80}), "x").routes.at(0).port, 9001);
}

TEST(Routing, ExcludeLabel) {
  auto r = parse_routing({{"proxy.exclude", "yes"}}, ports({80}), "c");
  EXPECT_TRUE(r.excluded);
  EXPECT_EQ(r.exclude_reason, "proxy.exclude");
  EXPECT_TRUE(r.routes.empty());  // no default route for an excluded container
  EXPECT_FALSE(r.database);

  auto kept = parse_routing({{"proxy.exclude", "0"}}, ports({80}), "c");
  EXPECT_FALSE(kept.excluded);
  EXPECT_EQ(kept.routes.size(), 1u);
}

TEST(Routing, Network) {
  auto r = parse_routing({{"proxy.network", " frontend "}}, {}, "c");
  EXPECT_EQ(r.network, "frontend");
  EXPECT_EQ(r.routes.size(), 1u);  // not mistaken for an alias
  EXPECT_FALSE(r.idle.enabled);
}

TEST(Routing, IdleWatcherFullSet) {
  auto r = parse_routing({{"proxy.idle_timeout", "1h30m"},
                          {"proxy.wake_timeout", "500ms"},
                          {"proxy.stop_method", "Pause"},
                          {"proxy.stop_signal", "SIGINT"},
                          {"proxy.stop_timeout", "30"},
                          {"proxy.depends_on", "db, cache"},
                          {"proxy.start_endpoint", "/api/ready"},
                          {"proxy.no_loading_page", "true"}},
                         {}, "c");
  EXPECT_TRUE(r.errors.empty()) << r.errors.at(0);
  EXPECT_TRUE(r.idle.enabled);
  EXPECT_EQ(r.idle.idle_timeout_ms, 5400000);
  EXPECT_EQ(r.idle.wake_timeout_ms, 500);
  EXPECT_EQ(r.idle.stop_method, "pause");
  EXPECT_EQ(r.idle.stop_signal, "SIGINT");
  EXPECT_EQ(r.idle.stop_timeout_s, 30);
  EXPECT_EQ(r.idle.depends_on, (std::vector<std::string>{"db", "cache"}));
  EXPECT_EQ(r.idle.start_endpoint, "/api/ready");
  EXPECT_TRUE(r.idle.no_loading_page);
  ASSERT_EQ(r.routes.size(), 1u);  // idle keys are not aliases
}

TEST(Routing, DurationForms) {
  auto ms = [](const std::string& v) {
    return parse_routing({{"proxy.idle_timeout", v}}, {}, "c").idle.idle_timeout_ms;
  };
  EXPECT_EQ(ms("30s"), 30000);
  EXPECT_EQ(ms("5m"), 300000);
  EXPECT_EQ(ms("45"), 45000);  // plain integer = seconds
  EXPECT_EQ(ms("1.5h"), 5400000);
  EXPECT_EQ(ms("2m30s"), 150000);
  for (const char* bad : {"", "5x", "m", "-5s", "1h 30m", "5s5"})
    EXPECT_EQ(parse_routing({{"proxy.idle_timeout", bad}}, {}, "c").errors.size(), 1u) << bad;
}

TEST(Routing, MalformedIdleValuesAreErrorsWhileOthersApply) {
  auto r = parse_routing({{"proxy.idle_timeout", "banana"},
                          {"proxy.stop_method", "banana"},
                          {"proxy.no_loading_page", "maybe"},
                          {"proxy.wake_timeout", "10s"},
                          {"proxy.stop_timeout", "15"},
                          {"proxy.aliases", "app"}},
                         {}, "c");
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0], "proxy.idle_timeout: invalid duration \"banana\"");
  EXPECT_NE(r.errors[1].find("proxy.no_loading_page"), std::string::npos);
  EXPECT_NE(r.errors[1].find("\"maybe\""), std::string::npos);
  EXPECT_NE(r.errors[2].find("proxy.stop_method"), std::string::npos);
  EXPECT_NE(r.errors[2].find("\"banana\""), std::string::npos);
  EXPECT_TRUE(r.idle.enabled);
  EXPECT_EQ(r.idle.idle_timeout_ms, 0);      // default kept
  EXPECT_EQ(r.idle.stop_method, "");         // default kept
  EXPECT_FALSE(r.idle.no_loading_page);      // default kept
  EXPECT_EQ(r.idle.wake_timeout_ms, 10000);  // others still apply
  EXPECT_EQ(r.idle.stop_timeout_s, 15);
  ASSERT_EQ(r.routes.size(), 1u);
  EXPECT_EQ(r.routes[0].alias, "app");
}

TEST(Routing, BadPortIsAnErrorAndFallsBackToInference) {
  auto r = parse_routing({{"proxy.aliases", "a,b"}, {"proxy.a.port", "80x"}, {"proxy.*.port", "70000"}},
                         ports({8080}), "c");
  ASSERT_EQ(r.errors.size(), 2u);  // the wildcard's bad value is reported once, not per route
  EXPECT_EQ(r.errors[0], "proxy.a.port: invalid port \"80x\"");
  EXPECT_EQ(r.errors[1], "proxy.*.port: invalid port \"70000\"");
  EXPECT_EQ(route(r, "a")->port, 8080);
  EXPECT_EQ(route(r, "b")->port, 8080);
  EXPECT_TRUE(parse_routing({{"proxy.c.port", "0"}}, {}, "c").errors.size() == 1u);
}

TEST(Routing, BadExcludeIsAnErrorAndDoesNotExclude) {
  auto r = parse_routing({{"proxy.exclude", "perhaps"}}, {}, "c");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "proxy.exclude: invalid boolean \"perhaps\"");
  EXPECT_FALSE(r.excluded);
  EXPECT_EQ(r.routes.size(), 1u);
}

TEST(Routing, ComposeLabels) {
  auto r = parse_routing({{"com.docker.compose.project", "shop"},
                          {"com.docker.compose.service", "api"},
                          {"com.docker.compose.project.config_files", "/srv/shop/compose.yml"},
                          {"com.docker.compose.project.working_dir", "/srv/shop"},
                          {"com.docker.compose.depends_on", "db:service_started:true,cache"},
                          {"com.docker.compose.container-number", "2"}},
                         {}, "shop-api-2");
  EXPECT_EQ(r.compose.project, "shop");
  EXPECT_EQ(r.compose.service, "api");
  EXPECT_EQ(r.compose.config_files, "/srv/shop/compose.yml");
  EXPECT_EQ(r.compose.working_dir, "/srv/shop");
  EXPECT_EQ(r.compose.depends_on, (std::vector<std::string>{"db", "cache"}));
  EXPECT_EQ(r.compose.container_number, 2);
  EXPECT_FALSE(r.idle.enabled);  // compose depends_on is not an idle label
  EXPECT_TRUE(r.errors.empty());
}

TEST(Routing, DatabaseByImageMountOrPort) {
  Facts by_image;
  by_image.image = "docker.io/library/postgres:16-alpine";
  Facts by_mount;
  by_mount.image = "example/app:1";
  by_mount.mount_destinations = {"/data", "/var/lib/mysql/"};
  Facts by_subdir;
  by_subdir.mount_destinations = {"/var/lib/postgresql/data/pgdata"};
  Facts by_port = ports({6379});
  for (const Facts* f : {&by_image, &by_mount, &by_subdir, &by_port}) {
    auto r = parse_routing({}, *f, "c");
    EXPECT_TRUE(r.database);
    EXPECT_TRUE(r.excluded);
    EXPECT_EQ(r.exclude_reason, "database");
    EXPECT_TRUE(r.routes.empty());
  }
  Facts web;
  web.image = "nginx:latest";
  web.mount_destinations = {"/var/lib/mysql-backup"};  // not under a database dir
  web.private_ports = {80};
  web.public_ports = {5432};  // only container-side ports count
  auto r = parse_routing({}, web, "c");
  EXPECT_FALSE(r.database);
  EXPECT_FALSE(r.excluded);
}

TEST(Routing, ExplicitExcludeFalseOverridesDatabase) {
  Facts redis;
  redis.image = "redis:7";
  redis.private_ports = {6379};
  auto r = parse_routing({{"proxy.exclude", "false"}}, redis, "cache");
  EXPECT_TRUE(r.database);
  EXPECT_FALSE(r.excluded);
  EXPECT_EQ(r.exclude_reason, "");
  ASSERT_EQ(r.routes.size(), 1u);
  EXPECT_EQ(r.routes[0].port, 6379);
}

TEST(Routing, FactsFromDetailsIgnoresMalformed) {
  auto f = facts_from_details(R"({"ports":[{"private":80,"public":8080,"ip":"0.0.0.0"},
      {"private":"x"},7,{"private":70000},{"private":443}],
      "mounts":[{"destination":"/data"},{"destination":5},"junk"],"image":"nginx"})");
  EXPECT_EQ(f.private_ports, (std::vector<uint16_t>{80, 443}));
  EXPECT_EQ(f.public_ports, (std::vector<uint16_t>{8080}));
  EXPECT_EQ(f.mount_destinations, (std::vector<std::string>{"/data"}));
  EXPECT_EQ(f.image, "nginx");
  EXPECT_TRUE(facts_from_details("{not json").private_ports.empty());
  EXPECT_TRUE(facts_from_details("[1,2]").mount_destinations.empty());
  EXPECT_TRUE(facts_from_details(R"({"ports":{"private":80}})").private_ports.empty());
}

TEST(Routing, WriteRoutingJsonShape) {
  auto r = parse_routing({{"proxy.aliases", "app"},
                          {"proxy.app.no_tls_verify", "true"},
                          {"proxy.network", "front"},
                          {"proxy.idle_timeout", "banana"},
                          {"proxy.wake_timeout", "10s"},
                          {"com.docker.compose.service", "web"},
                          {"com.docker.compose.depends_on", "db"}},
                         ports({443}), "c");
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  write_routing(w, r);
  ASSERT_TRUE(w.IsComplete());
  rapidjson::Document d;
  d.Parse(sb.GetString());
  ASSERT_FALSE(d.HasParseError()) << sb.GetString();
  ASSERT_TRUE(d.IsObject());
  ASSERT_TRUE(d["routes"].IsArray());
  ASSERT_EQ(d["routes"].Size(), 1u);
  const auto& rt = d["routes"][0];
  EXPECT_STREQ(rt["alias"].GetString(), "app");
  EXPECT_STREQ(rt["scheme"].GetString(), "https");
  EXPECT_STREQ(rt["host"].GetString(), "");
  EXPECT_EQ(rt["port"].GetInt(), 443);
  ASSERT_TRUE(rt["fields"].IsObject());
  EXPECT_STREQ(rt["fields"]["no_tls_verify"].GetString(), "true");
  EXPECT_FALSE(d["excluded"].GetBool());
  EXPECT_FALSE(d.HasMember("exclude_reason"));
  EXPECT_STREQ(d["network"].GetString(), "front");
  ASSERT_TRUE(d["idle"].IsObject());
  EXPECT_EQ(d["idle"]["wake_timeout_ms"].GetInt64(), 10000);
  EXPECT_EQ(d["idle"]["idle_timeout_ms"].GetInt64(), 0);
  EXPECT_TRUE(d["idle"]["stop_timeout_s"].IsNull());
  ASSERT_TRUE(d["compose"].IsObject());
  EXPECT_STREQ(d["compose"]["service"].GetString(), "web");
  EXPECT_STREQ(d["compose"]["depends_on"][0].GetString(), "db");
  EXPECT_FALSE(d["database"].GetBool());
  ASSERT_TRUE(d["errors"].IsArray());
  ASSERT_EQ(d["errors"].Size(), 1u);
  EXPECT_STREQ(d["errors"][0].GetString(), "proxy.idle_timeout: invalid duration \"banana\"");

  // A bare container: idle and compose are null; excluded carries its reason.
  auto bare = parse_routing({{"proxy.exclude", "true"}}, {}, "c");
  rapidjson::StringBuffer sb2;
  rapidjson::Writer<rapidjson::StringBuffer> w2(sb2);
  write_routing(w2, bare);
  rapidjson::Document d2;
  d2.Parse(sb2.GetString());
  ASSERT_FALSE(d2.HasParseError());
  EXPECT_TRUE(d2["idle"].IsNull());
  EXPECT_TRUE(d2["compose"].IsNull());
  EXPECT_TRUE(d2["excluded"].GetBool());
  EXPECT_STREQ(d2["exclude_reason"].GetString(), "proxy.exclude");
  EXPECT_FALSE(d2.HasMember("network"));
  EXPECT_EQ(d2["routes"].Size(), 0u);
}

}  // namespace

#include "wire/wire.hpp"

#include "labels/labels.hpp"

#include <rapidjson/document.h>

#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <ctime>

#include <sys/random.h>
#include <unistd.h>

namespace berth::wire {

void container_topic(std::string& out, std::string_view provider, berth_event_type type) {
  out.assign(protocol::info(protocol::Kind::container).topic_prefix);
  out.append(provider);
  out.push_back('/');
  out.append(event_type_name(type));
}

std::string provider_topic(std::string_view provider, bool up) {
  std::string t(protocol::info(protocol::Kind::provider).topic_prefix);
  t.append(provider);
  t.append(up ? "/up" : "/down");
  return t;
}

void write_string(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_labels(Writer& w, const sdk::Labels& labels) {
  w.StartObject();
  for (const auto& [k, v] : labels) {
    write_string(w, k);
    write_string(w, v);
  }
  w.EndObject();
}

namespace {
void write_optional_string(Writer& w, const char* key, const std::string& v) {
  w.Key(key);
  if (v.empty()) w.Null();
  else write_string(w, v);
}
void write_ms(Writer& w, const char* key, int64_t ms) {
  w.Key(key);
  if (ms > 0) write_time(w, ms * 1000000);
  else w.Null();
}
}  // namespace

void write_container(Writer& w, std::string_view provider, const sdk::Container& c) {
  w.StartObject();
  w.Key("provider");
  write_string(w, provider);
  w.Key("id");
  write_string(w, c.id);
  w.Key("name");
  write_string(w, c.name);
  write_optional_string(w, "image", c.image);
  w.Key("state");
  write_string(w, state_name(c.state));
  write_optional_string(w, "raw_state", c.raw_state);
  write_ms(w, "created", c.created_unix_ms);
  write_ms(w, "started", c.started_unix_ms);
  write_ms(w, "finished", c.finished_unix_ms);
  w.Key("exit_code");
  if (c.exit_code) w.Int(*c.exit_code);
  else w.Null();
  w.Key("oom_killed");
  w.Bool(c.oom_killed);
  w.Key("restart_count");
  w.Int(c.restart_count);
  write_optional_string(w, "health", c.health);
  w.Key("labels");
  write_labels(w, c.labels);
  w.Key("details");
  // Validated when copied out of the plugin (abi_copy), so it is safe raw.
  if (c.details_json.empty()) w.Null();
  else w.RawValue(c.details_json.data(), c.details_json.size(), rapidjson::kObjectType);
  w.Key("routing");
  if (c.labels.empty()) w.Null();
  else labels::write(w, labels::parse(c.labels, labels::facts_of(c)));
  w.EndObject();
}

std::string new_run_id() {
  uint64_t bits = 0;
  // getrandom blocks only before the kernel's pool is first seeded; the
  // clock and pid make a fallback that still differs between two starts.
  if (::getrandom(&bits, sizeof bits, 0) != static_cast<ssize_t>(sizeof bits))
    bits = static_cast<uint64_t>(now_unix_ns()) ^ (static_cast<uint64_t>(::getpid()) << 40);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(bits));
  return hex;
}

void write_identity(Writer& w, const Identity& id) {
  w.Key("daemon_name");
  write_string(w, id.name);
  w.Key("run_id");
  write_string(w, id.run);
}

void write_error(Writer& w, const Status& st) {
  w.StartObject();
  w.Key("code");
  write_string(w, code_name(st.code()));
  w.Key("message");
  write_string(w, st.message());
  w.EndObject();
}

namespace {
void begin_message(Writer& w, protocol::Kind kind, const Identity& daemon, uint64_t seq, int64_t time_ns) {
  w.StartObject();
  w.Key("schema");
  w.Int(kSchemaVersion);
  w.Key("kind");
  write_string(w, protocol::info(kind).name);
  write_identity(w, daemon);
  w.Key("seq");
  w.Uint64(seq);
  w.Key("time");
  write_time(w, time_ns);
}
}  // namespace

namespace {

// The event body is the publisher's hot path: written by hand, through a
// pointer, into a buffer sized once for the worst case (keys are constants,
// strings are escaped only when they must be). Same bytes RapidJSON would
// write, at a fraction of the cost (docs/performance.md, "Why the hot path
// is written as it is").
class EventJson {
 public:
  explicit EventJson(char* out) : p_(out) {}
  // The most a string of `n` bytes can take once quoted and escaped.
  static constexpr size_t worst(size_t n) { return 6 * n + 2; }

  EventJson& raw(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
    return *this;
  }
  EventJson& str(std::string_view s) {
    *p_++ = '"';
    size_t i = 0;
    // Eight bytes at a time while none needs escaping (a control byte, '"'
    // or '\\': the classic has-less/has-zero tests; a false alarm only
    // costs the slow path).
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      constexpr uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
      const uint64_t quote = w ^ (ones * '"'), slash = w ^ (ones * '\\');
      const uint64_t special =
          (((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) | ((slash - ones) & ~slash)) & highs;
      if (special) break;
      std::memcpy(p_, &w, 8);
      p_ += 8;
    }
    for (; i < s.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') {
        *p_++ = static_cast<char>(c);
        continue;
      }
      *p_++ = '\\';
      switch (c) {
        case '"': *p_++ = '"'; break;
        case '\\': *p_++ = '\\'; break;
        case '\n': *p_++ = 'n'; break;
        case '\r': *p_++ = 'r'; break;
        case '\t': *p_++ = 't'; break;
        case '\b': *p_++ = 'b'; break;
        case '\f': *p_++ = 'f'; break;
        default: {
          static const char* hex = "0123456789ABCDEF";
          const char u[5] = {'u', '0', '0', hex[c >> 4], hex[c & 15]};
          std::memcpy(p_, u, 5);
          p_ += 5;
        }
      }
    }
    *p_++ = '"';
    return *this;
  }
  EventJson& opt_str(std::string_view s) { return s.empty() ? raw("null") : str(s); }
  EventJson& num(int64_t v) {
    p_ = std::to_chars(p_, p_ + 24, v).ptr;
    return *this;
  }
  EventJson& time(int64_t unix_ns) {
    *p_++ = '"';
    p_ += format_time(p_, unix_ns);
    *p_++ = '"';
    return *this;
  }
  char* end() const { return p_; }

 private:
  char* p_;
};

}  // namespace

void write_event(std::string& buf, const EventRecord& r) {
  const sdk::Event& e = r.event;
  // Routing from the event's labels alone (no port facts): list/inspect
  // give the full picture.
  rapidjson::StringBuffer routing;
  if (!e.labels.empty()) {
    labels::Facts facts;
    facts.name = e.container_name;
    facts.image = e.image;
    Writer rw(routing);
    labels::write(rw, labels::parse(e.labels, facts));
  }
  size_t bound = 512 + routing.GetSize();  // the constant parts, numbers, time
  for (std::string_view s : {std::string_view(r.daemon.name), std::string_view(r.daemon.run), r.provider, std::string_view(e.raw_action), r.origin,
                             std::string_view(e.container_id), std::string_view(e.container_name),
                             std::string_view(e.image), std::string_view(e.health), std::string_view(e.old_name)})
    bound += EventJson::worst(s.size());
  for (const auto& [k, v] : e.labels) bound += EventJson::worst(k.size()) + EventJson::worst(v.size()) + 2;
  buf.resize(bound);
  EventJson j(buf.data());
  static_assert(protocol::info(protocol::Kind::container).name == "container", "the literal below");
  j.raw("{\"schema\":").num(kSchemaVersion).raw(",\"kind\":\"container\",\"daemon_name\":").str(r.daemon.name);
  j.raw(",\"run_id\":").str(r.daemon.run);
  j.raw(",\"seq\":").num(static_cast<int64_t>(r.seq));
  j.raw(",\"time\":").time(e.time_unix_ns ? e.time_unix_ns : now_unix_ns());
  j.raw(",\"provider\":").str(r.provider).raw(",\"type\":").str(event_type_name(e.type));
  j.raw(",\"raw_action\":").str(e.raw_action).raw(",\"origin\":").str(r.origin);
  j.raw(",\"container\":{\"id\":").str(e.container_id).raw(",\"name\":").str(e.container_name);
  j.raw(",\"image\":").opt_str(e.image).raw(",\"state\":").str(state_name(r.state_after));
  j.raw(",\"labels\":{");
  for (size_t i = 0; i < e.labels.size(); ++i) {
    if (i) j.raw(",");
    j.str(e.labels[i].first).raw(":").str(e.labels[i].second);
  }
  j.raw("},\"routing\":");
  if (e.labels.empty()) j.raw("null");
  else j.raw(std::string_view(routing.GetString(), routing.GetSize()));
  j.raw("},\"exit_code\":");
  if (e.exit_code) j.num(*e.exit_code);
  else j.raw("null");
  j.raw(",\"health\":").opt_str(e.health).raw(",\"old_name\":").opt_str(e.old_name).raw("}");
  buf.resize(static_cast<size_t>(j.end() - buf.data()));
}

void write_provider_message(Writer& w, const Identity& daemon, uint64_t seq, std::string_view provider,
                            std::string_view plugin, bool up, std::string_view reason) {
  begin_message(w, protocol::Kind::provider, daemon, seq, now_unix_ns());
  w.Key("provider");
  write_string(w, provider);
  w.Key("plugin");
  write_string(w, plugin);
  w.Key("state");
  w.String(up ? "up" : "down");
  w.Key("reason");
  write_string(w, reason);
  w.EndObject();
}

void write_heartbeat(Writer& w, const HeartbeatRecord& r) {
  begin_message(w, protocol::Kind::heartbeat, r.daemon, r.seq, now_unix_ns());
  w.Key("uptime_ms");
  w.Int64(r.uptime_ms);
  w.Key("queue_depth");
  w.Uint64(r.queue_depth);
  w.Key("queue_capacity");
  w.Uint64(r.queue_capacity);
  w.Key("emit_blocked_total");
  w.Uint64(r.emit_blocked_total);
  w.EndObject();
}

void write_stopping(Writer& w, const Identity& daemon, uint64_t seq) {
  begin_message(w, protocol::Kind::stopping, daemon, seq, now_unix_ns());
  w.EndObject();
}

int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

char* digits(char* out, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i, v /= 10) out[i] = static_cast<char>('0' + v % 10);
  return out + width;
}

}  // namespace

size_t format_time(char* buf, int64_t unix_ns) {
  int64_t secs = unix_ns / 1000000000, nanos = unix_ns % 1000000000;
  if (nanos < 0) nanos += 1000000000, --secs;
  // Events come in bursts within one second: its "YYYY-MM-DDTHH:MM:SS."
  // is formatted once per thread and second.
  thread_local int64_t cached_secs = INT64_MIN;
  thread_local char cached[20];
  if (secs == cached_secs) {
    std::memcpy(buf, cached, 20);
    char* p = digits(buf + 20, static_cast<uint64_t>(nanos), 9);
    *p++ = 'Z';
    return static_cast<size_t>(p - buf);
  }
  int64_t days = secs / 86400, sod = secs % 86400;
  if (sod < 0) sod += 86400, --days;
  // The civil date from <chrono>; the digits by hand, which keeps
  // strftime/snprintf, locale and time-zone work off the hot path.
  const std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{days}}};
  char* p = digits(buf, static_cast<uint64_t>(static_cast<int>(date.year())), 4);
  *p++ = '-';
  p = digits(p, static_cast<unsigned>(date.month()), 2);
  *p++ = '-';
  p = digits(p, static_cast<unsigned>(date.day()), 2);
  *p++ = 'T';
  p = digits(p, static_cast<uint64_t>(sod / 3600), 2);
  *p++ = ':';
  p = digits(p, static_cast<uint64_t>(sod / 60 % 60), 2);
  *p++ = ':';
  p = digits(p, static_cast<uint64_t>(sod % 60), 2);
  *p++ = '.';
  std::memcpy(cached, buf, 20);
  cached_secs = secs;
  p = digits(p, static_cast<uint64_t>(nanos), 9);
  *p++ = 'Z';
  return static_cast<size_t>(p - buf);
}

void write_time(Writer& w, int64_t unix_ns) {
  char buf[kTimeChars];
  w.String(buf, static_cast<rapidjson::SizeType>(format_time(buf, unix_ns)));
}

}  // namespace berth::wire

// What the host keeps of a plugin's containers and events (provider.h §7):
// bounded, valid UTF-8, never read past the struct_size the plugin declared,
// and every repair named in the RepairSet.
#include "plugin/abi_copy.hpp"

#include "sched/threads.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <future>
#include <string>
#include <vector>

namespace {

using berth::Code;
using berth::RepairSet;
using berth::Repairs;
using berth::container_from_abi;
using berth::event_from_abi;
using berth::repair_utf8;
using berth::valid_utf8;

const std::string kFFFD = "\xEF\xBF\xBD";

RepairSet bits(std::initializer_list<Repairs::Kind> kinds) {
  RepairSet s = 0;
  for (auto k : kinds) s |= RepairSet(1) << k;
  return s;
}
bool has(RepairSet seen, Repairs::Kind k) { return seen & (RepairSet(1) << k); }

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

berth_container container(const char* id = "c1") {
  berth_container c{};
  c.struct_size = sizeof c;
  c.id = id;
  c.name = "web";
  c.state = BERTH_STATE_RUNNING;
  return c;
}

berth_event event(const char* id = "c1") {
  berth_event e{};
  e.struct_size = sizeof e;
  e.type = BERTH_EVENT_STARTED;
  e.raw_action = "start";
  e.container_id = id;
  return e;
}

// Borrowed label pointers over owned strings, as a plugin would hand them.
struct LabelSet {
  std::vector<std::pair<std::string, std::string>> owned;
  std::vector<berth_label> abi;
  void add(std::string k, std::string v) { owned.emplace_back(std::move(k), std::move(v)); }
  void attach(berth_container& c) {
    abi.clear();
    for (auto& [k, v] : owned) abi.push_back({k.c_str(), v.c_str()});
    c.labels = abi.data();
    c.label_count = abi.size();
  }
};

// ------------------------------------------------------------ whole items

TEST(AbiCopy, AWellFormedContainerIsCopiedWhole) {
  berth_label labels[] = {{"a", "1"}, {"b", "2"}};
  berth_container c = container();
  c.image = "nginx:1";
  c.raw_state = "running";
  c.created_unix_ms = 1, c.started_unix_ms = 2, c.finished_unix_ms = 3;
  c.has_exit_code = 1, c.exit_code = 137;
  c.oom_killed = 1, c.restart_count = 4;
  c.health = "healthy";
  c.labels = labels, c.label_count = 2;
  c.details_json = R"({"node":"pve1"})";
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(seen, 0u);
  EXPECT_EQ(r->id, "c1");
  EXPECT_EQ(r->name, "web");
  EXPECT_EQ(r->image, "nginx:1");
  EXPECT_EQ(r->state, BERTH_STATE_RUNNING);
  EXPECT_EQ(r->raw_state, "running");
  EXPECT_EQ(r->finished_unix_ms, 3);
  EXPECT_EQ(r->exit_code, 137);
  EXPECT_TRUE(r->oom_killed);
  EXPECT_EQ(r->restart_count, 4);
  EXPECT_EQ(r->health, "healthy");
  EXPECT_EQ(r->labels, (berth::sdk::Labels{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(r->details_json, R"({"node":"pve1"})");
}

TEST(AbiCopy, AWellFormedEventIsCopiedWhole) {
  berth_label labels[] = {{"a", "1"}};
  berth_event e = event();
  e.type = BERTH_EVENT_RENAMED;
  e.raw_action = "rename";
  e.time_unix_ns = 42;
  e.container_name = "new";
  e.old_name = "old";
  e.image = "img";
  e.has_exit_code = 1, e.exit_code = 3;
  e.labels = labels, e.label_count = 1;
  RepairSet seen = 0;
  auto r = event_from_abi(&e, seen);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(seen, 0u);
  EXPECT_EQ(r->type, BERTH_EVENT_RENAMED);
  EXPECT_EQ(r->raw_action, "rename");
  EXPECT_EQ(r->time_unix_ns, 42);
  EXPECT_EQ(r->container_id, "c1");
  EXPECT_EQ(r->container_name, "new");
  EXPECT_EQ(r->old_name, "old");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->labels, (berth::sdk::Labels{{"a", "1"}}));
}

// --------------------------------------------------------------------- ids

TEST(AbiCopy, AnIdOfExactlyMaxIdBytesIsKept) {
  const std::string id(BERTH_MAX_ID, 'a');
  berth_container c = container(id.c_str());
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, id);
  EXPECT_EQ(seen, 0u);
}

TEST(AbiCopy, AContainerIdLongerThanMaxIdIsRefused) {
  const std::string id(BERTH_MAX_ID + 1, 'a');
  berth_container c = container(id.c_str());
  RepairSet seen = 0;
  EXPECT_FALSE(container_from_abi(&c, seen));
  EXPECT_EQ(seen, bits({Repairs::refused}));
}

TEST(AbiCopy, AContainerIdThatIsNotUtf8IsRefused) {
  berth_container c = container("abc\xFF");
  RepairSet seen = 0;
  EXPECT_FALSE(container_from_abi(&c, seen));
  EXPECT_EQ(seen, bits({Repairs::refused}));
}

TEST(AbiCopy, AContainerWithoutAnIdIsRefused) {
  berth_container none = container(nullptr), empty = container("");
  RepairSet seen = 0;
  EXPECT_FALSE(container_from_abi(&none, seen));
  EXPECT_FALSE(container_from_abi(&empty, seen));
}

TEST(AbiCopy, AnEventIdLongerThanMaxIdIsRefusedAsInvalidArgument) {
  const std::string id(BERTH_MAX_ID + 1, 'e');
  berth_event e = event(id.c_str());
  RepairSet seen = 0;
  auto r = event_from_abi(&e, seen);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::invalid_argument);
  EXPECT_EQ(seen, bits({Repairs::refused}));
}

TEST(AbiCopy, AnEventIdThatIsNotUtf8IsRefused) {
  berth_event e = event("\xC0\xAF");
  RepairSet seen = 0;
  auto r = event_from_abi(&e, seen);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::invalid_argument);
  EXPECT_TRUE(has(seen, Repairs::refused));
}

TEST(AbiCopy, AnEventWithoutRawActionIsRefused) {
  berth_event e = event();
  e.raw_action = nullptr;
  RepairSet seen = 0;
  EXPECT_FALSE(event_from_abi(&e, seen));
}

// ------------------------------------------------------------------ labels

TEST(AbiCopy, ALabelWithAOneMegabyteValueIsDroppedAndTheOthersKept) {
  const std::string huge(1 << 20, 'v');
  berth_label labels[] = {{"a", "1"}, {"big", huge.c_str()}, {"b", "2"}};
  berth_container c = container();
  c.labels = labels, c.label_count = 3;
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->labels, (berth::sdk::Labels{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(seen, bits({Repairs::dropped_labels}));
}

TEST(AbiCopy, LabelsAtTheirKeyAndValueLimitsAreKept) {
  LabelSet ls;
  ls.add(std::string(BERTH_MAX_LABEL_KEY, 'k'), std::string(BERTH_MAX_LABEL_VALUE, 'v'));
  berth_container c = container();
  ls.attach(c);
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->labels.size(), 1u);
  EXPECT_EQ(seen, 0u);
}

TEST(AbiCopy, ALabelWithAKeyOverTheLimitOrEmptyIsDropped) {
  LabelSet ls;
  ls.add(std::string(BERTH_MAX_LABEL_KEY + 1, 'k'), "v");
  ls.add("", "v");
  ls.add("ok", "v");
  berth_container c = container();
  ls.attach(c);
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->labels, (berth::sdk::Labels{{"ok", "v"}}));
  EXPECT_EQ(seen, bits({Repairs::dropped_labels}));
}

TEST(AbiCopy, ALabelWithoutAValueHasAnEmptyOne) {
  berth_label labels[] = {{"flag", nullptr}};
  berth_container c = container();
  c.labels = labels, c.label_count = 1;
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->labels, (berth::sdk::Labels{{"flag", ""}}));
}

TEST(AbiCopy, ThreeHundredLabelsKeepTheFirst256) {
  LabelSet ls;
  for (int i = 0; i < 300; ++i) ls.add("k" + std::to_string(i), "v");
  berth_container c = container();
  ls.attach(c);
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->labels.size(), size_t(BERTH_MAX_LABELS));
  EXPECT_EQ(r->labels.front().first, "k0");
  EXPECT_EQ(r->labels.back().first, "k255");
  EXPECT_EQ(seen, bits({Repairs::dropped_labels}));
}

// 16 labels of 4 + 4092 bytes fill BERTH_MAX_LABEL_BYTES exactly.
LabelSet labels_filling_the_byte_limit() {
  LabelSet ls;
  for (int i = 0; i < 16; ++i) ls.add("k" + std::string(i < 10 ? "00" : "0") + std::to_string(i), std::string(4092, 'v'));
  return ls;
}

TEST(AbiCopy, LabelsTotallingExactlyTheByteLimitAreAllKept) {
  LabelSet ls = labels_filling_the_byte_limit();
  berth_container c = container();
  ls.attach(c);
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->labels.size(), 16u);
  EXPECT_EQ(seen, 0u);
}

TEST(AbiCopy, ALabelBeyondTheTotalByteLimitIsDropped) {
  LabelSet ls = labels_filling_the_byte_limit();
  ls.add("x", "");
  berth_container c = container();
  ls.attach(c);
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  size_t total = 0;
  for (const auto& [k, v] : r->labels) total += k.size() + v.size();
  EXPECT_EQ(r->labels.size(), 16u);
  EXPECT_LE(total, size_t(BERTH_MAX_LABEL_BYTES));
  EXPECT_EQ(seen, bits({Repairs::dropped_labels}));
}

TEST(AbiCopy, InvalidUtf8InALabelIsRepaired) {
  berth_label labels[] = {{"k\xFF", "v\x80"}};
  berth_container c = container();
  c.labels = labels, c.label_count = 1;
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->labels, (berth::sdk::Labels{{"k" + kFFFD, "v" + kFFFD}}));
  EXPECT_EQ(seen, bits({Repairs::invalid_utf8}));
}

// -------------------------------------------------------------------- text

TEST(AbiCopy, TextOfExactlyMaxTextBytesIsKept) {
  const std::string name(BERTH_MAX_TEXT, 'n');
  berth_container c = container();
  c.name = name.c_str();
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, name);
  EXPECT_EQ(seen, 0u);
}

TEST(AbiCopy, LongTextIsCutToMaxText) {
  const std::string image(BERTH_MAX_TEXT + 500, 'i');
  berth_container c = container();
  c.image = image.c_str();
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->image, std::string(BERTH_MAX_TEXT, 'i'));
  EXPECT_EQ(seen, bits({Repairs::truncated}));
}

TEST(AbiCopy, TextIsCutBeforeAMultiByteCharacterThatStraddlesTheLimit) {
  // 342 × "€" (3 bytes) = 1026 bytes; the 342nd spans bytes 1023..1025.
  const std::string euros = repeat("\xE2\x82\xAC", 342);
  berth_container c = container();
  c.name = euros.c_str();
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, repeat("\xE2\x82\xAC", 341));
  EXPECT_EQ(seen, bits({Repairs::truncated})) << "a clean cut needs no UTF-8 repair";
}

TEST(AbiCopy, EveryEventTextFieldIsBounded) {
  const std::string long_text(BERTH_MAX_TEXT * 2, 't');
  berth_event e = event();
  e.raw_action = e.container_name = e.image = e.health = e.old_name = long_text.c_str();
  RepairSet seen = 0;
  auto r = event_from_abi(&e, seen);
  ASSERT_TRUE(r);
  for (const std::string* s : {&r->raw_action, &r->container_name, &r->image, &r->health, &r->old_name})
    EXPECT_EQ(s->size(), size_t(BERTH_MAX_TEXT));
  EXPECT_EQ(seen, bits({Repairs::truncated}));
}

TEST(AbiCopy, InvalidUtf8InTextIsRepaired) {
  berth_container c = container();
  c.name = "we\x80" "b";
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "we" + kFFFD + "b");
  EXPECT_EQ(seen, bits({Repairs::invalid_utf8}));
}

// Each replaced byte grows to the 3 bytes of U+FFFD: text is repaired
// before it is cut, so what is kept is within BERTH_MAX_TEXT (a first
// version cut first and kept 3072 bytes).
TEST(AbiCopy, ARepairedTextStillFitsMaxText) {
  const std::string junk(BERTH_MAX_TEXT, '\xFF');
  berth_container c = container();
  c.name = junk.c_str();
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_TRUE(valid_utf8(r->name));
  EXPECT_LE(r->name.size(), size_t(BERTH_MAX_TEXT));
}

// ----------------------------------------------------------------- details

TEST(AbiCopy, DetailsThatAreNotAJsonObjectAreDropped) {
  for (const char* bad : {"[1,2]", "\"text\"", "42", "not json", "{\"a\":", "{} {}", "{\"a\":\"\xFF\"}"}) {
    berth_container c = container();
    c.details_json = bad;
    RepairSet seen = 0;
    auto r = container_from_abi(&c, seen);
    ASSERT_TRUE(r) << "the container itself is kept";
    EXPECT_EQ(r->details_json, "") << bad;
    EXPECT_EQ(seen, bits({Repairs::dropped_details})) << bad;
  }
}

// {"a":"xxx..."} of exactly `size` bytes.
std::string details_of_size(size_t size) { return R"({"a":")" + std::string(size - 8, 'x') + R"("})"; }

TEST(AbiCopy, DetailsOfExactlyMaxDetailsBytesAreKept) {
  const std::string details = details_of_size(BERTH_MAX_DETAILS);
  berth_container c = container();
  c.details_json = details.c_str();
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->details_json, details);
  EXPECT_EQ(seen, 0u);
}

TEST(AbiCopy, DetailsOverMaxDetailsAreDropped) {
  const std::string details = details_of_size(BERTH_MAX_DETAILS + 1);
  berth_container c = container();
  c.details_json = details.c_str();
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->details_json, "");
  EXPECT_EQ(seen, bits({Repairs::dropped_details}));
}

// The copy runs on the thread of the plugin's call, whose stack is
// Threads::Options::stack_bytes (1 MiB). A 64 KiB object holding ~32 000
// nested arrays (valid JSON, within BERTH_MAX_DETAILS) overflowed it with
// the recursive parser (SIGSEGV): details are parsed iteratively.
TEST(AbiCopyDeathTest, DeeplyNestedDetailsDoNotOverflowACallThreadsStack) {
  const size_t depth = (BERTH_MAX_DETAILS - 7) / 2;
  const std::string details = R"({"a":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
  ASSERT_LE(details.size(), size_t(BERTH_MAX_DETAILS));
  EXPECT_EXIT(
      {
        berth::Threads threads;  // where plugin calls, and so their sinks, run
        std::promise<bool> copied;
        threads.run([&] {
          berth_container c = container();
          c.details_json = details.c_str();
          RepairSet seen = 0;
          copied.set_value(bool(container_from_abi(&c, seen)));
        });
        std::_Exit(copied.get_future().get() ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

// ------------------------------------------------------------ enum values

TEST(AbiCopy, AnUnknownEventTypeBecomesOtherAndIsNoted) {
  berth_event e = event();
  e.type = static_cast<berth_event_type>(99);
  e.raw_action = "teleport";
  RepairSet seen = 0;
  auto r = event_from_abi(&e, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, BERTH_EVENT_OTHER);
  EXPECT_EQ(r->raw_action, "teleport") << "raw_action still says what happened";
  EXPECT_EQ(seen, bits({Repairs::unknown_values}));
}

TEST(AbiCopy, AnUnknownStateBecomesUnknownAndIsNoted) {
  for (int state : {77, -1}) {
    berth_container c = container();
    c.state = static_cast<berth_state>(state);
    RepairSet seen = 0;
    auto r = container_from_abi(&c, seen);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->state, BERTH_STATE_UNKNOWN) << state;
    EXPECT_EQ(seen, bits({Repairs::unknown_values})) << state;
  }
}

// -------------------------------------------------------------- struct_size

TEST(AbiCopy, AnEventFieldBeyondStructSizeReadsAsAbsent) {
  berth_label labels[] = {{"a", "1"}};
  berth_event e = event();
  e.old_name = "old";
  e.labels = labels, e.label_count = 1;
  e.struct_size = offsetof(berth_event, labels);  // an older plugin's struct ends here
  RepairSet seen = 0;
  auto r = event_from_abi(&e, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->old_name, "old");
  EXPECT_TRUE(r->labels.empty());
  EXPECT_EQ(seen, 0u);
}

TEST(AbiCopy, AContainerFieldBeyondStructSizeReadsAsAbsent) {
  berth_container c = container();
  c.health = "healthy";
  c.details_json = R"({"node":"x"})";
  c.struct_size = offsetof(berth_container, labels);
  RepairSet seen = 0;
  auto r = container_from_abi(&c, seen);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->health, "healthy");
  EXPECT_EQ(r->details_json, "");
  EXPECT_EQ(seen, 0u);
}

TEST(AbiCopy, AnItemShorterThanItsRequiredFieldsIsRefused) {
  berth_container c = container();
  c.struct_size = offsetof(berth_container, state);
  berth_event e = event();
  e.struct_size = offsetof(berth_event, container_id);
  RepairSet seen = 0;
  EXPECT_FALSE(container_from_abi(&c, seen));
  EXPECT_FALSE(event_from_abi(&e, seen));
}

// --------------------------------------------------------------- RepairSet

TEST(AbiCopy, TheRepairSetNamesEveryKindOfRepairInOneItem) {
  const std::string long_name(BERTH_MAX_TEXT + 1, 'n');
  LabelSet ls;
  for (int i = 0; i < BERTH_MAX_LABELS + 1; ++i) ls.add("k" + std::to_string(i), "v");
  berth_container c = container();
  c.name = long_name.c_str();
  c.image = "bad\xFF";
  c.state = static_cast<berth_state>(77);
  c.details_json = "[]";
  ls.attach(c);
  RepairSet seen = 0;
  ASSERT_TRUE(container_from_abi(&c, seen));
  EXPECT_EQ(seen, bits({Repairs::truncated, Repairs::invalid_utf8, Repairs::dropped_labels,
                        Repairs::dropped_details, Repairs::unknown_values}));
}

TEST(AbiCopy, RepairsCountsEachKindAndReportsOnlyTheFirst) {
  Repairs r;
  EXPECT_TRUE(r.note(Repairs::truncated));
  EXPECT_FALSE(r.note(Repairs::truncated));
  EXPECT_EQ(r.count(Repairs::truncated), 2u);
  EXPECT_EQ(r.count(Repairs::refused), 0u);
}

TEST(AbiCopy, EveryRepairKindHasAName) {
  EXPECT_EQ(Repairs::name(Repairs::invalid_utf8), "invalid_utf8");
  EXPECT_EQ(Repairs::name(Repairs::truncated), "truncated");
  EXPECT_EQ(Repairs::name(Repairs::dropped_labels), "dropped_labels");
  EXPECT_EQ(Repairs::name(Repairs::dropped_details), "dropped_details");
  EXPECT_EQ(Repairs::name(Repairs::unknown_values), "unknown_values");
  EXPECT_EQ(Repairs::name(Repairs::refused), "refused");
}

// -------------------------------------------------------------------- UTF-8

TEST(Utf8, ValidTwoThreeAndFourByteCharactersAreValid) {
  for (const char* s : {"", "plain ascii, longer than eight bytes", "\xC3\xA9", "\xE2\x82\xAC", "\xEF\xBF\xBF",
                        "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"})
    EXPECT_TRUE(valid_utf8(s)) << s;
}

TEST(Utf8, MalformedSequencesAreInvalid) {
  for (const char* s : {"\x80", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xED\xBF\xBF",
                        "\xF0\x80\x80\xAF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "\xE2\x82",
                        "\xC3(", "abcdefghijklmnop\xFF"})
    EXPECT_FALSE(valid_utf8(s)) << testing::PrintToString(s);
}

TEST(Utf8, ValidTextIsLeftUntouched) {
  std::string s = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
  const std::string before = s;
  EXPECT_FALSE(repair_utf8(s));
  EXPECT_EQ(s, before);
}

TEST(Utf8, ALoneContinuationByteBecomesOneReplacementCharacter) {
  std::string s = "a\x80" "b";
  EXPECT_TRUE(repair_utf8(s));
  EXPECT_EQ(s, "a" + kFFFD + "b");
}

TEST(Utf8, AnOverlongFormBecomesReplacementCharacters) {
  std::string s = "\xC0\xAF";
  EXPECT_TRUE(repair_utf8(s));
  EXPECT_EQ(s, kFFFD + kFFFD);
}

TEST(Utf8, AnEncodedSurrogateBecomesReplacementCharacters) {
  std::string s = "x\xED\xA0\x80y";
  EXPECT_TRUE(repair_utf8(s));
  EXPECT_EQ(s, "x" + kFFFD + kFFFD + kFFFD + "y");
}

TEST(Utf8, ACodePointAboveU10FFFFBecomesReplacementCharacters) {
  std::string s = "\xF4\x90\x80\x80";
  EXPECT_TRUE(repair_utf8(s));
  EXPECT_EQ(s, repeat(kFFFD, 4));
}

TEST(Utf8, ASequenceTruncatedAtTheEndIsReplacedAndTheTextBeforeKept) {
  std::string s = "ab\xE2\x82";
  EXPECT_TRUE(repair_utf8(s));
  ASSERT_EQ(s.substr(0, 2), "ab");
  const std::string rest = s.substr(2);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest, repeat(kFFFD, rest.size() / kFFFD.size())) << "only replacement characters after \"ab\"";
}

TEST(Utf8, AValidCharacterAfterABrokenLeadByteIsKept) {
  std::string s = "\xE2\xC3\xA9";  // a 3-byte lead, then a complete "é"
  EXPECT_TRUE(repair_utf8(s));
  EXPECT_EQ(s, kFFFD + "\xC3\xA9");
}

TEST(Utf8, RepairedTextIsValid) {
  std::string s = "\xFF\xFE\x80\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80\xE2\x82";
  repair_utf8(s);
  EXPECT_TRUE(valid_utf8(s));
}

}  // namespace

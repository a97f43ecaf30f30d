// What crm.train_duplicate_model compares: every pair of a small workspace, a fixed random sample
// of a large one, and per blocking rule a strided sample of the pairs it finds.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/match/keys.hpp"
#include "core/match/model.hpp"
#include "core/match/profile.hpp"
#include "core/match/reference.hpp"
#include "core/match/training_sample.hpp"

namespace {

using namespace crm::match;

class TrainingSample : public ::testing::Test {
 protected:
  void SetUp() override { set_reference_dir(CRM_REFERENCE_SOURCE_DIR); }

  // first_name, last_name, email, phone, street, city, postal_code, country, birth_date, company.
  static Profile person(std::vector<std::optional<std::string>> columns) {
    RawRecord raw;
    raw.columns = std::move(columns);
    raw.columns.resize(source_columns(RecordKind::Person).size());
    return build_profile(RecordKind::Person, raw, "US");
  }
  static std::string first_letters(std::string_view w) { return std::string(w.substr(0, 2)); }
  static bool never() { return false; }

  static std::vector<Profile> people(int n) {
    std::vector<Profile> out;
    for (int i = 0; i < n; ++i)
      out.push_back(person({"Ann" + std::to_string(i % 7), "Lee" + std::to_string(i % 5),
                            "a" + std::to_string(i) + "@x" + std::to_string(i % 3) + ".example"}));
    return out;
  }
  static std::vector<const Profile *> pointers(const std::vector<Profile> &v) {
    std::vector<const Profile *> out;
    for (const Profile &p : v) out.push_back(&p);
    return out;
  }
};

TEST_F(TrainingSample, ASmallWorkspaceComparesEveryPairAndEveryRule) {
  const std::vector<Profile> records = people(6);
  const Model model = default_model(RecordKind::Person);
  const TrainingInput input =
      training_input(RecordKind::Person, model, pointers(records), 1, first_letters, never);
  EXPECT_EQ(input.total_pair_count, 15.0);
  EXPECT_EQ(input.random.size(), 15u);
  EXPECT_EQ(input.sessions.size(), blocking_rules(RecordKind::Person).size());
  for (const TrainingSession &s : input.sessions) {
    EXPECT_FALSE(s.name.empty());
    EXPECT_EQ(s.pairs.size(), static_cast<std::size_t>(s.pair_count)) << s.name;
  }
}

TEST_F(TrainingSample, ALargeWorkspaceIsSampledTheSameWayEveryTime) {
  const std::vector<Profile> records = people(60);  // 1,770 pairs
  const Model model = default_model(RecordKind::Person);
  const SampleLimits limits{.random_pairs = 100, .session_pairs = 3};
  const TrainingInput a =
      training_input(RecordKind::Person, model, pointers(records), 1, first_letters, never, limits);
  const TrainingInput b =
      training_input(RecordKind::Person, model, pointers(records), 1, first_letters, never, limits);
  EXPECT_EQ(a.random.size(), 100u);
  EXPECT_EQ(a.random, b.random);
  bool some_rule_sampled = false;
  for (std::size_t i = 0; i < a.sessions.size(); ++i) {
    EXPECT_EQ(a.sessions[i].pairs, b.sessions[i].pairs);
    // An even stride over the rule's pairs: about session_pairs of them, never all of many.
    if (a.sessions[i].pair_count > 6) {
      some_rule_sampled = true;
      EXPECT_LE(a.sessions[i].pairs.size(), 2 * limits.session_pairs) << a.sessions[i].name;
      EXPECT_GE(a.sessions[i].pairs.size(), limits.session_pairs) << a.sessions[i].name;
    }
  }
  EXPECT_TRUE(some_rule_sampled);
}

TEST_F(TrainingSample, TrainingStartsFromTheDefaultsWithTheWorkspacesChoices) {
  Model current = default_model(RecordKind::Person);
  current.threshold = 0.75;
  current.default_region = "GB";
  add_attribute_fields(current, {"tier"});
  for (double &m : current.fields[0].m)
    m = 0.123;  // what an earlier training estimated is not kept
  const Model start = training_start(RecordKind::Person, current);
  EXPECT_EQ(start.threshold, 0.75);
  EXPECT_EQ(start.default_region, "GB");
  EXPECT_EQ(start.attributes, std::vector<std::string>{"tier"});
  Model expected = default_model(RecordKind::Person);
  add_attribute_fields(expected, {"tier"});
  EXPECT_EQ(start.fields.size(), expected.fields.size());
  EXPECT_EQ(start.fields[0].m, expected.fields[0].m);
}

}  // namespace

// Matching: string similarities, profiles, comparison levels, blocking keys and pairs, the
// Fellegi-Sunter score, EM training and connected sets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/match/blocking.hpp"
#include "core/match/compare.hpp"
#include "core/match/frequency.hpp"
#include "core/match/keys.hpp"
#include "core/match/model_json.hpp"
#include "core/match/reference.hpp"
#include "core/match/sets.hpp"
#include "core/match/similarity.hpp"
#include "core/match/text.hpp"
#include "core/match/training.hpp"
#include "core/error.hpp"

#include <nlohmann/json.hpp>

namespace {

using namespace crm::match;

TEST(Similarity, JaroWinklerKnownValues) {
  EXPECT_DOUBLE_EQ(jaro_winkler("martha", "martha"), 1.0);
  EXPECT_NEAR(jaro_winkler("martha", "marhta"), 0.9611, 1e-4);
  EXPECT_NEAR(jaro_winkler("dwayne", "duane"), 0.84, 1e-4);
  EXPECT_NEAR(jaro_winkler("dixon", "dicksonx"), 0.8133, 1e-4);
  EXPECT_EQ(jaro_winkler("", "abc"), 0.0);
  EXPECT_EQ(jaro_winkler("abc", "xyz"), 0.0);
  EXPECT_DOUBLE_EQ(jaro_winkler("ab", "ba"), jaro_winkler("ba", "ab"));
  // Symmetric even where the greedy matching is not: a trigger and a scan compare in either order.
  for (auto [x, y] :
       {std::pair{"abcdxy", "bacdyx"}, std::pair{"jacbo", "jacob"}, std::pair{"aab", "aba"}})
    EXPECT_DOUBLE_EQ(jaro_winkler(x, y), jaro_winkler(y, x)) << x << " " << y;
}

TEST(Similarity, JaroWinklerBoundsLongInput) {
  const std::string a(100000, 'a'), b = std::string(99999, 'a') + "b";
  const double s = jaro_winkler(a, b);
  EXPECT_GT(s, 0.9);
  EXPECT_LE(s, 1.0);
}

TEST(Similarity, LevenshteinStopsAtLimit) {
  EXPECT_EQ(levenshtein("kitten", "sitting", 5), 3u);
  EXPECT_EQ(levenshtein("kitten", "sitting", 1), 2u);  // limit + 1
  EXPECT_EQ(levenshtein("19650113", "19650131", 2), 2u);
  EXPECT_EQ(levenshtein("", "abc", 5), 3u);
}

TEST(Similarity, TokenSetIgnoresOrderAndCountsExtraWords) {
  EXPECT_DOUBLE_EQ(token_set_similarity("john smith", "smith john"), 1.0);
  EXPECT_NEAR(token_set_similarity("acme", "acme bank"), 0.5, 1e-9);
  EXPECT_GT(token_set_similarity("arts deli", "arts delicatessen"), 0.9);
  EXPECT_EQ(token_set_similarity("", "x"), 0.0);
  EXPECT_DOUBLE_EQ(token_set_similarity("ab cd", "ac bd"), token_set_similarity("ac bd", "ab cd"));
}

TEST(Street, AbbreviationsAndNumbers) {
  EXPECT_EQ(normalize_street("435 S. La Cienega Boulevard"), "435 s la cienega blvd");
  EXPECT_EQ(normalize_street("435 s. la cienega blv."), "435 s la cienega blvd");
  EXPECT_EQ(street_number("12224 ventura blvd"), "12224");
  EXPECT_EQ(street_number("ventura blvd"), "");
}

class WithReference : public ::testing::Test {
 protected:
  void SetUp() override { set_reference_dir(CRM_REFERENCE_SOURCE_DIR); }

  static Profile person(std::vector<std::optional<std::string>> columns,
                        std::vector<std::string> extra_emails = {}) {
    RawRecord raw;
    raw.columns = std::move(columns);
    raw.columns.resize(source_columns(RecordKind::Person).size());
    raw.extra_emails = std::move(extra_emails);
    return build_profile(RecordKind::Person, raw, "US");
  }
  static Profile company(std::vector<std::optional<std::string>> columns) {
    RawRecord raw;
    raw.columns = std::move(columns);
    raw.columns.resize(source_columns(RecordKind::Company).size());
    return build_profile(RecordKind::Company, raw, "US");
  }
  static double score(const Model &m, const Profile &a, const Profile &b) {
    return probability(match_weight(m, compare(m, a, b)));
  }
  static std::string first_letters(std::string_view w) { return std::string(w.substr(0, 2)); }
};

// Columns: first_name, last_name, email, phone, street, city, postal_code, country, birth_date,
// company_id.
using Columns = std::vector<std::optional<std::string>>;

TEST_F(WithReference, PersonProfileNormalises) {
  const Profile p = person({"  Bob ", "O'Brien", "Bob.OBrien+crm@GoogleMail.com", "(415) 555-2671",
                            "12 Main Street", "San Francisco", "94 105", "us", "1980-02-01", "7"},
                           {"bob@acme.co.uk"});
  EXPECT_EQ(p[kFirstName], "bob");
  EXPECT_EQ(p[kLastName], "obrien");
  EXPECT_EQ(p[kEmails], "bob@acme.co.uk bobobrien@gmail.com");
  EXPECT_EQ(p[kEmailDomains], "acme.co.uk");  // gmail.com is free mail
  EXPECT_EQ(p[kPhone], "+14155552671");
  EXPECT_EQ(p[kBirthDate], "19800201");
  EXPECT_EQ(p[kStreet], "12 main st");
  EXPECT_EQ(p[kPostalCode], "94105");
  EXPECT_EQ(p[kCompanyId], "7");
}

TEST_F(WithReference, FingerprintFollowsMaterialChangesOnly) {
  const Profile a = person({"Ada", "Lovelace", "ada@example.org"});
  const Profile b = person({"ADA ", "lovelace", " Ada@Example.org"});
  const Profile c = person({"Ada", "Lovelace", "ada@example.net"});
  EXPECT_EQ(fingerprint(a), fingerprint(b));
  EXPECT_NE(fingerprint(a), fingerprint(c));
}

TEST_F(WithReference, SameEmailIsADuplicate) {
  const Model m = default_model(RecordKind::Person);
  const Profile a = person({"Robert", "Smith", "rsmith@acme.com"});
  const Profile b = person({"Bob", "Smith", "RSmith@acme.com"});
  const Levels l = compare(m, a, b);
  EXPECT_EQ(l[0], 1);   // nickname
  EXPECT_EQ(l[2], 0);   // email exact
  EXPECT_EQ(l[9], -1);  // the shared address already counts the domain
  EXPECT_GE(score(m, a, b), 0.99);
}

TEST_F(WithReference, SharedGenericAddressIsWeak) {
  const Model m = default_model(RecordKind::Person);
  const Profile a = person({"Alice", "Jones", "info@acme.com"});
  const Profile b = person({"Mark", "Peters", "info@acme.com"});
  EXPECT_EQ(compare(m, a, b)[2], 1);  // exact_generic
  EXPECT_LT(score(m, a, b), 0.01);
}

TEST_F(WithReference, NameTypoWithDateAndAddress) {
  const Model m = default_model(RecordKind::Person);
  const Profile a = person({"michaela",
                            "neumann",
                            {},
                            {},
                            "8 stanley street",
                            "winston hills",
                            "4223",
                            "AU",
                            "1915-11-11"});
  const Profile b = person(
      {"michaela", "neuman", {}, {}, "8 stanley st", "winston hills", "4223", "AU", "1915-11-11"});
  EXPECT_GE(score(m, a, b), 0.99);
  const Profile other = person({"courtney",
                                "painter",
                                {},
                                {},
                                "12 pinkerton circuit",
                                "richlands",
                                "4560",
                                "AU",
                                "1915-11-11"});
  EXPECT_LT(score(m, a, other), 0.001);
}

TEST_F(WithReference, SwappedNamesCompareInTheBetterOrder) {
  const Model m = default_model(RecordKind::Person);
  const Profile a = person(
      {"jacob", "lanyon", {}, {}, "5 milne cove", "beaconsfield", "2602", "AU", "1908-07-12"});
  const Profile b = person(
      {"lanyon", "jacob", {}, {}, "5 milne cove", "beaconsfield", "2602", "AU", "1908-07-12"});
  const Levels l = compare(m, a, b);
  EXPECT_EQ(l[0], 0);
  EXPECT_EQ(l[1], 0);
  // Either order gives the same levels, also when the swapped names differ a little.
  const Profile c = person({"jacbo", "lanyon"}), d = person({"lanyn", "jacob"});
  EXPECT_EQ(compare(m, c, d), compare(m, d, c));
}

TEST_F(WithReference, MissingFieldsAreNeutral) {
  const Model m = default_model(RecordKind::Person);
  const Profile a = person({"Ada", {}, "ada@example.org"});
  const Profile b = person({{}, "Lovelace", "ada@example.org"});
  const Levels l = compare(m, a, b);
  EXPECT_EQ(l[0], -1);
  EXPECT_EQ(l[1], -1);
  EXPECT_EQ(l[2], 0);
}

TEST_F(WithReference, CompaniesByNameAndDomainNeverByFreeMail) {
  const Model m = default_model(RecordKind::Company);
  const Profile a = company({"The Acme Corporation, Inc.", "acme.com"});
  const Profile b = company({"ACME Corp", "https://www.acme.com/about"});
  EXPECT_EQ(a[kCompanyName], "acme");
  EXPECT_EQ(b[kDomain], "acme.com");
  EXPECT_GE(score(m, a, b), 0.99);
  const Profile c = company({"Blue Bakery", "gmail.com"});
  const Profile d = company({"Red Garage", "gmail.com"});
  EXPECT_EQ(c[kDomain], "");
  EXPECT_LT(score(m, c, d), 0.01);
}

TEST_F(WithReference, RestaurantsOnTheSameStreet) {
  const Model m = default_model(RecordKind::Company);
  const Profile a =
      company({"arnie morton's of chicago", {}, {}, "435 s. la cienega blvd.", "los angeles"});
  const Profile b =
      company({"arnie morton's of chicago", {}, {}, "435 s. la cienega blv.", "los angeles"});
  EXPECT_GE(score(m, a, b), 0.99);
  const Profile c = company({"art's deli", {}, {}, "12224 ventura blvd.", "studio city"});
  const Profile d = company({"art's delicatessen", {}, {}, "12224 ventura blvd.", "studio city"});
  EXPECT_GE(score(m, c, d), 0.9);
  // Cross streets and ordinals written out; the city written longer.
  const Profile e =
      company({"mesa grill", {}, {}, "102 5th ave.  between 15th and 16th sts.", "new york"});
  const Profile f = company({"mesa grill", {}, {}, "102 fifth ave.", "new york city"});
  EXPECT_EQ(f[kCompanyStreet], "102 5th ave");
  EXPECT_EQ(compare(m, e, f)[3], 1) << e[kCompanyStreet] << " | " << f[kCompanyStreet];
  EXPECT_GE(score(m, e, f), 0.9);
}

TEST_F(WithReference, KeysAreScopedToWorkspaceAndKind) {
  const Profile a =
      person({"Ada", "Lovelace", "ada@example.org", {}, {}, {}, {}, {}, "1815-12-10"});
  const auto k1 = blocking_keys(RecordKind::Person, a, 1, first_letters);
  const auto k2 = blocking_keys(RecordKind::Person, a, 2, first_letters);
  ASSERT_FALSE(k1.empty());
  for (std::int64_t k : k1) {
    EXPECT_NE(k, 0);
    EXPECT_FALSE(std::binary_search(k2.begin(), k2.end(), k));
  }
  EXPECT_TRUE(std::is_sorted(k1.begin(), k1.end()));
}

TEST_F(WithReference, NicknamesShareAKey) {
  const Profile a = person({"Robert", "Smith"});
  const Profile b = person({"Bob", "Smith"});
  const auto ka = blocking_keys(RecordKind::Person, a, 1, first_letters);
  const auto kb = blocking_keys(RecordKind::Person, b, 1, first_letters);
  std::vector<std::int64_t> shared;
  std::set_intersection(ka.begin(), ka.end(), kb.begin(), kb.end(), std::back_inserter(shared));
  EXPECT_FALSE(shared.empty());
}

TEST_F(WithReference, LoneValuesMakeNoKey) {
  // A postal code alone, a given name alone: blocks of thousands.
  EXPECT_TRUE(
      blocking_keys(RecordKind::Person, person({{}, {}, {}, {}, {}, {}, "4223"}), 1, first_letters)
          .empty());
  EXPECT_TRUE(blocking_keys(RecordKind::Person, person({"Ada"}), 1, first_letters).empty());
}

// Keys two profiles share, under a phonetic code that is the first two letters (so that "griffiths"
// and "grifihs" sound alike here: the tests below use surnames whose sound changed).
static std::vector<std::int64_t> shared_keys(const Profile &a, const Profile &b,
                                             Phonetic phonetic) {
  const auto ka = blocking_keys(RecordKind::Person, a, 1, phonetic);
  const auto kb = blocking_keys(RecordKind::Person, b, 1, phonetic);
  std::vector<std::int64_t> shared;
  std::set_intersection(ka.begin(), ka.end(), kb.begin(), kb.end(), std::back_inserter(shared));
  return shared;
}

static std::string whole_word(std::string_view w) {
  return std::string(w);
}

TEST_F(WithReference, RecordsWithMissingFieldsStillShareAKey) {
  // Nothing alike but the mailbox name (the domain mistyped, names and dates missing or wrong);
  // a mailbox spelt from the names makes no key of its own (the name keys block it).
  EXPECT_FALSE(shared_keys(person({"Adam", "Edwards", "adam.edwards38@bullock-edward.com", "", "",
                                   "Cardiff", "", "", "1971-08-28"}),
                           person({"", "", "adam.edwards38@bullock-edwaods.crm", "", "", "Carfiif",
                                   "", "", "1972-08-28"}),
                           whole_word)
                   .empty());
  // The issue's case: a nickname and a mistyped surname at the same postal code.
  EXPECT_FALSE(shared_keys(person({"Robert", "Griffiths", "", "", "", "", "BA1 1AA"}),
                           person({"Bob", "Grifihs", "", "", "", "", "BA11AA"}), whole_word)
                   .empty());
  // A surname missing (a historical record), the birth known to the year.
  EXPECT_FALSE(shared_keys(person({"Margaret", "", "", "", "", "", "", "", "1901-01-01"}),
                           person({"Margaret", "Pryce", "", "", "", "", "", "", "1901-06-02"}),
                           whole_word)
                   .empty());
  EXPECT_TRUE(shared_keys(person({"Thomas", "Webb", "thomas.webb@acme.com"}),
                          person({"", "", "thomas.webb@globex.com"}), whole_word)
                  .empty());
  // Short and role mailboxes make no key of their own.
  EXPECT_TRUE(
      shared_keys(person({"Ann", "", "e.e@day.com"}), person({"Bo", "", "e.e@ay.cod"}), whole_word)
          .empty());
  EXPECT_TRUE(shared_keys(person({"", "", "sales@acme.com"}), person({"", "", "sales@globex.com"}),
                          whole_word)
                  .empty());
}

TEST(Blocking, PairsNeedAFreshMemberAndASharedKey) {
  const std::vector<std::vector<std::int64_t>> keys = {{1, 2}, {2}, {3}, {1, 3}};
  const BlockedPairs all = blocked_pairs(keys, {true, true, true, true}, nullptr);
  using P = std::pair<std::uint32_t, std::uint32_t>;
  EXPECT_EQ(all.pairs, (std::vector<P>{{0, 1}, {0, 3}, {2, 3}}));
  const BlockedPairs some = blocked_pairs(keys, {false, false, true, false}, nullptr);
  EXPECT_EQ(some.pairs, (std::vector<P>{{2, 3}}));
}

TEST(Blocking, OversizedKeysAreSkipped) {
  std::vector<std::vector<std::int64_t>> keys(6, std::vector<std::int64_t>{9});
  keys[0].push_back(5);
  keys[1].push_back(5);
  const BlockedPairs b = blocked_pairs(keys, std::vector<bool>(6, true), nullptr, 4);
  EXPECT_EQ(b.oversized_keys, 1u);
  ASSERT_EQ(b.pairs.size(), 1u);
  EXPECT_EQ(b.pairs[0], (std::pair<std::uint32_t, std::uint32_t>{0, 1}));
}

TEST(Blocking, Cancels) {
  std::vector<std::vector<std::int64_t>> keys(3000, std::vector<std::int64_t>{1});
  auto always = []() { return true; };
  EXPECT_THROW(blocked_pairs(keys, std::vector<bool>(3000, true), always), crm::Canceled);
}

TEST(Model, JsonRoundTripAndValidation) {
  Model m = default_model(RecordKind::Person);
  add_attribute_fields(m, {"soc_sec_id"});
  const Model back = model_from_json(RecordKind::Person, to_json(m));
  ASSERT_EQ(back.fields.size(), m.fields.size());
  EXPECT_EQ(back.fields.back().name, "attributes.soc_sec_id");
  EXPECT_DOUBLE_EQ(back.prior, m.prior);
  EXPECT_EQ(model_from_json(RecordKind::Company, "{}").fields.size(),
            default_model(RecordKind::Company).fields.size());
  EXPECT_THROW(model_from_json(RecordKind::Person, R"({"fields": {"shoe_size": {}}})"), crm::Error);
  EXPECT_THROW(model_from_json(RecordKind::Person, R"({"fields": {"phone": {"m": [1, 0]}}})"),
               crm::Error);
  EXPECT_THROW(model_from_json(RecordKind::Person, R"({"threshold": 1.5})"), crm::Error);
  EXPECT_THROW(model_from_json(RecordKind::Person, "[1,2]"), crm::Error);
  EXPECT_THROW(model_from_json(RecordKind::Person, "{not json"), crm::Error);
}

TEST(Model, WeightsAddUp) {
  const Model m = default_model(RecordKind::Person);
  Levels none(m.fields.size(), -1);
  EXPECT_DOUBLE_EQ(match_weight(m, none), prior_weight(m));
  Levels one = none;
  one[3] = 0;  // phone exact
  EXPECT_NEAR(match_weight(m, one) - prior_weight(m), std::log2(0.70 / 1e-6), 1e-9);
  EXPECT_NEAR(probability(0.0), 0.5, 1e-12);
}

namespace {

// Three yes/no fields. Duplicates agree on each 90% of the time, other records 10%: the blocked
// pairs below hold 3,000 duplicates and 7,000 others, counted per agreement pattern.
Model three_fields() {
  Model m;
  m.kind = RecordKind::Company;
  for (int f = 0; f < 3; ++f)
    m.fields.push_back({"f" + std::to_string(f), Comparator::SameValue, f, {0.7, 0.3}, {0.3, 0.7}});
  return m;
}

std::vector<Levels> patterns(const int (&per_agreements)[4], double scale) {
  std::vector<Levels> out;
  for (int pattern = 0; pattern < 8; ++pattern) {
    Levels l(3);
    int agree = 0;
    for (int f = 0; f < 3; ++f) {
      l[f] = (pattern >> f & 1) ? 0 : 1;
      agree += l[f] == 0;
    }
    for (int i = 0; i < per_agreements[agree] * scale; ++i) out.push_back(l);
  }
  return out;
}

}  // namespace

TEST(Training, SessionsEstimateWhatTheirRuleDidNotPairOn) {
  const int duplicates[4] = {3, 27, 243, 2187};  // by number of agreeing fields
  const int others[4] = {5103, 567, 63, 7};
  TrainingInput in;
  TrainingSession session{"f0 rule", {"f0"}, patterns(duplicates, 1), 10000};
  for (const Levels &l : patterns(others, 1)) session.pairs.push_back(l);
  in.sessions.push_back(session);
  in.random = patterns(others, 1);  // random pairs: 10% agreement on each field
  in.total_pair_count = 1e7;
  const TrainingResult r = train(three_fields(), in, nullptr);
  ASSERT_EQ(r.sessions.size(), 1u);
  EXPECT_TRUE(r.sessions[0].converged);
  EXPECT_NEAR(r.sessions[0].match_share, 0.3, 0.02);
  EXPECT_DOUBLE_EQ(r.model.fields[0].m[0], 0.7);    // paired on: left as it was
  EXPECT_NEAR(r.model.fields[1].m[0], 0.9, 0.02);   // estimated
  EXPECT_NEAR(r.model.fields[1].u[0], 0.1, 0.005);  // from the random pairs
  EXPECT_NEAR(r.model.prior, 0.3 * 10000 / 1e7, 2e-5);
}

TEST(Training, FewPairsMoveTheModelLittle) {
  TrainingInput in;
  in.sessions.push_back({"f0 rule", {"f0"}, {{0, 0, 0}, {0, 0, 0}}, 2});
  in.random = {{1, 1, 1}};
  in.total_pair_count = 10;
  const TrainingResult r = train(three_fields(), in, nullptr);
  EXPECT_GT(r.model.fields[1].m[1], 0.2);  // two agreeing pairs do not make m certain
}

std::vector<std::pair<std::int64_t, std::int64_t>> set_pairs(std::vector<CandidatePair> pairs) {
  std::vector<std::pair<std::int64_t, std::int64_t>> got;
  for (const SetMember &m : coherent_sets(pairs)) got.emplace_back(m.set_id, m.record_id);
  return got;
}
using Members = std::vector<std::pair<std::int64_t, std::int64_t>>;

TEST(Sets, SetsUseTheSmallestId) {
  EXPECT_EQ(set_pairs({{5, 9, 0.99}, {9, 12, 0.98}, {3, 4, 0.95}}),
            (Members{{3, 3}, {3, 4}, {5, 5}, {5, 9}, {5, 12}}));
  EXPECT_TRUE(coherent_sets({}).empty());
}

TEST(Sets, AChainDoesNotMakeOneSet) {
  // 1-2-3-4-5-6, each linked to the next only: cut, weakest first, where two or more records
  // are left on each side: 4-5 (4 | 2), then 2-3 (2 | 2).
  const Members got =
      set_pairs({{1, 2, 0.99}, {2, 3, 0.98}, {3, 4, 0.97}, {4, 5, 0.96}, {5, 6, 0.95}});
  EXPECT_EQ(got, (Members{{1, 1}, {1, 2}, {3, 3}, {3, 4}, {5, 5}, {5, 6}}));
}

TEST(Sets, AStarOfCopiesIsOneSet) {
  // One record and five copies of it, each too mangled to match the others.
  EXPECT_EQ(set_pairs({{1, 2, 0.95}, {1, 3, 0.95}, {1, 4, 0.92}, {1, 5, 0.99}, {1, 6, 0.91}}),
            (Members{{1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}, {1, 6}}));
}

TEST(Sets, OneWeakLinkDoesNotMergeTwoGroups) {
  // Two groups of four, every pair within each linked, and one weak pair between them.
  std::vector<CandidatePair> pairs;
  for (std::int64_t base : {10, 20})
    for (std::int64_t i = 0; i < 4; ++i)
      for (std::int64_t j = i + 1; j < 4; ++j) pairs.push_back({base + i, base + j, 0.99});
  pairs.push_back({13, 20, 0.91});
  EXPECT_EQ(
      set_pairs(pairs),
      (Members{{10, 10}, {10, 11}, {10, 12}, {10, 13}, {20, 20}, {20, 21}, {20, 22}, {20, 23}}));
}

TEST(Sets, ADenseGroupWithAMissingPairStaysOne) {
  // Five records, all pairs but two linked (a duplicate too mangled to match every other copy).
  std::vector<CandidatePair> pairs;
  for (std::int64_t i = 1; i <= 5; ++i)
    for (std::int64_t j = i + 1; j <= 5; ++j)
      if (!(i == 4 && j == 5) && !(i == 1 && j == 5)) pairs.push_back({i, j, 0.9 + 0.01 * i});
  EXPECT_EQ(set_pairs(pairs), (Members{{1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}}));
}

TEST(Sets, IndependentOfTheOrderOfPairs) {
  std::vector<CandidatePair> pairs = {{1, 2, 0.99}, {2, 3, 0.95}, {3, 4, 0.95}, {4, 5, 0.99},
                                      {1, 3, 0.93}, {5, 6, 0.97}, {2, 6, 0.95}};
  const Members first = set_pairs(pairs);
  std::reverse(pairs.begin(), pairs.end());
  EXPECT_EQ(set_pairs(pairs), first);
  std::rotate(pairs.begin(), pairs.begin() + 3, pairs.end());
  EXPECT_EQ(set_pairs(pairs), first);
}

}  // namespace

namespace {

TEST(Evidence, IsValidJsonWithEscapedAttributeNames) {
  crm::match::Model m = crm::match::default_model(crm::match::RecordKind::Person);
  crm::match::add_attribute_fields(m, {"say \"hi\"\\"});
  crm::match::Levels levels(m.fields.size(), -1);
  levels[2] = 0;
  levels.back() = 1;
  const std::string e = crm::match::evidence_json(m, levels);
  const auto doc = nlohmann::json::parse(e);
  EXPECT_EQ(doc["fields"]["email"]["level"], "exact");
  EXPECT_EQ(doc["fields"]["attributes.say \"hi\"\\"]["level"], "one_edit");
  EXPECT_EQ(crm::match::evidence_summary(m, levels),
            "email exact, attributes.say \"hi\"\\ one_edit");
  EXPECT_NEAR(doc["score"].get<double>(),
              crm::match::probability(crm::match::match_weight(m, levels)), 1e-12);
}

}  // namespace

// ---- what does not identify anyone (issue 11) ----

namespace {

TEST(Placeholder, NoValueWordsButNotNames) {
  for (std::string_view v : {"", " ", "n a", "unknown", "none", "null", "test", "xxx", "00000", "0",
                             "not known", "anonymous"})
    EXPECT_TRUE(crm::match::is_placeholder(v)) << v;
  // Real names and values: Na and Nil are names, Blank and Sample surnames, 10001 a postal code.
  for (std::string_view v : {"na", "nil", "blank", "sample", "10001", "smith", "x", "testa"})
    EXPECT_FALSE(crm::match::is_placeholder(v)) << v;
}

TEST_F(WithReference, PlaceholdersAreMissingValues) {
  const Profile p = person({"N/A", "Unknown", "none@none.com", "", "-", "n/a", "00000"});
  EXPECT_EQ(p[kFirstName], "");
  EXPECT_EQ(p[kLastName], "");
  EXPECT_EQ(p[kEmails], "");
  EXPECT_EQ(p[kStreet], "");
  EXPECT_EQ(p[kCity], "");
  EXPECT_EQ(p[kPostalCode], "");
  // Two records that both say "unknown" agree on nothing.
  const Model m = default_model(RecordKind::Person);
  const Profile q = person({"n/a", "UNKNOWN", "noemail@corp.com", "", "Unknown", "N/A", "0"});
  for (std::int8_t level : compare(m, p, q)) EXPECT_EQ(level, -1);
  EXPECT_EQ(person({"Ann", "Lee", "no-reply@corp.com"})[kEmails], "");
  EXPECT_EQ(person({"Ann", "Lee", "ann.test@corp.com"})[kEmails], "ann.test@corp.com");
}

TEST_F(WithReference, TitlesAloneAreNoName) {
  EXPECT_EQ(person({"Sir", "Bt."})[kFirstName], "");
  EXPECT_EQ(person({"Sir", "Bt."})[kLastName], "");
  EXPECT_EQ(person({"Jr."})[kFirstName], "");
  EXPECT_EQ(person({"Sir John", "Smith Bt."})[kFirstName], "john");
  EXPECT_EQ(person({"Sir John", "Smith Bt."})[kLastName], "smith");
  EXPECT_EQ(person({"Ann", "Lord"})[kLastName], "lord") << "a surname, not a title";
}

TEST_F(WithReference, FirstOfJanuaryIsAYearOnly) {
  const Model m = default_model(RecordKind::Person);
  const Profile year = person({"Ann", "Lee", "", "", "", "", "", "", "1950-01-01"});
  const Profile day = person({"Ann", "Lee", "", "", "", "", "", "", "1950-06-14"});
  const Profile other_year = person({"Ann", "Lee", "", "", "", "", "", "", "1951-01-01"});
  EXPECT_EQ(year[kBirthDate], "1950");
  EXPECT_EQ(day[kBirthDate], "19500614");
  const int date = 4;  // birth_date in the default person model
  EXPECT_EQ(compare(m, year, day)[date], 2) << "agrees as far as it is known: same_year";
  EXPECT_EQ(compare(m, year, year)[date], 2) << "two 1 Januaries are not an exact date";
  EXPECT_EQ(compare(m, year, other_year)[date], 3);
  // Two namesakes "born 1 January 1950" have far less in common than two born on 14 June.
  EXPECT_LT(match_weight(m, compare(m, year, year)), match_weight(m, compare(m, day, day)) - 10);
  // A year-only date makes no birth-date key (a block of everyone born that year), but still
  // pairs with the same surname sound.
  const std::vector<std::int64_t> k = blocking_keys(RecordKind::Person, year, 1, first_letters);
  const std::vector<std::int64_t> kd = blocking_keys(RecordKind::Person, day, 1, first_letters);
  EXPECT_TRUE(std::any_of(k.begin(), k.end(), [&](std::int64_t key) {
    return std::find(kd.begin(), kd.end(), key) != kd.end();
  }));
}

TEST_F(WithReference, NamesakesAtTheirOwnCompaniesAreNotDuplicates) {
  // The demo's case: Richard Thompson at five companies, each first.last@ his company's domain.
  const Model m = default_model(RecordKind::Person);
  const Profile a =
      person({"Richard", "Thompson", "richard.thompson@acme.com", "", "", "", "", "", "", "11"});
  const Profile b =
      person({"Richard", "Thompson", "richard.thompson@globex.com", "", "", "", "", "", "", "12"});
  const Levels l = compare(m, a, b);
  EXPECT_EQ(l[2], 4) << "two companies' addresses: different, whatever the local part";
  EXPECT_EQ(l[9], 1) << "two business domains: different";
  EXPECT_LT(score(m, a, b), 0.5);
  // The same mailbox name with two providers still points at one person.
  const Profile c = person({"Richard", "Thompson", "rthompson1970@gmail.com"});
  const Profile d = person({"Richard", "Thompson", "rthompson1970@yahoo.com"});
  EXPECT_EQ(compare(m, c, d)[2], 2);
  EXPECT_GE(score(m, c, d), 0.9);
  // And so does a mistyped domain, but not a company's numbered one.
  const Profile e = person({"Theo", "Morris", "t.m39@brooks-sawer.com"});
  const Profile f = person({"Theo", "Morris", "t.m39@brooks-sawyer.com"});
  EXPECT_EQ(compare(m, e, f)[2], 2);
  const Profile g = person({"Ann", "Lee", "ann.lee@office1.example"});
  const Profile h = person({"Ann", "Lee", "ann.lee@office2.example"});
  EXPECT_EQ(compare(m, g, h)[2], 4);
  // Two companies with similar names are two domains (the demo's James Russo at Summit Motors
  // and at Summit Foods); numbered mailboxes at one provider are two people's.
  const Profile i = person({"James", "Russo", "james.russo@summitmotors.com"});
  const Profile j = person({"James", "Russo", "james.russo@summitfoods.com"});
  EXPECT_EQ(compare(m, i, j)[2], 4);
  const Profile k = person({"Priya", "Ferrari", "priya.ferrari63@icloud.com"});
  const Profile l2 = person({"Priya", "Ferrari", "priya.ferrari21@icloud.com"});
  EXPECT_EQ(compare(m, k, l2)[2], 4);
  EXPECT_LT(score(m, k, l2), 0.9);
  // At a mail provider, two alike mailbox names are two mailboxes; so are two numbered ones.
  EXPECT_EQ(compare(m, person({"Abbey", "White", "abbey.white28@gmail.com"}),
                    person({"Abby", "White", "abby_white71@gmail.com"}))[2],
            4);
  EXPECT_EQ(compare(m, person({"Abbey", "White", "abbey.white28@acme.com"}),
                    person({"Abby", "White", "abby_white71@acme.com"}))[2],
            4);
  EXPECT_EQ(compare(m, person({"Abbey", "White", "abbey.white@acme.com"}),
                    person({"Abby", "White", "abbey_white@acme.com"}))[2],
            3);
}

TEST(Frequency, PenaltyIsWholeBitsPerDoublingBeyondTwiceTheBase) {
  const Model m = default_model(RecordKind::Person);
  const FieldModel &surname = m.fields[1];  // u 0.0008, prior 1e-4: base 8 records
  EXPECT_DOUBLE_EQ(frequency_base(m, surname), 8.0);
  EXPECT_EQ(frequency_penalty(m, surname, 0), 0);
  EXPECT_EQ(frequency_penalty(m, surname, 15), 0);
  EXPECT_EQ(frequency_penalty(m, surname, 16), 1);
  EXPECT_EQ(frequency_penalty(m, surname, 31), 1);
  EXPECT_EQ(frequency_penalty(m, surname, 32), 2);
  EXPECT_EQ(frequency_penalty(m, surname, 8 * 1024), 10);
  // Never below two records: a value two records share is never common.
  Model dense = m;
  dense.prior = 0.5;
  EXPECT_DOUBLE_EQ(frequency_base(dense, dense.fields[1]), 2.0);
  EXPECT_EQ(frequency_penalty(dense, dense.fields[1], 3), 0);
}

TEST(Frequency, CountsAreKeptPerField) {
  Frequencies f;
  f.set(kLastName, "smith", 40);
  EXPECT_EQ(f.records(kLastName, "smith"), 40);
  EXPECT_EQ(f.records(kFirstName, "smith"), 0);
  EXPECT_EQ(f.records(kLastName, "smyth"), 0);
  EXPECT_EQ(frequency_field_name(RecordKind::Person, kCity), "city");
  EXPECT_EQ(frequency_field_name(RecordKind::Person, kEmails), "");
  EXPECT_EQ(frequency_field_name(RecordKind::Company, kCompanyName), "name");
}

TEST(Frequency, CountsBeforeAnInsertFollowFromTheCountsAfterIt) {
  Profile a{std::vector<std::string>(kPersonFields)}, b = a, c = a;
  a.fields[kLastName] = "smith";
  a.fields[kCity] = "leeds";
  b.fields[kLastName] = "smith";
  c.fields[kLastName] = "jones";
  const std::vector<CountedRow> after = {
      {kLastName, "smith", 10, 10},  // raised by this insert: 10 - 2 of its own
      {kLastName, "jones", 3, 7},    // a peak above the count was not this insert's
      {kCity, "leeds", 1, 1},        // a new value
      {kFirstName, "smith", 5, 5},   // the surname asked under the given name: held by none here
  };
  const Frequencies before = frequencies_before_insert(RecordKind::Person, after, {&a, &b, &c});
  EXPECT_EQ(before.records(kLastName, "smith"), 8);
  EXPECT_EQ(before.records(kLastName, "jones"), 7);
  EXPECT_EQ(before.records(kCity, "leeds"), 0);
  EXPECT_EQ(before.records(kFirstName, "smith"), 5);
}

// A bulk insert (a COPY of 1,000,000 records) counted each value's holders by walking every
// inserted profile for every value: quadratic, and a 1,000,000-row COPY never ended. Linear now;
// this size would take hours the old way.
TEST(Frequency, CountsBeforeAMillionRowInsertInOnePass) {
  constexpr int kRecords = 1000000;
  std::vector<Profile> profiles(kRecords, Profile{std::vector<std::string>(kPersonFields)});
  std::vector<const Profile *> inserted;
  std::vector<CountedRow> after;
  for (int i = 0; i < kRecords; ++i) {
    profiles[i].fields[kLastName] = "surname" + std::to_string(i);
    profiles[i].fields[kCity] = "town" + std::to_string(i % 1000);
    inserted.push_back(&profiles[i]);
    after.push_back({kLastName, profiles[i][kLastName], 1, 1});
  }
  for (int t = 0; t < 1000; ++t) after.push_back({kCity, "town" + std::to_string(t), 1003, 1003});
  const Frequencies before = frequencies_before_insert(RecordKind::Person, after, inserted);
  EXPECT_EQ(before.records(kLastName, "surname999999"), 0);
  EXPECT_EQ(before.records(kCity, "town7"), 3);
}

TEST(Frequency, MailboxesSpeltFromNames) {
  EXPECT_TRUE(spelt_from_names("thomas.webb", "thomas", "webb"));
  EXPECT_TRUE(spelt_from_names("thomas_webb", "thomas", "webb"));
  EXPECT_TRUE(spelt_from_names("twebb", "thomas", "webb"));
  EXPECT_TRUE(spelt_from_names("webb.t", "thomas", "webb"));
  EXPECT_TRUE(spelt_from_names("thomas", "thomas", "webb"));
  EXPECT_TRUE(spelt_from_names("mary-ann.webb", "mary ann", "webb"));
  EXPECT_FALSE(spelt_from_names("twebb70", "thomas", "webb")) << "digits are the owner's own";
  EXPECT_FALSE(spelt_from_names("tiger", "thomas", "webb"));
  EXPECT_FALSE(spelt_from_names("thomas.webb", "", ""));
}

TEST_F(WithReference, CommonValuesWeighLess) {
  const Model m = default_model(RecordKind::Person);
  const Profile a = person({"John", "Smith", "", "", "", "Springfield", "", "", "1970-03-04"});
  const Profile b = person({"John", "Smith", "", "", "", "Springfield", "", "", "1970-03-05"});
  Frequencies none;
  Frequencies common;
  common.set(kLastName, "smith", 64);     // base 8: 3 bits
  common.set(kFirstName, "john", 100);    // base 40: 1 bit
  common.set(kCity, "springfield", 150);  // base 100: under twice the base, nothing
  const Comparison rare = compare(m, a, b, none);
  const Comparison usual = compare(m, a, b, common);
  EXPECT_EQ(rare.levels, usual.levels);
  EXPECT_EQ(usual.adjustments[1].frequency_bits, 3);
  EXPECT_EQ(usual.adjustments[1].records, 64);
  EXPECT_EQ(usual.adjustments[0].frequency_bits, 1);
  EXPECT_EQ(usual.adjustments[6].frequency_bits, 0);
  EXPECT_NEAR(match_weight(m, rare) - match_weight(m, usual), 4.0, 1e-9);
  // Only exact agreement is adjusted: a typo of a common name is not "the" common name.
  const Profile c = person({"John", "Smyth", "", "", "", "Springfield", "", "", "1970-03-04"});
  EXPECT_EQ(compare(m, a, c, common).adjustments[1].frequency_bits, 0);
  // The evidence says why.
  const auto e = nlohmann::json::parse(evidence_json(m, usual));
  EXPECT_EQ(e["fields"]["last_name"]["records"], 64);
  EXPECT_EQ(e["fields"]["last_name"]["frequency_adjustment"], -3);
  EXPECT_NEAR(e["match_weight"].get<double>(), std::round(match_weight(m, usual) * 100) / 100,
              1e-9);
  EXPECT_NE(evidence_summary(m, usual).find("last_name exact (64 records)"), std::string::npos);
  // What the stored pair records, so that a doubling of any of them scores it again.
  EXPECT_EQ(agreed_tokens(m, a, b, usual.levels),
            (std::vector<std::string>{"city:springfield", "first_name:john", "last_name:smith"}));
}

TEST_F(WithReference, SwappedNamesUseTheFieldsOwnCount) {
  const Model m = default_model(RecordKind::Person);
  const Profile a = person({"Jacob", "Campbell", "", "", "", "", "", "", "1971-01-02"});
  const Profile b = person({"Campbell", "Jacob", "", "", "", "", "", "", "1971-01-02"});
  Frequencies f;
  f.set(kFirstName, "jacob", 16);  // a common given name, not a common surname
  const Comparison c = compare(m, a, b, f);
  EXPECT_EQ(c.levels[1], 0);
  EXPECT_EQ(c.adjustments[1].frequency_bits, 0);
}

TEST_F(WithReference, ColleaguesDomainIsTheirCompanyCountedOnce) {
  const Model m = default_model(RecordKind::Person);
  const Frequencies none;
  // Two people of one name at one company: the shared mail domain is the company again.
  const Profile a = person({"Thomas", "Webb", "thomaswebb@acme.com", "", "", "", "", "", "", "7"});
  const Profile b = person({"Thomas", "Webb", "thomas_webb@acme.com", "", "", "", "", "", "", "7"});
  const Comparison c = compare(m, a, b, none);
  EXPECT_EQ(c.levels[8], 0);
  EXPECT_EQ(c.levels[9], 0);
  EXPECT_EQ(c.adjustments[9].implied_by, "company_id");
  EXPECT_EQ(field_weight(m.fields[9], c.levels[9], c.adjustments[9]), 0.0);
  // Both mailboxes are spelt from the names: their likeness is the names' again.
  EXPECT_EQ(c.levels[2], 3);
  EXPECT_EQ(c.adjustments[2].implied_by, "names");
  EXPECT_NEAR(match_weight(m, compare(m, a, b)) - match_weight(m, c),
              level_weight(m.fields[9], 0) + level_weight(m.fields[2], 3), 1e-9);
  // With names as common as a large workspace makes them, they are namesakes.
  Frequencies common;
  common.set(kFirstName, "thomas", 40 * 64);
  common.set(kLastName, "webb", 8 * 32);
  EXPECT_LT(probability(match_weight(m, compare(m, a, b, common))), 0.9);
  // Two companies and two domains: one disagreement, not two.
  const Profile d =
      person({"Thomas", "Webb", "thomas.webb@globex.com", "", "", "", "", "", "", "8"});
  const Comparison e = compare(m, a, d, none);
  EXPECT_EQ(e.levels[8], 1);
  EXPECT_EQ(e.levels[9], 1);
  EXPECT_EQ(e.adjustments[9].implied_by, "company_id");
  // A shared domain with different company records still counts (a company entered twice).
  const Profile g = person({"Tom", "Webb", "tom@acme.com", "", "", "", "", "", "", "9"});
  EXPECT_TRUE(compare(m, a, g, none).adjustments[9].implied_by.empty());
}

TEST_F(WithReference, OneAddressIsOneFact) {
  const Model m = default_model(RecordKind::Company);
  const Frequencies none;
  auto restaurant = [](const char *name) {
    return company({name, "", "", "3570 Las Vegas Blvd S", "Las Vegas", "89109"});
  };
  const Comparison c = compare(m, restaurant("Palace Court"), restaurant("Empress Court"), none);
  EXPECT_EQ(c.levels[3], 0);                         // street
  EXPECT_EQ(c.adjustments[4].implied_by, "street");  // city
  EXPECT_EQ(c.adjustments[5].implied_by, "street");  // postal code
  // A building many records share says less again.
  Frequencies shared;
  shared.set(kCompanyStreet, "3570 las vegas blvd s", 8);
  EXPECT_EQ(compare(m, restaurant("Palace Court"), restaurant("Empress Court"), shared)
                .adjustments[3]
                .frequency_bits,
            2);
  // Another town under the same street address still counts against.
  const Comparison d =
      compare(m, restaurant("Palace Court"),
              company({"Palace Court", "", "", "3570 Las Vegas Blvd S", "Reno"}), none);
  EXPECT_EQ(d.levels[4], 2);
  EXPECT_TRUE(d.adjustments[4].implied_by.empty());
}

}  // namespace

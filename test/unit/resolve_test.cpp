// Record resolution's pure parts: taking a mention apart, and scoring and ranking candidates.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/match/reference.hpp"
#include "core/resolve/mention.hpp"
#include "core/resolve/score.hpp"
#include "core/resolve/why.hpp"

#include <nlohmann/json.hpp>

namespace {

using namespace crm::resolve;

class Mentions : public ::testing::Test {
 protected:
  void SetUp() override { crm::match::set_reference_dir(CRM_REFERENCE_SOURCE_DIR); }
  static Mention parse(const std::string &text, const Hints &hints = {}) {
    return parse_mention(text, hints, "US");
  }
};

TEST_F(Mentions, PlainNameMayNameAnyKind) {
  const Mention m = parse("  The Acme Corporation, Inc. ");
  EXPECT_EQ(m.company_name, "acme");
  EXPECT_EQ(m.person_name, "the acme corporation inc");
  EXPECT_EQ(m.deal_name, "The Acme Corporation, Inc.");
  EXPECT_FALSE(m.about_person);
  EXPECT_TRUE(m.emails.empty() && m.phones.empty() && m.domains.empty());
}

TEST_F(Mentions, PersonAtCompany) {
  for (const std::string text : {"bob at acme", "Bob from ACME Ltd", "Bob @ Acme", "Bob (Acme)"}) {
    const Mention m = parse(text);
    EXPECT_EQ(m.person_name, "bob") << text;
    EXPECT_EQ(m.company_name, "acme") << text;
    EXPECT_TRUE(m.about_person) << text;
  }
  const Mention full = parse("Dr. Jane van der Berg at Acme");
  EXPECT_EQ(full.first_name, "jane");
  EXPECT_EQ(full.last_name, "van der berg");
  // A connector first is a word of the name; last, it points at an address or a domain.
  EXPECT_FALSE(parse("at acme").about_person);
  const Mention domain = parse("Bob at acme.com");
  EXPECT_EQ(domain.person_name, "bob");
  EXPECT_EQ(domain.company_name, "");
  EXPECT_EQ(domain.domains, std::vector<std::string>{"acme.com"});
  EXPECT_TRUE(domain.about_person);
}

TEST_F(Mentions, SurnameFirst) {
  const Mention m = parse("Doe, Jane");
  EXPECT_EQ(m.person_name, "jane doe");
  EXPECT_EQ(m.first_name, "jane");
  EXPECT_EQ(m.last_name, "doe");
}

TEST_F(Mentions, AddressesDomainsAndPhones) {
  const Mention m = parse("<J.Smith@Acme.co.uk>,");
  EXPECT_EQ(m.emails, std::vector<std::string>{"j.smith@acme.co.uk"});
  EXPECT_EQ(m.email_domains, std::vector<std::string>{"acme.co.uk"});
  EXPECT_TRUE(m.person_name.empty());
  EXPECT_TRUE(m.about_person);

  const Mention gmail = parse("jane.doe@googlemail.com");
  EXPECT_EQ(gmail.emails, std::vector<std::string>{"janedoe@gmail.com"});
  EXPECT_TRUE(gmail.email_domains.empty()) << "free mail names no company";

  const Mention phone = parse("+44 20 7946 0958");
  EXPECT_EQ(phone.phones, std::vector<std::string>{"+442079460958"});
  EXPECT_TRUE(phone.person_name.empty() && phone.deal_name.empty());

  const Mention site = parse("Acme https://www.acme.com/about");
  EXPECT_EQ(site.domains, std::vector<std::string>{"acme.com"});
  EXPECT_EQ(site.company_name, "acme");

  // Numbers too short for a phone and initials are words.
  const Mention deal = parse("Acme renewal 2024 J.");
  EXPECT_TRUE(deal.phones.empty() && deal.domains.empty());
  EXPECT_EQ(deal.deal_name, "Acme renewal 2024 J.");
}

TEST_F(Mentions, Hints) {
  Hints hints;
  hints.email = "Bob@Acme.com";
  hints.domain = "https://acme.com";
  hints.phone = "(415) 555-2671";
  hints.company = "Acme Inc";
  const Mention m = parse("Bob", hints);
  EXPECT_EQ(m.emails, std::vector<std::string>{"bob@acme.com"});
  EXPECT_EQ(m.domains, std::vector<std::string>{"acme.com"});
  EXPECT_EQ(m.phones, std::vector<std::string>{"+14155552671"});
  EXPECT_EQ(m.company_name, "acme");
  EXPECT_EQ(m.person_name, "bob");
  EXPECT_TRUE(m.about_person);
}

TEST_F(Mentions, BadInputIsRefusedOrIgnored) {
  auto sqlstate_of = [](auto f) {
    try {
      f();
    } catch (const crm::Error &e) {
      return std::string(e.sqlstate());
    }
    return std::string("none");
  };
  EXPECT_EQ(sqlstate_of([] { return parse(std::string(1001, 'a')); }), "54000");
  EXPECT_EQ(sqlstate_of([] { return parse("bob", Hints{"not an address", "", "", ""}); }), "22023");
  EXPECT_EQ(sqlstate_of([] { return parse("bob", Hints{"", "localhost", "", ""}); }), "22023");
  EXPECT_EQ(sqlstate_of([] { return parse("bob", Hints{"", "", "12", ""}); }), "22023");
  EXPECT_EQ(sqlstate_of([] { return parse("bob", Hints{"", "", "", "..."}); }), "22023");
  // Never throws on text: invalid UTF-8, NULs, punctuation only.
  EXPECT_TRUE(parse("").empty());
  EXPECT_TRUE(parse("   \t ").empty());
  parse(std::string("caf\xC3 \xFF\0x", 7));
  EXPECT_TRUE(parse("@@@ ... ((( )))").empty()) << "punctuation names nothing";
  EXPECT_TRUE(parse("!!!").empty());
}

Evidence person(std::int64_t id) {
  Evidence e;
  e.kind = Kind::Person;
  e.record_id = id;
  return e;
}

TEST(ResolveScore, IdentifiersAreExact) {
  Evidence email = person(1);
  email.email = true;
  const Scored s = score(email);
  EXPECT_EQ(s.level, Level::Exact);
  EXPECT_EQ(s.key, "+EMAIL");
  EXPECT_GT(s.text, 0.98);

  Evidence domain;
  domain.kind = Kind::Company;
  domain.domain = true;
  domain.name = 1.0;
  const Scored d = score(domain);
  EXPECT_EQ(d.level, Level::Exact);
  EXPECT_EQ(d.key, "+DOMAIN+NAME");
}

TEST(ResolveScore, LevelsFollowWhatAgreed) {
  Evidence name_only = person(1);
  name_only.name = 1.0;
  EXPECT_EQ(score(name_only).level, Level::NameOnly);
  EXPECT_EQ(score(name_only).key, "+NAME");

  Evidence name_and_company = name_only;
  name_and_company.company = 0.9;
  EXPECT_EQ(score(name_and_company).level, Level::Strong);
  EXPECT_EQ(score(name_and_company).key, "+NAME+COMPANY");
  EXPECT_GT(score(name_and_company).text, score(name_only).text);

  Evidence nickname = person(1);
  nickname.name = 0.45;
  nickname.nickname = true;
  nickname.company = 0.6;
  EXPECT_EQ(score(nickname).key, "+NICKNAME+PART_COMPANY");
  EXPECT_EQ(score(nickname).level, Level::Possible);

  Evidence weak = person(1);
  weak.name = 0.35;
  EXPECT_LT(score(weak).text, kMinTextScore);
  EXPECT_TRUE(rank({score(weak)}, 5).empty());
}

TEST(ResolveScore, CompanyFoundByThePersonPartRanksBelowThePerson) {
  Evidence bob = person(7);
  bob.name = 1.0;
  bob.company = 1.0;
  bob.about_person = true;
  Evidence acme;
  acme.kind = Kind::Company;
  acme.record_id = 3;
  acme.name = 1.0;
  acme.about_person = true;
  const std::vector<Scored> ranked = rank({score(acme), score(bob)}, 5);
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].evidence.kind, Kind::Person);
  EXPECT_FALSE(ranked[0].ambiguous);
}

TEST(ResolveScore, ContextBreaksTiesAndAmbiguityIsMarked) {
  Evidence a;
  a.kind = Kind::Company;
  a.record_id = 1;
  a.name = 1.0;
  Evidence b = a;
  b.record_id = 2;
  // Equal text: ambiguous, lower id first.
  std::vector<Scored> tie = rank({score(b), score(a)}, 5);
  ASSERT_EQ(tie.size(), 2u);
  EXPECT_EQ(tie[0].evidence.record_id, 1);
  EXPECT_TRUE(tie[0].ambiguous && tie[1].ambiguous);
  // Still ambiguous when one result is asked for.
  EXPECT_TRUE(rank({score(b), score(a)}, 1).at(0).ambiguous);

  // Recent activity, a strong connection and an open deal make b the one meant.
  b.days_since_interaction = 2;
  b.strength = 0.9;
  b.open_deals = 1;
  b.owned = true;
  std::vector<Scored> decided = rank({score(a), score(b)}, 5);
  EXPECT_EQ(decided[0].evidence.record_id, 2);
  EXPECT_FALSE(decided[0].ambiguous || decided[1].ambiguous);
  // Context never lifts a weaker text above a stronger one.
  Evidence exact = a;
  exact.record_id = 3;
  exact.domain = true;
  EXPECT_EQ(rank({score(b), score(exact)}, 5)[0].evidence.record_id, 3);
  EXPECT_LE(score(b).score, score(b).text);
  EXPECT_GE(score(a).score, score(a).text * (1 - kContextShare));
}

TEST(ResolveScore, LetterSimilarityForgivesTyposNotOtherNames) {
  EXPECT_GE(letter_similarity("summer spepelt", "summer seppelt"), 0.8) << "a transposition";
  EXPECT_GE(letter_similarity("joshua cmaplan", "joshua camplan"), 0.8);
  EXPECT_GE(letter_similarity("smith john", "john smith"), 0.99) << "order";
  EXPECT_LT(letter_similarity("john smith", "joan smith"), 0.8) << "another person's name";
  EXPECT_LT(letter_similarity("maria garcia", "mario garza"), 0.8);
  EXPECT_EQ(letter_similarity("smith", "john smith"), 0.0) << "a part is the trigram measure's job";
  EXPECT_EQ(letter_similarity("", "john smith"), 0.0);
}

TEST(ResolveScore, ContextIsReadOnlyForContenders) {
  std::vector<Scored> by_text;
  for (double t : {0.9, 0.85, 0.8, 0.7, 0.3, 0.26}) {
    Scored s;
    s.text = t;
    by_text.push_back(s);
  }
  // The second best text is 0.85: a text below 0.85 * 0.9 - 0.05 = 0.715 can never pass it.
  EXPECT_EQ(contenders(by_text, 2), 3u);
  EXPECT_EQ(contenders(by_text, 1), 3u);
  EXPECT_EQ(contenders(by_text, 5), 6u);
  EXPECT_EQ(contenders({}, 5), 0u);
}

TEST(ResolveWhy, SaysWhy) {
  using nlohmann::json;
  WhyFacts merged;
  merged.kind = "person";
  merged.record_id = 12;
  merged.exists = true;
  merged.merged_into = 7;
  json m = json::parse(why_json(merged));
  EXPECT_EQ(m["returned"], false);
  EXPECT_EQ(m["merged_into"], 7);
  EXPECT_EQ(
      m["reason"],
      "person 12 was merged into person 7: a merged record is never resolved, its survivor is");

  WhyFacts missing;
  missing.kind = "company";
  missing.record_id = 99;
  EXPECT_EQ(json::parse(why_json(missing))["reason"], "there is no company 99 in this workspace");

  Evidence e;
  e.kind = Kind::Company;
  e.record_id = 3;
  e.name = 1.0;
  WhyFacts ranked;
  ranked.kind = "company";
  ranked.record_id = 3;
  ranked.exists = true;
  ranked.found = true;
  ranked.scored = score(e);
  ranked.rank = 7;
  json r = json::parse(why_json(ranked));
  EXPECT_EQ(r["returned"], false);
  EXPECT_EQ(r["rank"], 7);
  EXPECT_EQ(r["reason"], "ranked 7, after the first 5 results");
  EXPECT_EQ(r["match_key"], "+NAME");
  ranked.rank = 2;
  ranked.ambiguous = true;
  EXPECT_EQ(json::parse(why_json(ranked))["reason"], "returned at rank 2, ambiguous");

  Evidence weak = e;
  weak.name = 0.3;
  WhyFacts unfound = ranked;
  unfound.found = false;
  unfound.rank.reset();
  unfound.scored = score(weak);
  EXPECT_EQ(json::parse(why_json(unfound))["reason"],
            "no lookup reached it: it shares no address, phone number, domain or name key with the "
            "mention, and was not among the records each search by similar names brings (at most "
            "100); name similarity 0.30");
  unfound.found = true;
  EXPECT_EQ(json::parse(why_json(unfound))["reason"],
            "its text score 0.06 is below the minimum 0.25");
}

}  // namespace

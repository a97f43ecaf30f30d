// The record write path's relink plan: which address book rows a statement writes and which
// participants it hands to crm._relink. The SQL it replaced is the reference (README,
// "Concurrency"); pgTAP checks the links themselves.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/records/relink_plan.hpp"

namespace {

using crm::records::AddressedRecord;
using crm::records::AddressRow;
using crm::records::Owner;
using crm::records::RelinkPlan;
using crm::records::WorkspaceAddress;
using List = std::vector<std::optional<std::string>>;

AddressedRecord person(std::int64_t id, List listed, std::optional<std::int64_t> company = {}) {
  return {id, 1, std::move(listed), company};
}

TEST(RelinkPlan, ParsesTheThreeOwners) {
  EXPECT_EQ(crm::records::parse_owner("person"), Owner::Person);
  EXPECT_EQ(crm::records::parse_owner("member"), Owner::Member);
  EXPECT_EQ(crm::records::parse_owner("company"), Owner::Company);
  EXPECT_EQ(crm::records::parse_owner("deal"), std::nullopt);
  EXPECT_EQ(crm::records::parse_owner("Person"), std::nullopt);
}

TEST(RelinkPlan, NormalizesAsTheAddressBookDoes) {
  EXPECT_EQ(crm::records::normalize_address(" \tAnn@Example.COM\r\n\f\v"), "ann@example.com");
  EXPECT_EQ(crm::records::normalize_address("\t"), "");
  // Only ASCII letters are folded, as translate() in crm.normalize_address folds them.
  EXPECT_EQ(crm::records::normalize_address("ÄNN@X.ORG"), "Änn@x.org");
}

TEST(RelinkPlan, DomainIsSplitPartTwoAsInSql) {
  EXPECT_EQ(crm::records::address_domain("ann@x.org"), "x.org");
  EXPECT_EQ(crm::records::address_domain("a@b@c"), "b");  // split_part(address, '@', 2)
  EXPECT_EQ(crm::records::address_domain("ann@"), std::nullopt);
  EXPECT_EQ(crm::records::address_domain("+441234"), std::nullopt);
  EXPECT_EQ(crm::records::address_domain("@x.org"), "x.org");
}

TEST(RelinkPlan, EntriesDropNullsAndBlanksAndRepeats) {
  const List listed = {"B@x.org", std::nullopt, "   ", "", "b@x.org ", "a@x.org"};
  EXPECT_EQ(crm::records::address_entries(listed),
            (std::vector<std::string>{"a@x.org", "b@x.org"}));
  // A tab alone is not blank for btrim's default: crm.normalize_addresses keeps it, empty.
  EXPECT_EQ(crm::records::address_entries({"\t"}), (std::vector<std::string>{""}));
}

TEST(RelinkPlan, InsertedPersonGetsSignalRowAddressRowsAndRelinksItsAddresses) {
  const RelinkPlan plan =
      crm::records::plan_insert(Owner::Person, {person(7, {"Ann@X.org", "ann@x.org"})});
  EXPECT_EQ(plan.signal_rows_added, (std::vector<std::int64_t>{7}));
  EXPECT_EQ(plan.address_rows_added, (std::vector<AddressRow>{{1, "ann@x.org", 7}}));
  EXPECT_EQ(plan.relink_addresses, (std::vector<WorkspaceAddress>{{1, "ann@x.org"}}));
  EXPECT_TRUE(plan.relink_records.empty()) << "a new record has no participants linked to it yet";
}

TEST(RelinkPlan, InsertedMemberHasNoSignalRow) {
  const RelinkPlan plan = crm::records::plan_insert(Owner::Member, {person(3, {"me@us.org"})});
  EXPECT_TRUE(plan.signal_rows_added.empty());
  EXPECT_EQ(plan.address_rows_added.size(), 1u);
}

TEST(RelinkPlan, InsertedCompanyRelinksItsDomainAndKeepsNoAddressRows) {
  const RelinkPlan plan = crm::records::plan_insert(
      Owner::Company, {person(4, {" Acme.COM"}), person(5, {std::nullopt}), person(6, {" "})});
  EXPECT_EQ(plan.signal_rows_added, (std::vector<std::int64_t>{4, 5, 6}));
  EXPECT_TRUE(plan.address_rows_added.empty());
  EXPECT_TRUE(plan.relink_addresses.empty());
  EXPECT_EQ(plan.relink_domains, (std::vector<WorkspaceAddress>{{1, "acme.com"}}));
}

TEST(RelinkPlan, UpdateOfAnUnreadColumnPlansNothing) {
  const RelinkPlan plan = crm::records::plan_update(Owner::Person, {person(7, {"a@x.org"}, 2)},
                                                    {person(7, {"a@x.org"}, 2)});
  EXPECT_TRUE(plan.empty());
}

TEST(RelinkPlan, AddressChangeRewritesTheBookAndRelinksOldAndNew) {
  const RelinkPlan plan = crm::records::plan_update(Owner::Person, {person(7, {"old@x.org"})},
                                                    {person(7, {"new@x.org"})});
  EXPECT_EQ(plan.address_rows_removed, (std::vector<std::int64_t>{7}));
  EXPECT_EQ(plan.address_rows_added, (std::vector<AddressRow>{{1, "new@x.org", 7}}));
  EXPECT_EQ(plan.relink_addresses,
            (std::vector<WorkspaceAddress>{{1, "new@x.org"}, {1, "old@x.org"}}));
  EXPECT_EQ(plan.relink_records, (std::vector<std::int64_t>{7}));
}

TEST(RelinkPlan, ACaseChangeIsAChangeAsSqlComparesIt) {
  const RelinkPlan plan =
      crm::records::plan_update(Owner::Person, {person(7, {"A@x.org"})}, {person(7, {"a@x.org"})});
  EXPECT_EQ(plan.address_rows_removed, (std::vector<std::int64_t>{7}));
  EXPECT_EQ(plan.relink_addresses, (std::vector<WorkspaceAddress>{{1, "a@x.org"}}));
}

TEST(RelinkPlan, CompanyChangeRelinksTheCurrentAddressesOnly) {
  const RelinkPlan plan = crm::records::plan_update(Owner::Person, {person(7, {"a@x.org"}, 1)},
                                                    {person(7, {"a@x.org"}, std::nullopt)});
  EXPECT_TRUE(plan.address_rows_removed.empty());
  EXPECT_TRUE(plan.address_rows_added.empty());
  EXPECT_EQ(plan.relink_addresses, (std::vector<WorkspaceAddress>{{1, "a@x.org"}}));
  EXPECT_EQ(plan.relink_records, (std::vector<std::int64_t>{7}));
}

TEST(RelinkPlan, AMemberHasNoCompanyToChange) {
  const RelinkPlan plan = crm::records::plan_update(Owner::Member, {person(7, {"a@x.org"}, 1)},
                                                    {person(7, {"a@x.org"}, 2)});
  EXPECT_TRUE(plan.empty());
}

TEST(RelinkPlan, DomainChangeRelinksBothDomains) {
  const RelinkPlan plan =
      crm::records::plan_update(Owner::Company, {person(4, {"old.com"})}, {person(4, {"New.com"})});
  EXPECT_TRUE(plan.address_rows_removed.empty());
  EXPECT_EQ(plan.relink_domains, (std::vector<WorkspaceAddress>{{1, "new.com"}, {1, "old.com"}}));
  EXPECT_EQ(plan.relink_records, (std::vector<std::int64_t>{4}));
}

TEST(RelinkPlan, NullElementsCountInTheComparison) {
  // emails || NULL email vs emails || 'x': distinct in SQL, so distinct here.
  const RelinkPlan plan = crm::records::plan_update(Owner::Person, {person(7, {std::nullopt})},
                                                    {person(7, {"x@y.org"})});
  EXPECT_EQ(plan.relink_records, (std::vector<std::int64_t>{7}));
}

TEST(RelinkPlan, DeleteInALiveWorkspaceRelinksAndOneDeletedWithItsWorkspaceDoesNot) {
  AddressedRecord gone = person(8, {"b@x.org"});
  gone.workspace = 2;
  const RelinkPlan plan =
      crm::records::plan_delete(Owner::Person, {person(7, {"a@x.org"}), gone}, {1});
  EXPECT_EQ(plan.address_rows_removed, (std::vector<std::int64_t>{7, 8}));
  EXPECT_EQ(plan.signal_rows_removed, (std::vector<std::int64_t>{7, 8}));
  EXPECT_EQ(plan.relink_addresses, (std::vector<WorkspaceAddress>{{1, "a@x.org"}}));
  EXPECT_EQ(plan.relink_records, (std::vector<std::int64_t>{7}));
}

TEST(RelinkPlan, ManyRecordsRelinkEachAddressOnce) {
  std::vector<AddressedRecord> rows;
  for (int i = 0; i < 1000; ++i)
    rows.push_back(person(i, {"shared@x.org", "own" + std::to_string(i) + "@x.org"}));
  const RelinkPlan plan = crm::records::plan_insert(Owner::Person, rows);
  EXPECT_EQ(plan.address_rows_added.size(), 2000u);
  EXPECT_EQ(plan.relink_addresses.size(), 1001u);
}

}  // namespace

namespace {

// crm.merge: the others become tombstones and the survivor takes their addresses, in one
// statement. A tombstone owns nothing, so its participants are resolved again (and find the
// survivor); unmerging gives its addresses back.
TEST(RelinkPlan, AMergedPersonOwnsNoAddressAndNoCompany) {
  AddressedRecord loser_before = person(2, {"old@x.org", "loser@x.org"}, 7);
  AddressedRecord loser_after = loser_before;
  loser_after.merged = true;
  const AddressedRecord survivor_before = person(1, {"win@x.org"}, 7);
  const AddressedRecord survivor_after = person(1, {"old@x.org", "loser@x.org", "win@x.org"}, 7);
  const RelinkPlan plan = crm::records::plan_update(Owner::Person, {survivor_before, loser_before},
                                                    {survivor_after, loser_after});
  EXPECT_EQ(plan.relink_records, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(plan.address_rows_removed, (std::vector<std::int64_t>{1, 2}));
  // Only the survivor is written back to the address book.
  for (const AddressRow &row : plan.address_rows_added) EXPECT_EQ(row.record, 1) << row.address;
  EXPECT_EQ(plan.address_rows_added.size(), 3u);
  EXPECT_EQ(plan.relink_addresses, (std::vector<WorkspaceAddress>{
                                       {1, "loser@x.org"}, {1, "old@x.org"}, {1, "win@x.org"}}));
  EXPECT_EQ(plan.signal_rows_removed, (std::vector<std::int64_t>{2}));  // no signal row
  EXPECT_TRUE(plan.signal_rows_added.empty());

  const RelinkPlan back = crm::records::plan_update(Owner::Person, {loser_after}, {loser_before});
  EXPECT_EQ(back.relink_records, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(back.address_rows_added.size(), 2u);
  EXPECT_EQ(back.signal_rows_added, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(back.signal_workspaces, (std::vector<std::int64_t>{1}));
}

TEST(RelinkPlan, ATombstoneWithoutAddressesIsStillRelinked) {
  // Its participants linked by id (an address no book holds) must be resolved again too.
  AddressedRecord before = person(3, {std::nullopt});
  AddressedRecord after = before;
  after.merged = true;
  const RelinkPlan plan = crm::records::plan_update(Owner::Person, {before}, {after});
  EXPECT_EQ(plan.relink_records, (std::vector<std::int64_t>{3}));
  // An update of a tombstone that stays one plans nothing.
  EXPECT_TRUE(crm::records::plan_update(Owner::Person, {after}, {after}).empty());
}

}  // namespace

namespace {

TEST(RelinkPlan, AMergedCompanyKeepsItsDomainForItsSurvivor) {
  AddressedRecord before{5, 1, {"acme.example"}, std::nullopt};
  AddressedRecord after = before;
  after.merged = true;
  const RelinkPlan plan = crm::records::plan_update(Owner::Company, {before}, {after});
  // Its participants are resolved again (resolution gives the domain to the survivor) ...
  EXPECT_EQ(plan.relink_domains, (std::vector<WorkspaceAddress>{{1, "acme.example"}}));
  EXPECT_EQ(plan.relink_records, (std::vector<std::int64_t>{5}));
  // ... and the tombstone has no signal row.
  EXPECT_EQ(plan.signal_rows_removed, (std::vector<std::int64_t>{5}));
  // A tombstone's domain edited: its participants are resolved again as for any company.
  AddressedRecord moved = after;
  moved.listed = {"acme.example.org"};
  const RelinkPlan edit = crm::records::plan_update(Owner::Company, {after}, {moved});
  EXPECT_EQ(edit.relink_domains,
            (std::vector<WorkspaceAddress>{{1, "acme.example"}, {1, "acme.example.org"}}));
  EXPECT_TRUE(edit.signal_rows_removed.empty());
  EXPECT_TRUE(edit.signal_rows_added.empty());
}

}  // namespace

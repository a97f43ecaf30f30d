// What a statement writing people, members or companies must do to the address book
// (crm.record_address) and to the participants whose links it can change. Pure logic: the
// statement-level trigger (src/pg/records/record_relink.cpp) reads the transition tables into
// AddressedRecords and carries the plan out through SPI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace crm::records {

// The records whose addresses participants resolve to. A person's and a member's addresses are
// their address book entries; a company's domain links the participants no person or member owns.
enum class Owner { Person, Member, Company };

// 'person', 'member' or 'company' (a trigger's argument); nothing for any other text.
std::optional<Owner> parse_owner(std::string_view text);

// A record as the trigger reads it. `listed` is the address list as SQL spells it: a person's
// emails || email, a member's aliases || email, a company's {domain}; NULL elements kept, so that
// two lists compare as SQL's IS DISTINCT FROM compares them.
struct AddressedRecord {
  std::int64_t id = 0;
  std::int64_t workspace = 0;
  std::vector<std::optional<std::string>> listed;
  std::optional<std::int64_t> company;  // a person's company_id
  // A tombstone (crm.merge: merged_into is set): it has no signal row, so no view or report sees
  // it. A merged person owns no address and links to no company, so its participants go to
  // whoever owns their addresses now (the survivor, which took them); a merged company keeps its
  // domain, which resolution gives to the survivor, and its participants are resolved again.
  bool merged = false;
};

// The address book's form of an address (crm.normalize_address): trimmed of ASCII white space and
// ASCII-lower-cased.
std::string normalize_address(std::string_view address);

// The domain of a normalized address as crm.address_domain gives it: what follows the first '@' up
// to a second one; nothing when that is empty.
std::optional<std::string_view> address_domain(std::string_view normalized);

// The distinct normalized entries of a list (crm.normalize_addresses): NULL elements and elements
// that are blank but for spaces are left out. Sorted, so a plan does not depend on hash order.
std::vector<std::string> address_entries(const std::vector<std::optional<std::string>> &listed);

struct AddressRow {
  std::int64_t workspace = 0;
  std::string address;
  std::int64_t record = 0;
  bool operator==(const AddressRow &) const = default;
};

struct WorkspaceAddress {
  std::int64_t workspace = 0;
  std::string address;
  bool operator==(const WorkspaceAddress &) const = default;
  auto operator<=>(const WorkspaceAddress &) const = default;
};

struct RelinkPlan {
  std::vector<std::int64_t> signal_rows_added;     // person_signal / company_signal rows to create
  std::vector<std::int64_t> signal_rows_removed;   // ... and to delete, with connection rows
  std::vector<std::int64_t> address_rows_removed;  // records whose address book rows go
  std::vector<AddressRow> address_rows_added;
  // crm._relink's arguments: participants at these addresses, at these domains (unowned ones),
  // and those linked to these records are resolved again.
  std::vector<WorkspaceAddress> relink_addresses;
  std::vector<WorkspaceAddress> relink_domains;
  std::vector<std::int64_t> relink_records;
  std::vector<std::int64_t> signal_workspaces;  // workspace of each signal_rows_added

  // Nothing to write and nobody to relink: the trigger runs no SQL at all.
  bool empty() const;
};

RelinkPlan plan_insert(Owner owner, const std::vector<AddressedRecord> &written);

// old_rows and new_rows are the same records before and after (matched by id). Only records whose
// address list changed (or a person's company) are planned: an update of a title or a phone number
// gives an empty plan.
RelinkPlan plan_update(Owner owner, const std::vector<AddressedRecord> &old_rows,
                       const std::vector<AddressedRecord> &new_rows);

// live_workspaces: the workspaces that still exist. A record deleted with its workspace (ON DELETE
// CASCADE) relinks nothing: the same cascade removes the activity it would touch.
RelinkPlan plan_delete(Owner owner, const std::vector<AddressedRecord> &deleted,
                       const std::unordered_set<std::int64_t> &live_workspaces);

}  // namespace crm::records

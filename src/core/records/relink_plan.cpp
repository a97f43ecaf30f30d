#include "core/records/relink_plan.hpp"

#include <algorithm>
#include <unordered_map>

namespace crm::records {
namespace {

// crm.normalize_address trims these (btrim(address, E' \t\n\r\013\f')); crm.normalize_addresses
// drops an element blank for btrim's default, a space alone.
constexpr std::string_view kTrimmed = " \t\n\r\v\f";

bool blank_for_spaces(std::string_view s) {
  return s.find_first_not_of(' ') == s.npos;
}

template <typename T>
void sort_unique(std::vector<T> &v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Companies are linked by domain, people and members by address.
bool by_domain(Owner owner) {
  return owner == Owner::Company;
}

void add_relink_entries(Owner owner, const AddressedRecord &r,
                        const std::vector<std::string> &entries, RelinkPlan &plan) {
  auto &target = by_domain(owner) ? plan.relink_domains : plan.relink_addresses;
  for (const std::string &e : entries) target.push_back({r.workspace, e});
}

void add_address_rows(const AddressedRecord &r, const std::vector<std::string> &entries,
                      RelinkPlan &plan) {
  for (const std::string &e : entries) plan.address_rows_added.push_back({r.workspace, e, r.id});
}

// What the address book and resolution see of a record: nothing of a merged person or member. A
// merged company keeps its domain: resolution gives the participants at it to the survivor.
AddressedRecord as_seen(Owner owner, const AddressedRecord &r) {
  if (!r.merged || by_domain(owner)) return r;
  AddressedRecord seen;
  seen.id = r.id;
  seen.workspace = r.workspace;
  seen.merged = true;
  return seen;
}

void finish(RelinkPlan &plan) {
  sort_unique(plan.relink_addresses);
  sort_unique(plan.relink_domains);
  sort_unique(plan.relink_records);
}

}  // namespace

std::optional<Owner> parse_owner(std::string_view text) {
  if (text == "person") return Owner::Person;
  if (text == "member") return Owner::Member;
  if (text == "company") return Owner::Company;
  return std::nullopt;
}

std::string normalize_address(std::string_view address) {
  const auto first = address.find_first_not_of(kTrimmed);
  if (first == address.npos) return {};
  const auto last = address.find_last_not_of(kTrimmed);
  std::string out(address.substr(first, last - first + 1));
  for (char &c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<std::string_view> address_domain(std::string_view normalized) {
  const auto at = normalized.find('@');
  if (at == normalized.npos) return std::nullopt;
  std::string_view rest = normalized.substr(at + 1);
  rest = rest.substr(0, rest.find('@'));
  if (rest.empty()) return std::nullopt;
  return rest;
}

std::vector<std::string> address_entries(const std::vector<std::optional<std::string>> &listed) {
  std::vector<std::string> out;
  for (const auto &a : listed)
    if (a && !blank_for_spaces(*a)) out.push_back(normalize_address(*a));
  sort_unique(out);
  return out;
}

bool RelinkPlan::empty() const {
  return signal_rows_added.empty() && signal_rows_removed.empty() && address_rows_removed.empty() &&
         address_rows_added.empty() && relink_addresses.empty() && relink_domains.empty() &&
         relink_records.empty();
}

RelinkPlan plan_insert(Owner owner, const std::vector<AddressedRecord> &written) {
  RelinkPlan plan;
  for (const AddressedRecord &written_row : written) {
    const AddressedRecord r = as_seen(owner, written_row);
    if (owner != Owner::Member && !r.merged) {
      plan.signal_rows_added.push_back(r.id);
      plan.signal_workspaces.push_back(r.workspace);
    }
    const std::vector<std::string> entries = address_entries(r.listed);
    if (!by_domain(owner)) add_address_rows(r, entries, plan);
    add_relink_entries(owner, r, entries, plan);
  }
  finish(plan);
  return plan;
}

RelinkPlan plan_update(Owner owner, const std::vector<AddressedRecord> &old_rows,
                       const std::vector<AddressedRecord> &new_rows) {
  std::unordered_map<std::int64_t, const AddressedRecord *> before;
  for (const AddressedRecord &r : old_rows) before.emplace(r.id, &r);
  RelinkPlan plan;
  for (const AddressedRecord &new_row : new_rows) {
    auto it = before.find(new_row.id);
    if (it == before.end()) continue;  // an update keeps ids (the primary key): never here
    const AddressedRecord n = as_seen(owner, new_row), o = as_seen(owner, *it->second);
    // Merging or unmerging changes what the record owns even when both lists read alike.
    const bool list_changed = n.listed != o.listed || n.merged != o.merged;
    // A person's company change relinks their addresses too: relinking claims them, so a
    // participant written for the person concurrently either waits and sees the new company or is
    // seen and relinked.
    const bool company_changed = owner == Owner::Person && n.company != o.company;
    if (!list_changed && !company_changed) continue;
    plan.relink_records.push_back(n.id);
    // A tombstone has no signal row: the views, stale_records and the oracle never see it.
    if (n.merged != o.merged && owner != Owner::Member) {
      if (n.merged) {
        plan.signal_rows_removed.push_back(n.id);
      } else {
        plan.signal_rows_added.push_back(n.id);
        plan.signal_workspaces.push_back(n.workspace);
      }
    }
    std::vector<std::optional<std::string>> relinked = n.listed;
    if (list_changed) {
      if (!by_domain(owner)) {
        plan.address_rows_removed.push_back(n.id);
        add_address_rows(n, address_entries(n.listed), plan);
      }
      relinked.insert(relinked.end(), o.listed.begin(), o.listed.end());
    }
    add_relink_entries(owner, n, address_entries(relinked), plan);
  }
  sort_unique(plan.address_rows_removed);
  sort_unique(plan.signal_rows_removed);
  finish(plan);
  return plan;
}

RelinkPlan plan_delete(Owner owner, const std::vector<AddressedRecord> &deleted,
                       const std::unordered_set<std::int64_t> &live_workspaces) {
  RelinkPlan plan;
  for (const AddressedRecord &deleted_row : deleted) {
    const AddressedRecord r = as_seen(owner, deleted_row);
    if (!by_domain(owner)) plan.address_rows_removed.push_back(r.id);
    if (owner != Owner::Member && !r.merged) plan.signal_rows_removed.push_back(r.id);
    if (!live_workspaces.count(r.workspace)) continue;
    plan.relink_records.push_back(r.id);
    add_relink_entries(owner, r, address_entries(r.listed), plan);
  }
  sort_unique(plan.address_rows_removed);
  sort_unique(plan.signal_rows_removed);
  finish(plan);
  return plan;
}

}  // namespace crm::records

#include "core/connection/company_effects.hpp"

#include <algorithm>
#include <cmath>

#include "core/signals/extremes.hpp"

namespace crm::connection {

using signals::kNoTime;
using signals::RecordKind;
using signals::take_max;
using signals::take_min;

// Notes how a contact's pair changed into its company's pair change.
void note_change(const ContactChange &c, CompanyEffects &effects) {
  const std::int64_t company = c.after.company_id != 0 ? c.after.company_id : c.before.company_id;
  if (c.before.company_id != 0 && c.after.company_id != 0 &&
      c.before.company_id != c.after.company_id) {
    effects.recompute.insert(c.before.company_id);
    effects.recompute.insert(c.after.company_id);
    return;
  }
  if (company == 0) return;
  const double old_rank = c.before.rank(), new_rank = c.after.rank();
  CompanyEffects::Change &ch = effects.changes[company][c.member_id];
  if (ch.workspace_id == 0)
    ch.workspace_id = c.after.workspace_id != 0 ? c.after.workspace_id : c.before.workspace_id;
  // Each difference is taken on its own (an increase never cancels), and only the sum of the
  // losses is subtracted from the company's pair, where log_replace guards the precision.
  if (new_rank >= old_rank)
    ch.log_gained = log_add(ch.log_gained, log_increase(old_rank, new_rank));
  else
    ch.log_lost = log_add(ch.log_lost, log_increase(new_rank, old_rank));
  ch.people += (new_rank != kNothing) - (old_rank != kNothing);
  take_max(ch.last_before, c.before.last_at);
  take_max(ch.last_after, c.after.last_at);
  take_min(ch.next_before, c.before.next_at);
  take_min(ch.next_after, c.after.next_at);
}

// Applies a company's pair changes to its stored pairs; false when one cannot be taken exactly.
bool apply_changes(const std::map<std::int64_t, CompanyEffects::Change> &changes,
                   CompanyPairs &pairs) {
  for (const auto &[member, ch] : changes) {
    CompanyPair p = pairs.contains(member) ? pairs.at(member) : CompanyPair{};
    if (p.workspace_id == 0) p.workspace_id = ch.workspace_id;
    p.people += ch.people;
    if (p.people < 0) return false;
    if (p.people == 0) {  // no contact has anything past left
      p.rank = kNothing;
      p.last_at = kNoTime;
    } else {
      const double rank = log_replace(p.rank, ch.log_lost, ch.log_gained);
      if (std::isnan(rank) || !signals::replace_max(p.last_at, ch.last_before, ch.last_after))
        return false;
      p.rank = rank;
    }
    if (!signals::replace_min(p.next_at, ch.next_before, ch.next_after)) return false;
    if (p.rank == kNothing && p.next_at == kNoTime)
      pairs.erase(member);
    else
      pairs[member] = p;
  }
  return true;
}

// The stored contacts of a record with a delta taken in: removed replaced by added where given,
// added merged otherwise. The changes of each contact are appended to changed. False when a pair
// cannot take its delta exactly (the record is then recomputed).
bool take_delta(RecordKind kind, Contacts &contacts, const Contacts *removed, const Contacts *added,
                std::vector<ContactChange> &changed) {
  static const Contacts kNone;
  if (removed == nullptr) removed = &kNone;
  if (added == nullptr) added = &kNone;
  std::vector<ContactKey> keys;
  for (const auto *part : {removed, added})
    for (const auto &[key, _] : *part)
      if (kind == RecordKind::Person || key.person_id == 0) keys.push_back(key);  // see below
  // A company's person contacts are stored under the people: the person pass notes them.
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (const ContactKey &key : keys) {
    auto it = contacts.find(key);
    const Pair before = it == contacts.end() ? Pair{} : it->second;
    Pair after = before;
    auto r = removed->find(key);
    auto a = added->find(key);
    static const Pair kEmpty;
    if (r != removed->end()) {
      if (!after.replace(r->second, a == added->end() ? kEmpty : a->second)) return false;
    } else if (a != added->end()) {
      after.merge(a->second);
    }
    if (after == before) continue;
    changed.push_back({key.member_id, before, after});
    if (after.empty())
      contacts.erase(key);
    else
      contacts[key] = after;
  }
  return true;
}

// Every contact of a recomputed record, before and after, for its companies.
void note_recomputed(const Contacts *before, const Contacts *after, CompanyEffects &effects) {
  static const Contacts kNone;
  if (before == nullptr) before = &kNone;
  if (after == nullptr) after = &kNone;
  for (const auto &[key, b] : *before) {
    auto a = after->find(key);
    const Pair now = a == after->end() ? Pair{} : a->second;
    if (!(now == b)) note_change({key.member_id, b, now}, effects);
  }
  for (const auto &[key, a] : *after)
    if (!before->contains(key)) note_change({key.member_id, Pair{}, a}, effects);
}

}  // namespace crm::connection

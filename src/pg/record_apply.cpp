#include "pg/record_apply.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "pg/activity_reader.hpp"
#include "pg/guard.hpp"
#include "pg/id_query.hpp"
#include "pg/spi.hpp"

namespace crm::pg {
namespace {

using connection::CompanyPairs;
using connection::Contacts;
using connection::kNothing;
using signals::kNoTime;
using signals::Micros;
using signals::RecordKind;
using signals::Signals;

void take_min(Micros &slot, Micros value) {
  if (value != kNoTime && (slot == kNoTime || value < slot)) slot = value;
}
void take_max(Micros &slot, Micros value) {
  if (value != kNoTime && (slot == kNoTime || value > slot)) slot = value;
}

// Records how a contact's pair changed from before to after into the company's increases.
void note_change(const connection::Pair *before, const connection::Pair &after, std::int64_t member,
                 CompanyEffects &effects) {
  const std::int64_t company = after.company_id;
  const std::int64_t old_company = before ? before->company_id : company;
  if (company != old_company) {
    if (old_company != 0) effects.recompute.insert(old_company);
    if (company != 0) effects.recompute.insert(company);
    return;
  }
  if (company == 0) return;
  const double old_rank = before ? before->rank() : kNothing;
  const double added = connection::log_increase(old_rank, after.rank());
  if (std::isnan(added)) {
    effects.recompute.insert(company);
    return;
  }
  CompanyEffects::Increase &inc = effects.increases[company][member];
  inc.workspace_id = after.workspace_id;
  inc.log_added = connection::log_add(inc.log_added, added);
  if (old_rank == kNothing && after.rank() != kNothing) ++inc.people;
  take_max(inc.last_at, after.last_at);
  take_min(inc.next_at, after.next_at);
}

// Merges delta contacts into stored ones and notes, per company and member, how much R each
// contact added (a person's company from the person pass, a company's own address contacts in
// the company pass).
Contacts merge_contacts(RecordKind kind, Contacts stored, const Contacts &delta,
                        CompanyEffects &effects) {
  for (const auto &[key, d] : delta) {
    if (kind == RecordKind::Company && key.person_id != 0) continue;  // from the person pass
    auto it = stored.find(key);
    const bool existed = it != stored.end();
    const connection::Pair before = existed ? it->second : connection::Pair{};
    connection::Pair &after = stored[key];
    after.merge(d);
    note_change(existed ? &before : nullptr, after, key.member_id, effects);
  }
  return stored;
}

std::vector<std::int64_t> sorted(const RecordIds &ids) {
  std::vector<std::int64_t> out(ids.begin(), ids.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

void attach_models(signals::Folder &folder, bool read_only) {
  // Loaded on first use, one workspace at a time: a statement meets one or a few.
  auto models = std::make_shared<std::unordered_map<std::int64_t, connection::Model>>();
  folder.set_models([models, read_only](std::int64_t workspace) -> const connection::Model & {
    auto it = models->find(workspace);
    if (it == models->end())
      it = models->emplace(workspace, load_model(workspace, read_only)).first;
    return it->second;
  });
}

Recomputed recompute(RecordKind kind, const RecordIds &ids, Micros now, bool read_only,
                     const std::function<void(signals::Folder &)> &prepare) {
  if (ids.empty()) return {};
  signals::Folder folder(now, interrupt_pending);
  attach_models(folder, read_only);
  if (prepare) prepare(folder);
  folder.restrict_to(kind, ids);
  // The records' interactions first, then those interactions with all their participants.
  std::vector<std::int64_t> list(ids.begin(), ids.end());
  const std::string sql =
      std::string("SELECT DISTINCT interaction_id FROM crm.participant WHERE ") +
      (kind == RecordKind::Person ? "person_id" : "company_id") + " = ANY ($1)";
  static const Oid types[1] = {INT8ARRAYOID};
  const Datum arg = pg_call([&] { return int8_array(list.data(), static_cast<int>(list.size())); });
  const std::vector<std::int64_t> interactions = query_ids(sql.c_str(), 1, types, &arg, read_only);
  fold_interactions(interactions, folder, read_only);
  return {std::move(folder.result(kind)), std::move(folder.contacts(kind))};
}

std::int64_t apply(RecordKind kind, signals::Folder *folded, const RecordIds &recompute_ids,
                   Micros now, CompanyEffects &effects) {
  const bool person = kind == RecordKind::Person;
  static const SignalMap kNoSignals;
  static const ContactsByRecord kNoContacts;
  const SignalMap &deltas = folded ? folded->result(kind) : kNoSignals;
  const ContactsByRecord &contact_deltas = folded ? folded->contacts(kind) : kNoContacts;

  RecordIds wanted = recompute_ids;
  for (const auto &[id, _] : deltas) wanted.insert(id);
  for (const auto &[id, _] : contact_deltas) wanted.insert(id);
  if (!person) {
    for (const auto &[id, _] : effects.increases) wanted.insert(id);
    wanted.insert(effects.recompute.begin(), effects.recompute.end());
  }
  if (wanted.empty()) return 0;
  const std::vector<std::int64_t> ids = sorted(wanted);

  const StoredMap stored = lock_and_load(kind, ids);
  RecordIds again;
  for (std::int64_t id : recompute_ids)
    if (stored.contains(id)) again.insert(id);
  if (!person)
    for (std::int64_t id : effects.recompute)
      if (stored.contains(id)) again.insert(id);

  // Records whose stored state can take the new activity by merging.
  std::vector<std::int64_t> merging;
  for (std::int64_t id : ids) {
    auto it = stored.find(id);
    if (it == stored.end() || again.contains(id)) continue;
    if (!signals::mergeable(it->second.signals, it->second.as_of, now)) {
      again.insert(id);
      continue;
    }
    merging.push_back(id);
  }
  std::vector<std::int64_t> with_contacts;
  for (std::int64_t id : merging)
    if (contact_deltas.contains(id) || (!person && effects.increases.contains(id)))
      with_contacts.push_back(id);
  LoadedContacts loaded = load_contacts(kind, with_contacts, now);
  LoadedPairs loaded_pairs = person ? LoadedPairs{} : load_company_pairs(with_contacts, now);

  SignalMap out;
  ContactsByRecord contacts_out;
  PairsByCompany pairs_out;
  static const Contacts kNone;
  for (std::int64_t id : merging) {
    const StoredSignals &s = stored.at(id);
    Signals merged = s.signals;
    if (auto d = deltas.find(id); d != deltas.end()) merged.merge(d->second);
    const bool has_contacts = std::binary_search(with_contacts.begin(), with_contacts.end(), id);
    if (has_contacts) {
      if (loaded.stale.contains(id) || loaded_pairs.stale.contains(id)) {
        again.insert(id);
        continue;
      }
      auto stored_contacts = loaded.rows.find(id);
      auto delta = contact_deltas.find(id);
      Contacts c = merge_contacts(
          kind, stored_contacts == loaded.rows.end() ? Contacts{} : stored_contacts->second,
          delta == contact_deltas.end() ? kNone : delta->second, effects);
      if (person) {
        const connection::Strongest best = connection::strongest_of(c);
        merged.strongest_member_id = best.member_id;
        merged.strongest_rank = best.rank;
        contacts_out.emplace(id, std::move(c));
      } else {
        if (effects.recompute.contains(id)) {  // an increase that could not be taken exactly
          again.insert(id);
          continue;
        }
        auto stored_pairs = loaded_pairs.rows.find(id);
        CompanyPairs pairs =
            stored_pairs == loaded_pairs.rows.end() ? CompanyPairs{} : stored_pairs->second;
        if (auto inc = effects.increases.find(id); inc != effects.increases.end()) {
          for (const auto &[member, i] : inc->second) {
            connection::CompanyPair &p = pairs[member];
            p.workspace_id = i.workspace_id;
            p.rank = connection::log_add(p.rank, i.log_added);
            p.people += i.people;
            take_max(p.last_at, i.last_at);
            take_min(p.next_at, i.next_at);
          }
        }
        const connection::Strongest best = connection::strongest_of(pairs);
        merged.strongest_member_id = best.member_id;
        merged.strongest_rank = best.rank;
        if (delta != contact_deltas.end()) contacts_out.emplace(id, std::move(c));
        pairs_out.emplace(id, std::move(pairs));
      }
    }
    if (!(merged == s.signals)) out.emplace(id, merged);
  }

  // What the written records hold now, so that only changed rows are written.
  ContactsByRecord &previous = loaded.rows;
  PairsByCompany &previous_pairs = loaded_pairs.rows;
  RecordIds force;
  if (!again.empty()) {
    Recomputed fresh = recompute(kind, again, now);
    LoadedContacts old = load_contacts(kind, sorted(again), now);
    LoadedPairs old_pairs = person ? LoadedPairs{} : load_company_pairs(sorted(again), now);
    for (std::int64_t id : again) {
      previous.erase(id);
      previous_pairs.erase(id);
    }
    force.insert(old.stale.begin(), old.stale.end());
    force.insert(old_pairs.stale.begin(), old_pairs.stale.end());
    if (person) {
      // The companies these people belonged to, and belong to now, sum their pairs again.
      for (const auto &[id, contacts] : old.rows)
        for (const auto &[key, p] : contacts)
          if (p.company_id != 0) effects.recompute.insert(p.company_id);
      for (const auto &[id, contacts] : fresh.contacts)
        for (const auto &[key, p] : contacts)
          if (p.company_id != 0) effects.recompute.insert(p.company_id);
    }
    for (std::int64_t id : again) {
      auto f = fresh.signals.find(id);
      Signals value = f == fresh.signals.end() ? Signals{} : f->second;
      auto c = fresh.contacts.find(id);
      Contacts contacts = c == fresh.contacts.end() ? Contacts{} : std::move(c->second);
      connection::Strongest best;
      if (person) {
        best = connection::strongest_of(contacts);
      } else {
        CompanyPairs pairs = connection::roll_up(contacts);
        best = connection::strongest_of(pairs);
        pairs_out[id] = std::move(pairs);
      }
      value.strongest_member_id = best.member_id;
      value.strongest_rank = best.rank;
      contacts_out[id] = std::move(contacts);
      const StoredSignals &s = stored.at(id);
      if (!value.equivalent(s.signals) || !signals::mergeable(s.signals, s.as_of, now))
        out.emplace(id, value);
    }
    for (auto &[id, contacts] : old.rows) previous[id] = std::move(contacts);
    for (auto &[id, pairs] : old_pairs.rows) previous_pairs[id] = std::move(pairs);
  }
  write(kind, out, now);
  std::vector<std::int64_t> contact_ids;
  for (const auto &[id, _] : contacts_out) contact_ids.push_back(id);
  std::sort(contact_ids.begin(), contact_ids.end());
  replace_contacts(kind, contact_ids, contacts_out, now, &previous, &force);
  if (!person) {
    std::vector<std::int64_t> pair_ids;
    for (const auto &[id, _] : pairs_out) pair_ids.push_back(id);
    std::sort(pair_ids.begin(), pair_ids.end());
    replace_company_pairs(pair_ids, pairs_out, now, &previous_pairs, &force);
  }
  return static_cast<std::int64_t>(out.size());
}

std::int64_t apply_both(signals::Folder *folded, const RecordIds &persons,
                        const RecordIds &companies, Micros now) {
  CompanyEffects effects;
  const std::int64_t n = apply(RecordKind::Person, folded, persons, now, effects);
  return n + apply(RecordKind::Company, folded, companies, now, effects);
}

}  // namespace crm::pg

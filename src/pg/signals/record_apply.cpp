#include "pg/signals/record_apply.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "core/connection/company_effects.hpp"
#include "core/signals/extremes.hpp"
#include "pg/signals/activity_reader.hpp"
#include "pg/common/guard.hpp"
#include "pg/common/id_query.hpp"
#include "pg/common/spi.hpp"

namespace crm::pg {
namespace {

using connection::apply_changes;
using connection::CompanyPairs;
using connection::ContactChange;
using connection::Contacts;
using connection::kNothing;
using connection::note_change;
using connection::note_recomputed;
using connection::take_delta;
using signals::kNoTime;
using signals::Micros;
using signals::RecordKind;
using signals::Signals;

using signals::take_max;
using signals::take_min;

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

std::int64_t apply(RecordKind kind, Delta delta, const RecordIds &recompute_ids, Micros now,
                   CompanyEffects &effects) {
  const bool person = kind == RecordKind::Person;
  static const SignalMap kNoSignals;
  static const ContactsByRecord kNoContacts;
  const SignalMap &added = delta.added ? delta.added->result(kind) : kNoSignals;
  const ContactsByRecord &added_contacts = delta.added ? delta.added->contacts(kind) : kNoContacts;
  const SignalMap &removed = delta.removed ? delta.removed->result(kind) : kNoSignals;
  const ContactsByRecord &removed_contacts =
      delta.removed ? delta.removed->contacts(kind) : kNoContacts;

  RecordIds wanted = recompute_ids;
  for (const SignalMap *m : {&added, &removed})
    for (const auto &[id, _] : *m) wanted.insert(id);
  for (const ContactsByRecord *m : {&added_contacts, &removed_contacts})
    for (const auto &[id, _] : *m) wanted.insert(id);
  if (!person) {
    for (const auto &[id, _] : effects.changes) wanted.insert(id);
    wanted.insert(effects.recompute.begin(), effects.recompute.end());
  }
  if (wanted.empty()) return 0;
  const std::vector<std::int64_t> ids = sorted(wanted);

  const StoredMap stored = lock_and_load(kind, ids);
  if (person) {
    // A person with no signal row (deleted in this statement) hands its companies no difference:
    // they sum their pairs again.
    for (const ContactsByRecord *m : {&added_contacts, &removed_contacts})
      for (const auto &[id, contacts] : *m)
        if (!stored.contains(id))
          for (const auto &[key, pair] : contacts)
            if (pair.company_id != 0) effects.recompute.insert(pair.company_id);
  }
  RecordIds again;
  for (std::int64_t id : recompute_ids)
    if (stored.contains(id)) again.insert(id);
  if (!person)
    for (std::int64_t id : effects.recompute)
      if (stored.contains(id)) again.insert(id);

  // Why records are recomputed rather than merged, for DEBUG1.
  std::size_t asked = again.size(), unmergeable = 0, refused_signals = 0, refused_pairs = 0;
  // Records whose stored state can take the delta.
  std::vector<std::int64_t> merging;
  for (std::int64_t id : ids) {
    auto it = stored.find(id);
    if (it == stored.end() || again.contains(id)) continue;
    if (!signals::mergeable(it->second.signals, it->second.as_of, now)) {
      again.insert(id);
      ++unmergeable;
      continue;
    }
    merging.push_back(id);
  }
  std::vector<std::int64_t> with_contacts;
  for (std::int64_t id : merging)
    if (added_contacts.contains(id) || removed_contacts.contains(id) ||
        (!person && effects.changes.contains(id)))
      with_contacts.push_back(id);
  LoadedContacts loaded = load_contacts(kind, with_contacts, now);
  LoadedPairs loaded_pairs = person ? LoadedPairs{} : load_company_pairs(with_contacts, now);

  auto find = [](const auto &map, std::int64_t id) {
    auto it = map.find(id);
    return it == map.end() ? nullptr : &it->second;
  };
  SignalMap out;
  ContactsByRecord contacts_out;
  PairsByCompany pairs_out;
  for (std::int64_t id : merging) {
    const StoredSignals &s = stored.at(id);
    Signals merged = s.signals;
    const Signals *plus = find(added, id);
    if (const Signals *minus = find(removed, id)) {
      if (!merged.replace(*minus, plus ? *plus : Signals{})) {
        again.insert(id);
        ++refused_signals;
        continue;
      }
    } else if (plus) {
      merged.merge(*plus);
    }
    const bool has_contacts = std::binary_search(with_contacts.begin(), with_contacts.end(), id);
    if (has_contacts) {
      if (loaded.stale.contains(id) || loaded_pairs.stale.contains(id)) {
        again.insert(id);
        continue;
      }
      const Contacts *stored_contacts = find(loaded.rows, id);
      Contacts c = stored_contacts ? *stored_contacts : Contacts{};
      std::vector<ContactChange> changed;
      if (!take_delta(kind, c, find(removed_contacts, id), find(added_contacts, id), changed)) {
        again.insert(id);
        ++refused_pairs;
        continue;
      }
      if (person) {
        for (const ContactChange &change : changed) note_change(change, effects);
        const connection::Strongest best = connection::strongest_of(c);
        merged.strongest_member_id = best.member_id;
        merged.strongest_rank = best.rank;
        contacts_out.emplace(id, std::move(c));
      } else {
        // The company's own address contacts change its pairs as its people's do.
        CompanyEffects own;
        for (const ContactChange &change : changed) note_change(change, own);
        if (effects.recompute.contains(id) || own.recompute.contains(id)) {
          again.insert(id);
          continue;
        }
        const CompanyPairs *stored_pairs = find(loaded_pairs.rows, id);
        CompanyPairs pairs = stored_pairs ? *stored_pairs : CompanyPairs{};
        bool exact = true;
        for (const CompanyEffects *e : {&effects, &own})
          if (auto ch = e->changes.find(id); exact && ch != e->changes.end())
            exact = apply_changes(ch->second, pairs);
        if (!exact) {
          again.insert(id);
          ++refused_pairs;
          continue;
        }
        const connection::Strongest best = connection::strongest_of(pairs);
        merged.strongest_member_id = best.member_id;
        merged.strongest_rank = best.rank;
        if (!changed.empty()) contacts_out.emplace(id, std::move(c));
        pairs_out.emplace(id, std::move(pairs));
      }
    }
    if (!(merged == s.signals)) out.emplace(id, merged);
  }

  if (!again.empty())
    pg_call([&] {
      std::size_t merged = 0;
      for (std::int64_t id : merging) merged += !again.contains(id);
      elog(DEBUG1,
           "crm_hygiene: %s: %zu merged, %zu recomputed (%zu asked, %zu with started future "
           "activity, %zu lost an extreme, %zu whose pairs could not take the change exactly)",
           person ? "people" : "companies", merged, again.size(), asked, unmergeable,
           refused_signals, refused_pairs);
    });
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
      // The companies of these people take the difference of their pairs; pairs that were not
      // exact at their clock cannot give one, and their companies sum again.
      for (std::int64_t id : again) {
        const Contacts *before = find(old.rows, id);
        if (old.stale.contains(id)) {
          for (const Contacts *c :
               {before, static_cast<const Contacts *>(find(fresh.contacts, id))})
            if (c)
              for (const auto &[key, p] : *c)
                if (p.company_id != 0) effects.recompute.insert(p.company_id);
          continue;
        }
        note_recomputed(before, find(fresh.contacts, id), effects);
      }
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

std::int64_t apply_both(Delta delta, const RecordIds &persons, const RecordIds &companies,
                        Micros now) {
  CompanyEffects effects;
  const std::int64_t n = apply(RecordKind::Person, delta, persons, now, effects);
  return n + apply(RecordKind::Company, delta, companies, now, effects);
}

}  // namespace crm::pg

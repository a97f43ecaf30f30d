#include "pg/connection/connection_verify.hpp"

#include <cstdio>
#include <set>

namespace crm::pg {
namespace {

using connection::CompanyPairs;
using connection::ContactKey;
using connection::Contacts;
using signals::RecordKind;

std::string contact_name(const ContactKey &key) {
  char buffer[96];
  if (key.person_id != 0)
    snprintf(buffer, sizeof buffer, "connection (member %lld)",
             static_cast<long long>(key.member_id));
  else
    snprintf(buffer, sizeof buffer, "connection (member %lld, address %016llx)",
             static_cast<long long>(key.member_id),
             static_cast<unsigned long long>(key.address_key));
  return buffer;
}

void compare_contacts(RecordKind kind, std::int64_t id, const Contacts &stored,
                      const Contacts &expected, std::string (*render_time)(signals::Micros),
                      const ReportDifference &report) {
  for (const auto &[key, pair] : stored)
    if (!expected.contains(key)) report(kind, id, contact_name(key), "present", "missing");
  for (const auto &[key, pair] : expected) {
    auto it = stored.find(key);
    if (it == stored.end()) {
      report(kind, id, contact_name(key), "missing", "present");
      continue;
    }
    for (const auto &d : connection::differences(it->second, pair, render_time))
      report(kind, id, contact_name(key) + ": " + d.field, d.stored, d.expected);
  }
}

}  // namespace

connection::Strongest strongest_from(RecordKind kind, const Contacts &contacts) {
  return kind == RecordKind::Person ? connection::strongest_of(contacts)
                                    : connection::strongest_of(connection::roll_up(contacts));
}

void verify_connections(signals::Folder &folder, signals::Micros now,
                        std::string (*render_time)(signals::Micros),
                        const ReportDifference &report) {
  static const Contacts kNone;
  for (RecordKind kind : {RecordKind::Person, RecordKind::Company}) {
    const LoadedContacts stored = load_all_contacts(kind, now);
    // A company stores only its address contacts; its people's pairs are stored under them.
    std::unordered_map<std::int64_t, Contacts> expected;
    for (const auto &[id, contacts] : folder.contacts(kind))
      for (const auto &[key, pair] : contacts)
        if (kind == RecordKind::Person || key.person_id == 0) expected[id].emplace(key, pair);
    std::set<std::int64_t> ids;
    for (const auto &[id, _] : stored.rows) ids.insert(id);
    for (const auto &[id, _] : expected) ids.insert(id);
    for (std::int64_t id : ids) {
      auto s = stored.rows.find(id);
      auto e = expected.find(id);
      compare_contacts(kind, id, s == stored.rows.end() ? kNone : s->second,
                       e == expected.end() ? kNone : e->second, render_time, report);
    }
  }

  const LoadedPairs stored = load_all_company_pairs(now);
  std::set<std::int64_t> ids;
  for (const auto &[id, _] : stored.rows) ids.insert(id);
  for (const auto &[id, _] : folder.contacts(RecordKind::Company)) ids.insert(id);
  static const CompanyPairs kNoPairs;
  for (std::int64_t id : ids) {
    auto s = stored.rows.find(id);
    const CompanyPairs &have = s == stored.rows.end() ? kNoPairs : s->second;
    auto c = folder.contacts(RecordKind::Company).find(id);
    const CompanyPairs want = c == folder.contacts(RecordKind::Company).end()
                                  ? CompanyPairs{}
                                  : connection::roll_up(c->second);
    for (const auto &[member, pair] : have)
      if (!want.contains(member))
        report(RecordKind::Company, id,
               "company connection (member " + std::to_string(member) + ")", "present", "missing");
    for (const auto &[member, pair] : want) {
      const std::string name = "company connection (member " + std::to_string(member) + ")";
      auto it = have.find(member);
      if (it == have.end()) {
        report(RecordKind::Company, id, name, "missing", "present");
        continue;
      }
      for (const auto &d : connection::differences(it->second, pair, render_time))
        report(RecordKind::Company, id, name + ": " + d.field, d.stored, d.expected);
    }
  }
}

}  // namespace crm::pg

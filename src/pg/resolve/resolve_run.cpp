#include "pg/resolve/resolve_run.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>

#include "core/error.hpp"
#include "core/utf8.hpp"
#include "core/match/keys.hpp"
#include "core/match/normalize.hpp"
#include "core/match/profile.hpp"
#include "pg/common/clock.hpp"
#include "pg/common/guard.hpp"
#include "pg/common/reference_dir.hpp"
#include "pg/common/spi.hpp"
#include "pg/common/text_rows.hpp"
#include "pg/match/match_store.hpp"
#include "pg/match/phonetic.hpp"

namespace crm::pg {
namespace {

using resolve::Evidence;
using resolve::Kind;
using resolve::Scored;

// Records each fuzzy lookup may bring: enough for every namesake a mention can mean, few enough
// that a common name ("smith") costs a bounded amount.
constexpr int kProbeRows = 100;

struct ParsedHints {
  resolve::Hints hints;
  std::optional<std::string> member;  // as given: an id or an address
  bool member_is_number = false;
};

std::string need(const std::optional<std::string> &v) {
  return v.value_or("");
}

// The caller's text quoted in an error: at most 64 bytes, never cut inside a character.
std::string excerpt(const std::string &text) {
  const std::string_view shown = utf8_prefix(text, 64);
  return std::string(shown) + (shown.size() < text.size() ? "..." : "");
}

ParsedHints read_hints(Datum hints) {
  static SPIPlanPtr plan = nullptr;
  static const Oid types[1] = {JSONBOID};
  std::vector<TextRow> rows = text_rows_kept(
      &plan,
      "SELECT 0::bigint, 0::bigint, pg_catalog.jsonb_typeof(h), "
      "CASE WHEN pg_catalog.jsonb_typeof(h) = 'object' THEN "
      "(SELECT pg_catalog.string_agg(k, ', ' ORDER BY k) FROM pg_catalog.jsonb_object_keys(h) k "
      "WHERE k NOT IN ('email', 'domain', 'phone', 'company', 'member')) END, "
      "h->>'email', h->>'domain', h->>'phone', h->>'company', h->>'member', "
      "pg_catalog.jsonb_typeof(h->'member'), "
      "(SELECT pg_catalog.string_agg(k, ', ' ORDER BY k) FROM pg_catalog.jsonb_each("
      "CASE WHEN pg_catalog.jsonb_typeof(h) = 'object' THEN h ELSE '{}' END) e(k, v) "
      "WHERE k <> 'member' "
      "AND pg_catalog.jsonb_typeof(v) NOT IN ('string', 'null')) "
      "FROM (SELECT $1 AS h) s",
      1, types, &hints, true);
  const std::vector<std::optional<std::string>> &c = rows.at(0).columns;
  if (c[0] != "object")
    throw Error("22023", "hints must be a JSON object", "",
                "for example {\"domain\": \"acme.com\", \"member\": 3}");
  if (c[1])
    throw Error("22023", "unknown hint \"" + excerpt(*c[1]) + "\"", "",
                "hints are email, domain, phone, company and member");
  if (c[8]) throw Error("22023", "hint \"" + excerpt(*c[8]) + "\" must be a string");
  ParsedHints out;
  out.hints = {need(c[2]), need(c[3]), need(c[4]), need(c[5])};
  if (c[7] && c[7] != "null") {
    if (c[7] != "number" && c[7] != "string")
      throw Error("22023", "hint \"member\" must be a member's id or address");
    out.member = c[6];
    out.member_is_number = c[7] == "number";
  }
  return out;
}

std::int64_t find_member(std::int64_t workspace, const ParsedHints &hints) {
  if (!hints.member) return 0;
  std::vector<TextRow> rows;
  if (hints.member_is_number) {
    char *end = nullptr;
    const long long id = std::strtoll(hints.member->c_str(), &end, 10);
    if (end == nullptr || *end != '\0')
      throw Error("22023", "hint \"member\" must be a whole number or an address");
    static SPIPlanPtr plan = nullptr;
    static const Oid types[2] = {INT8OID, INT8OID};
    Datum args[2] = {Int64GetDatum(workspace), Int64GetDatum(id)};
    rows = text_rows_kept(&plan,
                          "SELECT m.id, m.workspace_id FROM crm.member m "
                          "WHERE m.workspace_id = $1 AND m.id = $2",
                          2, types, args, true);
  } else {
    static SPIPlanPtr plan = nullptr;
    static const Oid types[2] = {INT8OID, TEXTOID};
    const std::string address = *hints.member;
    Datum args[2] = {Int64GetDatum(workspace), 0};
    args[1] = pg_call([&] {
      return PointerGetDatum(
          cstring_to_text_with_len(address.data(), static_cast<int>(address.size())));
    });
    rows = text_rows_kept(&plan,
                          "SELECT a.member_id, a.workspace_id FROM crm.record_address a "
                          "WHERE a.workspace_id = $1 AND a.address = crm.normalize_address($2) "
                          "AND a.member_id IS NOT NULL ORDER BY a.member_id LIMIT 1",
                          2, types, args, true);
  }
  if (rows.empty())
    throw Error("22023", "hint \"member\" is no member of this workspace",
                "member is " + excerpt(*hints.member),
                "give a crm.member id or one of its addresses");
  return rows[0].id;
}

std::vector<std::int64_t> profile_keys(match::RecordKind kind, const match::RawRecord &raw,
                                       std::int64_t workspace, const std::string &region) {
  const match::Profile profile = match::build_profile(kind, raw, region);
  return match::blocking_keys(kind, profile, workspace, double_metaphone);
}

std::vector<std::string> mention_domains(const resolve::Mention &m) {
  std::vector<std::string> domains = m.domains;
  domains.insert(domains.end(), m.email_domains.begin(), m.email_domains.end());
  return domains;
}

// The keys of companies holding the name, one of the domains or one of the phones: a profile a
// domain or phone (a company has one of each), the name on the first.
std::vector<std::int64_t> company_profile_keys(const std::string &name,
                                               const std::vector<std::string> &domains,
                                               const std::vector<std::string> &phones,
                                               std::int64_t workspace, const std::string &region) {
  std::vector<std::int64_t> keys;
  const std::size_t profiles = std::max({std::size_t(1), domains.size(), phones.size()});
  for (std::size_t i = 0; i < profiles; ++i) {
    match::RawRecord raw;
    raw.columns.resize(match::source_columns(match::RecordKind::Company).size());
    if (i == 0 && !name.empty()) raw.columns[0] = name;
    if (i < domains.size()) raw.columns[1] = domains[i];
    if (i < phones.size()) raw.columns[2] = phones[i];
    for (std::int64_t k : profile_keys(match::RecordKind::Company, raw, workspace, region))
      keys.push_back(k);
  }
  return keys;
}

// The keys a record holding the mention's values would have: the keys of the records the mention
// names exactly (an address, a phone, a domain, a name with its nicknames and sounds).
std::vector<std::int64_t> mention_keys(const resolve::Mention &m, std::int64_t workspace,
                                       const std::vector<Kind> &kinds, const std::string &region) {
  std::vector<std::int64_t> keys;
  if (std::find(kinds.begin(), kinds.end(), Kind::Person) != kinds.end()) {
    // One person with every address, then one a further phone.
    std::vector<match::RawRecord> people(std::max<std::size_t>(1, m.phones.size()));
    for (match::RawRecord &raw : people)
      raw.columns.resize(match::source_columns(match::RecordKind::Person).size());
    if (!m.first_name.empty()) people[0].columns[0] = m.first_name;
    if (!m.last_name.empty()) people[0].columns[1] = m.last_name;
    if (!m.emails.empty()) people[0].columns[2] = m.emails[0];
    people[0].extra_emails.assign(m.emails.begin() + std::min<std::size_t>(1, m.emails.size()),
                                  m.emails.end());
    for (std::size_t i = 0; i < m.phones.size(); ++i) people[i].columns[3] = m.phones[i];
    for (const match::RawRecord &raw : people)
      for (std::int64_t k : profile_keys(match::RecordKind::Person, raw, workspace, region))
        keys.push_back(k);
  }
  if (std::find(kinds.begin(), kinds.end(), Kind::Company) != kinds.end())
    for (std::int64_t k :
         company_profile_keys(m.company_name, mention_domains(m), m.phones, workspace, region))
      keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

// The keys of the companies the mention names exactly, by its company part's name or one of its
// domains: their people and deals are the ones the mention may name.
std::vector<std::int64_t> company_keys(const resolve::Mention &m, std::int64_t workspace,
                                       const std::string &region) {
  return company_profile_keys(m.company_name, mention_domains(m), {}, workspace, region);
}

Datum text_datum(const std::string &s) {
  return pg_call([&] {
    return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
  });
}

Datum texts_datum(const std::vector<std::string> &values) {
  std::vector<std::string_view> views(values.begin(), values.end());
  return pg_call([&] { return text_array(views); });
}

Datum ids_datum(const std::vector<std::int64_t> &ids) {
  return pg_call([&] { return int8_array(ids.data(), static_cast<int>(ids.size())); });
}

bool contains(const std::vector<Kind> &kinds, Kind kind) {
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

std::vector<std::string> kind_names(const std::vector<Kind> &kinds) {
  std::vector<std::string> out;
  for (Kind k : kinds) out.emplace_back(kind_name(k));
  return out;
}

using Found = std::set<std::pair<Kind, std::int64_t>>;

Found found_rows(const std::vector<TextRow> &rows) {
  Found found;
  for (const TextRow &row : rows) found.insert({resolve_kind(need(row.columns[0])), row.id});
  return found;
}

Found exact_lookups(const Resolution &r, const std::vector<Kind> &kinds,
                    const std::vector<std::int64_t> &keys,
                    const std::vector<std::int64_t> &companies, bool people_of_companies) {
  static SPIPlanPtr plan = nullptr;
  static const Oid types[7] = {INT8OID,      TEXTARRAYOID, INT8ARRAYOID, TEXTOID,
                               INT8ARRAYOID, BOOLOID,      INT4OID};
  const resolve::Mention &m = r.mention;
  Datum args[7] = {
      Int64GetDatum(r.workspace), texts_datum(kind_names(kinds)), ids_datum(keys),
      text_datum(m.person_name),  ids_datum(companies),           BoolGetDatum(people_of_companies),
      Int32GetDatum(kProbeRows)};
  return found_rows(text_rows_kept(&plan,
                                   "SELECT f.record_id, 0::bigint, f.kind "
                                   "FROM crm._resolve_exact($1, $2, $3, $4, $5, $6, $7) f",
                                   7, types, args, true));
}

Found person_name_lookups(const Resolution &r) {
  static SPIPlanPtr plan = nullptr;
  static const Oid types[3] = {INT8OID, TEXTOID, INT4OID};
  Datum args[3] = {Int64GetDatum(r.workspace), text_datum(r.mention.person_name),
                   Int32GetDatum(kProbeRows)};
  return found_rows(text_rows_kept(&plan,
                                   "SELECT f.record_id, 0::bigint, f.kind "
                                   "FROM crm._resolve_person_names($1, $2, $3) f",
                                   3, types, args, true));
}

Found fuzzy_lookups(const Resolution &r, const std::vector<Kind> &kinds) {
  static SPIPlanPtr plan = nullptr;
  static const Oid types[7] = {INT8OID, TEXTARRAYOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID};
  const resolve::Mention &m = r.mention;
  const std::string people_company = m.about_person ? m.company_name : std::string();
  Datum args[7] = {Int64GetDatum(r.workspace), texts_datum(kind_names(kinds)),
                   text_datum(m.person_name),  text_datum(m.company_name),
                   text_datum(people_company), text_datum(m.deal_name),
                   Int32GetDatum(kProbeRows)};
  return found_rows(text_rows_kept(&plan,
                                   "SELECT f.record_id, 0::bigint, f.kind "
                                   "FROM crm._resolve_fuzzy($1, $2, $3, $4, $5, $6, $7) f",
                                   7, types, args, true));
}

double number(const std::optional<std::string> &v, double otherwise) {
  return v ? std::strtod(v->c_str(), nullptr) : otherwise;
}

bool truth(const std::optional<std::string> &v) {
  return v && (*v == "true" || *v == "t");
}

// The text evidence of these records of one kind.
std::vector<Evidence> text_evidence(const Resolution &r, Kind kind,
                                    const std::vector<std::int64_t> &ids) {
  if (ids.empty()) return {};
  const resolve::Mention &m = r.mention;
  std::vector<TextRow> rows;
  constexpr const char *kColumns =
      "SELECT e.record_id, 0::bigint, e.name::text, e.nickname::text, e.email::text, "
      "e.phone::text, e.domain::text, e.email_domain::text, e.company::text FROM ";
  if (kind == Kind::Person) {
    static SPIPlanPtr plan = nullptr;
    static const Oid types[10] = {INT8OID, INT8ARRAYOID, TEXTOID,      TEXTARRAYOID, TEXTOID,
                                  TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
    std::vector<std::string> forms;
    if (!m.first_name.empty() || !m.person_name.empty())
      forms = match::given_name_forms(m.first_name.empty() ? m.person_name : m.first_name);
    const std::string company = m.about_person ? m.company_name : std::string();
    Datum args[10] = {Int64GetDatum(r.workspace), ids_datum(ids),
                      text_datum(m.person_name),  texts_datum(forms),
                      text_datum(m.last_name),    text_datum(company),
                      texts_datum(m.emails),      texts_datum(m.phones),
                      texts_datum(m.domains),     texts_datum(m.email_domains)};
    const std::string sql = std::string(kColumns).replace(std::string(kColumns).find(" FROM "), 6,
                                                          ", e.profile_name FROM ") +
                            "crm._resolve_people($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) e";
    rows = text_rows_kept(&plan, sql.c_str(), 10, types, args, true);
  } else if (kind == Kind::Company) {
    static SPIPlanPtr plan = nullptr;
    static const Oid types[6] = {INT8OID,      INT8ARRAYOID, TEXTOID,
                                 TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
    Datum args[6] = {Int64GetDatum(r.workspace), ids_datum(ids),
                     text_datum(m.company_name), texts_datum(m.phones),
                     texts_datum(m.domains),     texts_datum(m.email_domains)};
    const std::string sql =
        std::string(kColumns) + "crm._resolve_companies($1, $2, $3, $4, $5, $6) e";
    rows = text_rows_kept(&plan, sql.c_str(), 6, types, args, true);
  } else {
    static SPIPlanPtr plan = nullptr;
    static const Oid types[6] = {INT8OID, INT8ARRAYOID, TEXTOID,
                                 TEXTOID, TEXTARRAYOID, TEXTARRAYOID};
    Datum args[6] = {Int64GetDatum(r.workspace), ids_datum(ids),
                     text_datum(m.deal_name),    text_datum(m.company_name),
                     texts_datum(m.domains),     texts_datum(m.email_domains)};
    const std::string sql = std::string(kColumns) + "crm._resolve_deals($1, $2, $3, $4, $5, $6) e";
    rows = text_rows_kept(&plan, sql.c_str(), 6, types, args, true);
  }
  std::vector<Evidence> out;
  for (const TextRow &row : rows) {
    Evidence e;
    e.kind = kind;
    e.record_id = row.id;
    e.name = number(row.columns[0], -1);
    // A misspelt name ("Spepelt" for "Seppelt") shares few trigrams: compared letter by letter.
    if (kind == Kind::Person && e.name >= 0 && row.columns.size() > 7 && row.columns[7])
      e.name = std::max(e.name, resolve::letter_similarity(m.person_name, *row.columns[7]));
    e.nickname = truth(row.columns[1]);
    e.email = truth(row.columns[2]);
    e.phone = truth(row.columns[3]);
    e.domain = truth(row.columns[4]);
    e.email_domain = truth(row.columns[5]);
    e.company = number(row.columns[6], -1);
    e.about_person = m.about_person;
    out.push_back(e);
  }
  return out;
}

// Adds the context of these scored records, in place.
void add_context(const Resolution &r, std::vector<Scored *> &scored) {
  std::map<Kind, std::vector<std::int64_t>> ids;
  for (const Scored *s : scored) ids[s->evidence.kind].push_back(s->evidence.record_id);
  std::map<std::pair<Kind, std::int64_t>, const TextRow *> by_record;
  std::vector<std::vector<TextRow>> results;
  for (const auto &[kind, kind_ids] : ids) {
    static SPIPlanPtr plan = nullptr;
    static const Oid types[3] = {TEXTOID, INT8ARRAYOID, INT8OID};
    Datum args[3] = {text_datum(kind_name(kind)), ids_datum(kind_ids), Int64GetDatum(r.member)};
    results.push_back(text_rows_kept(
        &plan,
        "SELECT c.record_id, 0::bigint, c.days::text, c.strength::text, c.open_deals::text, "
        "c.owned::text FROM crm._resolve_context($1, $2, $3) c",
        3, types, args, true));
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Kind kind = std::next(ids.begin(), static_cast<long>(i))->first;
    for (const TextRow &row : results[i]) by_record[{kind, row.id}] = &row;
  }
  for (Scored *s : scored) {
    auto it = by_record.find({s->evidence.kind, s->evidence.record_id});
    if (it == by_record.end()) continue;
    const TextRow &row = *it->second;
    Evidence e = s->evidence;
    if (row.columns[0]) e.days_since_interaction = number(row.columns[0], 0);
    e.strength = number(row.columns[1], 0);
    e.open_deals = static_cast<std::int64_t>(number(row.columns[2], 0));
    e.owned = truth(row.columns[3]);
    *s = resolve::score(e);
  }
}

}  // namespace

resolve::Kind resolve_kind(std::string_view text) {
  if (text == "person") return Kind::Person;
  if (text == "company") return Kind::Company;
  if (text == "deal") return Kind::Deal;
  throw Error("22023", "unknown record kind \"" + std::string(utf8_prefix(text, 64)) + "\"", "",
              "use 'person', 'company' or 'deal'");
}

const char *kind_name(resolve::Kind kind) {
  switch (kind) {
    case Kind::Person:
      return "person";
    case Kind::Company:
      return "company";
    case Kind::Deal:
      break;
  }
  return "deal";
}

namespace {

// Scores the text evidence of these records.
void score_found(const Resolution &r, const std::vector<Kind> &kinds, const Found &found,
                 std::vector<Scored> &scored) {
  for (Kind kind : {Kind::Person, Kind::Company, Kind::Deal}) {
    if (!contains(kinds, kind)) continue;
    std::vector<std::int64_t> ids;
    for (const auto &[k, id] : found)
      if (k == kind) ids.push_back(id);
    for (const Evidence &e : text_evidence(r, kind, ids)) scored.push_back(resolve::score(e));
  }
}

}  // namespace

Resolution resolve_mention(const ResolveRequest &request, std::size_t max_results) {
  use_installed_reference_data();
  Resolution r;
  r.workspace = pg_call([] { return session_workspace(); });
  const ParsedHints hints = read_hints(request.hints);
  r.member = find_member(r.workspace, hints);
  const std::string region =
      load_settings(match::RecordKind::Person, {r.workspace}).at(0).model.default_region;
  r.mention = resolve::parse_mention(request.mention, hints.hints, region);
  if (r.mention.empty()) return r;
  pg_call([] { prepare_phonetic(); });
  const std::vector<std::int64_t> keys =
      mention_keys(r.mention, r.workspace, request.kinds, region);
  const resolve::Mention &m = r.mention;
  const bool people_of_companies = m.about_person || !m.domains.empty() || !m.email_domains.empty();
  r.found = exact_lookups(r, request.kinds, keys, company_keys(m, r.workspace, region),
                          people_of_companies);
  std::vector<Scored> scored;
  score_found(r, request.kinds, r.found, scored);

  // Then names alike, only while nothing convinces: each step searches more of the workspace.
  auto convinced = [&scored] {
    return std::any_of(scored.begin(), scored.end(),
                       [](const Scored &s) { return s.text >= resolve::kConvincingText; });
  };
  auto add = [&](const Found &more) {
    Found fresh;
    for (const auto &f : more)
      if (r.found.insert(f).second) fresh.insert(f);
    score_found(r, request.kinds, fresh, scored);
  };
  const bool people = contains(request.kinds, Kind::Person);
  if (!convinced()) {
    r.fuzzy_ran = true;
    add(fuzzy_lookups(r, request.kinds));
  }
  // The last resort: every full name of the workspace by trigrams ("Gruber", "Jon Smtih"); not a
  // single given name at a company ("bob at acme": Acme's people were searched above).
  if (!convinced() && people && !m.person_name.empty() &&
      (!m.about_person || m.person_name.find(' ') != std::string::npos)) {
    r.names_searched = true;
    add(person_name_lookups(r));
  }

  std::sort(scored.begin(), scored.end(),
            [](const Scored &a, const Scored &b) { return a.text > b.text; });
  std::vector<Scored *> contending;
  const std::size_t n = resolve::contenders(scored, max_results);
  for (std::size_t i = 0; i < n; ++i) contending.push_back(&scored[i]);
  add_context(r, contending);
  r.ranked = resolve::rank(std::move(scored), std::numeric_limits<std::size_t>::max());
  return r;
}

resolve::Scored score_record(const Resolution &r, Kind kind, std::int64_t id, bool &exists) {
  std::vector<Evidence> evidence = text_evidence(r, kind, {id});
  exists = !evidence.empty();
  Scored s = resolve::score(exists ? evidence[0] : Evidence{kind, id});
  if (exists) {
    std::vector<Scored *> one{&s};
    add_context(r, one);
  }
  return s;
}

}  // namespace crm::pg

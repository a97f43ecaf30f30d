#include "pg/records/participant_relink.hpp"

#include <algorithm>
#include <exception>
#include <string>
#include <unordered_set>

#include "pg/records/address_claims.hpp"
#include "pg/common/guard.hpp"
#include "pg/records/resolution_cache.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "utils/resowner.h"
}

namespace crm::pg {
namespace {

// Runs body in a subtransaction of its own: kept when body returns true, rolled back (with every
// lock and claim taken in it) when it returns false or throws. C++ phase.
template <typename Body>
bool in_subtransaction(Body &&body) {
  MemoryContext context = CurrentMemoryContext;
  ResourceOwner owner = CurrentResourceOwner;
  const auto end = [&](bool keep) {
    pg_call([&] {
      if (keep)
        ReleaseCurrentSubTransaction();
      else
        RollbackAndReleaseCurrentSubTransaction();
      MemoryContextSwitchTo(context);
      CurrentResourceOwner = owner;
    });
  };
  pg_call([&] {
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(context);  // results outlive the subtransaction
  });
  // The rollback runs after the catch block has ended: nothing calls Postgres inside a handler.
  bool keep = false;
  std::exception_ptr failure;
  try {
    keep = body();
  } catch (...) {
    failure = std::current_exception();
  }
  end(keep && !failure);
  if (failure) std::rethrow_exception(failure);
  return keep;
}

// The stripes of the addresses and of their domains, as participant writers claim them
// (resolution_trigger.cpp: the address, and "@domain"), sorted and distinct. The domains of the
// addresses too: a participant that loses its person or member falls back to the company owning
// its domain, and a concurrent change of that company's domain (which claims only the domain)
// must wait for this relink, or this relink for it. Without it, a person leaving two addresses
// linked 56 participants to a company whose domain had just changed (test/load/mixed_records.sh).
std::vector<std::uint32_t> stripes_of(const RelinkRequest &r) {
  std::vector<records::WorkspaceAddress> domains = r.domains;
  for (const records::WorkspaceAddress &a : r.addresses)
    if (auto d = records::address_domain(a.address))
      domains.push_back({a.workspace, std::string(*d)});
  std::vector<std::uint32_t> stripes;
  for (const records::WorkspaceAddress &a : r.addresses)
    stripes.push_back(address_stripe(a.workspace, a.address));
  for (const records::WorkspaceAddress &d : domains)
    stripes.push_back(domain_stripe(d.workspace, d.address));
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  return stripes;
}

struct Arrays {
  std::vector<std::int64_t> address_ws, domain_ws;
  std::vector<std::string_view> addresses, domains;
};

Arrays arrays_of(const RelinkRequest &r) {
  Arrays a;
  for (const auto &x : r.addresses) {
    a.address_ws.push_back(x.workspace);
    a.addresses.push_back(x.address);
  }
  for (const auto &x : r.domains) {
    a.domain_ws.push_back(x.workspace);
    a.domains.push_back(x.address);
  }
  return a;
}

Datum ids_datum(const std::vector<std::int64_t> &v) {
  return int8_array(v.data(), static_cast<int>(v.size()));
}

// The participants the request can affect. Every arm is an index probe, so the generic plan
// stays good as tables grow. LATERAL ... OFFSET 0: one probe per address or domain on every
// column of its index, whatever the statistics (a join let a plan made in a freshly loaded
// database probe the workspace alone and read every unlinked participant).
constexpr const char *kCandidates =
    "SELECT p.id, p.workspace_id, p.address, p.member_id, p.person_id, p.company_id "
    "FROM crm.participant p WHERE p.id = ANY (ARRAY("
    "  SELECT p.id FROM unnest($1::int8[], $2::text[]) AS a (ws, address)"
    "    CROSS JOIN LATERAL (SELECT p.id FROM crm.participant p"
    "                        WHERE p.workspace_id = a.ws AND p.address = a.address OFFSET 0) p"
    "  UNION"
    "  SELECT p.id FROM unnest($3::int8[], $4::text[]) AS d (ws, domain)"
    "    CROSS JOIN LATERAL (SELECT p.id FROM crm.participant p"
    "                        WHERE p.workspace_id = d.ws AND crm.address_domain(p.address) = "
    "d.domain"
    "                          AND p.person_id IS NULL AND p.member_id IS NULL OFFSET 0) p"
    "  UNION SELECT p.id FROM crm.participant p WHERE p.person_id = ANY ($5)"
    "  UNION SELECT p.id FROM crm.participant p WHERE p.member_id = ANY ($6)"
    "  UNION SELECT p.id FROM crm.participant p WHERE p.company_id = ANY ($7)))";

struct Candidate {
  std::int64_t id, workspace, member, person, company;
  bool has_company;
  char *address;  // palloc'd in the caller's context
};

// The ids of the candidates whose links change.
std::vector<std::int64_t> participants_to_relink(const RelinkRequest &r, const Arrays &a) {
  static SPIPlanPtr plan = nullptr;
  const std::size_t n = pg_call([&] {
    static const Oid types[7] = {INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
                                 INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
    SPIPlanPtr p = kept_plan(&plan, kCandidates, 7, types);
    const Datum args[7] = {ids_datum(a.address_ws), text_array(a.addresses), ids_datum(a.domain_ws),
                           text_array(a.domains),   ids_datum(r.persons),    ids_datum(r.members),
                           ids_datum(r.companies)};
    execute_plan(p, args, nullptr, false, SPI_OK_SELECT);
    return static_cast<std::size_t>(SPI_processed);
  });
  std::vector<Candidate> rows(n);
  std::vector<char> changes(n, 0);
  pg_call([&] {
    for (std::size_t i = 0; i < n; ++i) {
      HeapTuple t = SPI_tuptable->vals[i];
      TupleDesc d = SPI_tuptable->tupdesc;
      bool null = false;
      Candidate &c = rows[i];
      c.id = DatumGetInt64(SPI_getbinval(t, d, 1, &null));
      c.workspace = DatumGetInt64(SPI_getbinval(t, d, 2, &null));
      c.address = TextDatumGetCString(SPI_getbinval(t, d, 3, &null));
      Datum v = SPI_getbinval(t, d, 4, &null);
      c.member = null ? 0 : DatumGetInt64(v);
      v = SPI_getbinval(t, d, 5, &null);
      c.person = null ? 0 : DatumGetInt64(v);
      v = SPI_getbinval(t, d, 6, &null);
      c.has_company = !null;
      c.company = null ? 0 : DatumGetInt64(v);
    }
    // Resolving runs SPI itself: only after the candidates are copied out.
    for (std::size_t i = 0; i < n; ++i) {
      CHECK_FOR_INTERRUPTS();
      const Candidate &c = rows[i];
      changes[i] =
          link_changes(c.workspace, c.address, c.member, c.person, c.has_company, c.company);
    }
  });
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < n; ++i)
    if (changes[i]) ids.push_back(rows[i].id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The ids another transaction is writing now (their row locks are taken, SKIP LOCKED); the rest
// are locked by this (sub)transaction.
std::vector<std::int64_t> busy_rows(const std::vector<std::int64_t> &ids) {
  static SPIPlanPtr plan = nullptr;
  std::vector<std::int64_t> locked(ids.size());
  const std::size_t n = pg_call([&] {
    static const Oid types[1] = {INT8ARRAYOID};
    SPIPlanPtr p = kept_plan(&plan,
                             "SELECT p.id FROM crm.participant p WHERE p.id = ANY ($1) "
                             "FOR NO KEY UPDATE SKIP LOCKED",
                             1, types);
    const Datum args[1] = {ids_datum(ids)};
    execute_plan(p, args, nullptr, false, SPI_OK_SELECT);
    std::size_t k = 0;
    for (uint64 i = 0; i < SPI_processed && k < locked.size(); ++i) {
      bool null = false;
      locked[k++] =
          DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &null));
    }
    return k;
  });
  const std::unordered_set<std::int64_t> got(locked.begin(), locked.begin() + n);
  std::vector<std::int64_t> busy;
  for (std::int64_t id : ids)
    if (!got.count(id)) busy.push_back(id);
  return busy;
}

// The relink itself: one UPDATE; the participant triggers re-resolve the rows and fold the
// difference. A row whose resolution no longer changes once locked is left alone.
void touch(const std::vector<std::int64_t> &ids) {
  static SPIPlanPtr plan = nullptr;
  pg_call([&] {
    static const Oid types[1] = {INT8ARRAYOID};
    SPIPlanPtr p = kept_plan(&plan,
                             "UPDATE crm.participant p SET address = p.address "
                             "WHERE p.id = ANY ($1) AND crm._link_changes(p)",
                             1, types);
    const Datum args[1] = {ids_datum(ids)};
    execute_plan(p, args, nullptr, false, SPI_OK_UPDATE);
  });
}

void wait_for(const std::vector<std::int64_t> &busy) {
  static SPIPlanPtr plan = nullptr;
  pg_call([&] {
    static const Oid types[1] = {INT8ARRAYOID};
    SPIPlanPtr p =
        kept_plan(&plan, "SELECT FROM crm.participant p WHERE p.id = ANY ($1) FOR SHARE", 1, types);
    const Datum args[1] = {ids_datum(busy)};
    execute_plan(p, args, nullptr, false, SPI_OK_SELECT);
  });
}

}  // namespace

void relink_participants(const RelinkRequest &request) {
  if (request.addresses.empty() && request.domains.empty() && request.persons.empty() &&
      request.members.empty() && request.companies.empty())
    return;
  const std::vector<std::uint32_t> stripes = stripes_of(request);
  const Arrays arrays = arrays_of(request);
  // Ends when the rows to relink are all free: each turn waits for the busy ones first, and a
  // cancel or statement_timeout ends the wait.
  for (;;) {
    std::vector<std::int64_t> busy;
    const bool done = in_subtransaction([&] {
      pg_call([&] { claim_record_stripes(stripes.data(), static_cast<int>(stripes.size())); });
      const std::vector<std::int64_t> ids = participants_to_relink(request, arrays);
      if (ids.empty()) return true;
      busy = busy_rows(ids);
      if (!busy.empty()) return false;  // let go of every claim and lock of this turn
      touch(ids);
      return true;
    });
    if (done) return;
    // Wait for the busy rows' writers to finish, holding nothing of this statement (not even a
    // lock on those rows: the subtransaction is rolled back), then claim and read everything again.
    in_subtransaction([&] {
      wait_for(busy);
      return false;
    });
    pg_call([] { CHECK_FOR_INTERRUPTS(); });
  }
}

}  // namespace crm::pg

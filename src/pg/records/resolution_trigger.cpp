// BEFORE INSERT OR UPDATE on crm.participant: validates the address, stores it in canonical form,
// and links the row to its member, person and company. Also crm._link_changes, which crm._relink
// asks of the rows a record change may relink.
//
// A bulk import meets the same addresses again and again, so resolutions are cached for the
// current statement. The cache is dropped when the statement's AFTER trigger runs, when a record
// claims addresses (crm._claim_addresses), and in every new (sub)transaction.
#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "core/activity/address.hpp"
#include "pg/records/address_claims.hpp"
#include "pg/common/guard.hpp"
#include "pg/records/resolution_cache.hpp"
#include "pg/common/spi.hpp"
#include "pg/common/restore_mode.hpp"

extern "C" {
#include "common/hashfn.h"
#include "executor/executor.h"
PG_FUNCTION_INFO_V1(crm_participant_resolve);
PG_FUNCTION_INFO_V1(crm_claim_addresses);
PG_FUNCTION_INFO_V1(crm_claim_record_addresses);
PG_FUNCTION_INFO_V1(crm_link_changes);
PG_FUNCTION_INFO_V1(crm_resolve_participant);
}

namespace crm::pg {
namespace {

struct Resolution {
  std::uint64_t key;  // hash of the inputs; inputs are compared too
  std::int64_t workspace_id, given_person, given_member;
  bool strict;
  char *address;  // in the cache's memory context
  bool has_member, has_person, has_company;
  std::int64_t member_id, person_id, company_id;
};

// The cache and its strings live in cache_context, a child of the (sub)transaction's context:
// gone with it, and deleted by resolution_cache_reset().
HTAB *cache = nullptr;
MemoryContext cache_context = nullptr;
LocalTransactionId cache_xact = InvalidLocalTransactionId;
SubTransactionId cache_subxact = InvalidSubTransactionId;
SPIPlanPtr address_plan = nullptr;

bool cache_is_current() {
  return cache != nullptr && cache_xact == MyProc->lxid &&
         cache_subxact == GetCurrentSubTransactionId();
}

HTAB *current_cache() {
  if (!cache_is_current()) {
    cache_context = AllocSetContextCreate(CurTransactionContext, "crm_hygiene address resolutions",
                                          ALLOCSET_DEFAULT_SIZES);
    HASHCTL ctl;
    ctl.keysize = sizeof(std::uint64_t);
    ctl.entrysize = sizeof(Resolution);
    ctl.hcxt = cache_context;
    cache = hash_create("crm_hygiene address resolutions", 256, &ctl,
                        HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
    cache_xact = MyProc->lxid;
    cache_subxact = GetCurrentSubTransactionId();
  }
  return cache;
}

std::uint64_t input_key(std::int64_t ws, std::string_view address, std::int64_t person,
                        std::int64_t member, bool strict) {
  std::uint64_t h = hash_bytes_extended(reinterpret_cast<const unsigned char *>(address.data()),
                                        static_cast<int>(address.size()), static_cast<uint64>(ws));
  const std::int64_t rest[3] = {person, member, strict ? 1 : 0};
  return hash_bytes_extended(reinterpret_cast<const unsigned char *>(rest), sizeof rest, h);
}

SPIPlanPtr member_plan = nullptr, member_locking_plan = nullptr;
SPIPlanPtr person_plan = nullptr, person_locking_plan = nullptr;

bool int8_result(int column, std::int64_t *out) {
  bool isnull = false;
  const Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, column, &isnull);
  if (!isnull) *out = DatumGetInt64(d);
  return !isnull;
}

// An address that resolves wins; otherwise the ids the row carries are kept (links are sticky: a
// person who changes address keeps past activity). Ids the application has just written (strict)
// must exist in the participant's workspace and are locked until commit; ids carried over from
// before are dropped quietly once their record is gone, and need no lock: they are on a
// participant row that already exists, and every change of a record that could drop or move them
// (its deletion, its company) relinks that row by UPDATE, so the row lock orders the two writers.
// (Locking the record here, from a relink that holds address claims, would wait for a record
// writer that waits for those claims.) Postgres phase.
void resolve_uncached(Resolution &r, std::string_view address) {
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  Datum address_text = PointerGetDatum(cstring_to_text_with_len(address.data(), address.size()));
  static const Oid address_types[2] = {INT8OID, TEXTOID};
  SPIPlanPtr plan = kept_plan(
      &address_plan, "SELECT member_id, person_id, company_id FROM crm._resolve_address($1, $2)", 2,
      address_types);
  const Datum address_args[2] = {Int64GetDatum(r.workspace_id), address_text};
  execute_plan(plan, address_args, nullptr, false, SPI_OK_SELECT);
  if (SPI_processed != 1) elog(ERROR, "crm_hygiene: address resolution returned no row");
  r.has_member = int8_result(1, &r.member_id);
  r.has_person = int8_result(2, &r.person_id);
  r.has_company = int8_result(3, &r.company_id);
  if (r.has_member || r.has_person) {
    SPI_finish();
    return;
  }
  static const Oid id_types[2] = {INT8OID, INT8OID};
  if (r.given_member != 0) {
    // KEY SHARE: the member may change, but not go, until this transaction ends.
    plan = r.strict ? kept_plan(&member_locking_plan,
                                "SELECT FROM crm.member x WHERE x.id = $1 AND x.workspace_id = $2 "
                                "FOR KEY SHARE",
                                2, id_types)
                    : kept_plan(&member_plan,
                                "SELECT FROM crm.member x WHERE x.id = $1 AND x.workspace_id = $2",
                                2, id_types);
    const Datum args[2] = {Int64GetDatum(r.given_member), Int64GetDatum(r.workspace_id)};
    execute_plan(plan, args, nullptr, false, SPI_OK_SELECT);
    if (SPI_processed > 0) {
      r.member_id = r.given_member;
      r.has_member = true;
      r.has_company = false;
      SPI_finish();
      return;
    }
    if (r.strict)
      ereport(ERROR, (errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
                      errmsg("member %lld does not exist in workspace %lld",
                             static_cast<long long>(r.given_member),
                             static_cast<long long>(r.workspace_id)),
                      errdetail("participant address %s",
                                quote_literal_cstr(pnstrdup(address.data(), address.size())))));
  }
  if (r.given_person != 0) {
    // FOR SHARE, not KEY SHARE: it waits for a concurrent change of the person's company and
    // reads the committed one, which that change's relink could not see here.
    // A tombstone's id stands for the record it was merged into (crm.merge keeps merged_into
    // pointing at a live record), so ids other systems hold keep linking activity.
#define CRM_GIVEN_PERSON                                                                      \
  "SELECT x.id, x.company_id FROM crm.person x WHERE x.id = (SELECT coalesce(t.merged_into, " \
  "t.id) FROM crm.person t WHERE t.id = $1 AND t.workspace_id = $2) AND x.workspace_id = $2 " \
  "AND x.merged_into IS NULL"
    plan = r.strict ? kept_plan(&person_locking_plan, CRM_GIVEN_PERSON " FOR SHARE", 2, id_types)
                    : kept_plan(&person_plan, CRM_GIVEN_PERSON, 2, id_types);
#undef CRM_GIVEN_PERSON
    const Datum args[2] = {Int64GetDatum(r.given_person), Int64GetDatum(r.workspace_id)};
    execute_plan(plan, args, nullptr, false, SPI_OK_SELECT);
    // A merge committed while this waited for the person's lock: the row it locked is a tombstone
    // now. Once more, with a new snapshot, finds the survivor.
    if (SPI_processed == 0 && r.strict) execute_plan(plan, args, nullptr, false, SPI_OK_SELECT);
    if (SPI_processed > 0) {
      int8_result(1, &r.person_id);
      r.has_person = true;
      r.has_company = int8_result(2, &r.company_id);
    } else if (r.strict) {
      ereport(ERROR, (errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
                      errmsg("person %lld does not exist in workspace %lld",
                             static_cast<long long>(r.given_person),
                             static_cast<long long>(r.workspace_id)),
                      errdetail("participant address %s",
                                quote_literal_cstr(pnstrdup(address.data(), address.size())))));
    }
  }
  SPI_finish();
}

// claim: take the shared claims on the address first. A row whose address is not new needs none:
// a relink that could change it updates that very row, and the row lock orders the two.
const Resolution &resolve(std::int64_t ws, std::string_view address, std::int64_t person,
                          std::int64_t member, bool strict, bool claim) {
  // Claimed on every use, cached or not: the claim is what keeps the cached answer true until
  // commit (the lock manager is asked once per stripe and transaction).
  if (claim) {
    // The address's stripe and its domain's, lower first, as record writers take them.
    std::uint32_t first = address_stripe(ws, address), second = first;
    const auto at = address.rfind('@');
    if (at != std::string_view::npos) second = address_stripe(ws, address.substr(at));
    if (second < first) std::swap(first, second);
    claim_stripe(first, false);
    if (second != first) claim_stripe(second, false);
  }
  HTAB *table = current_cache();
  const std::uint64_t key = input_key(ws, address, person, member, strict);
  bool found = false;
  auto *entry = static_cast<Resolution *>(hash_search(table, &key, HASH_ENTER, &found));
  if (found && entry->workspace_id == ws && entry->given_person == person &&
      entry->given_member == member && entry->strict == strict &&
      std::strlen(entry->address) == address.size() &&
      std::memcmp(entry->address, address.data(), address.size()) == 0)
    return *entry;
  // New, or a hash collision: (re)fill the slot.
  entry->key = key;
  entry->workspace_id = ws;
  entry->given_person = person;
  entry->given_member = member;
  entry->strict = strict;
  entry->address = static_cast<char *>(MemoryContextAlloc(cache_context, address.size() + 1));
  std::memcpy(entry->address, address.data(), address.size());
  entry->address[address.size()] = '\0';
  entry->has_member = entry->has_person = entry->has_company = false;
  resolve_uncached(*entry, address);
  return *entry;
}

std::int64_t int8_column(HeapTuple tuple, TupleDesc desc, int attnum) {
  bool isnull = false;
  const Datum d = heap_getattr(tuple, attnum, desc, &isnull);
  return isnull ? 0 : DatumGetInt64(d);
}

}  // namespace

bool link_changes(std::int64_t workspace, std::string_view address, std::int64_t member,
                  std::int64_t person, bool has_company, std::int64_t company) {
  const Resolution &r = resolve(workspace, address, person, member, false, false);
  const bool same = r.has_member == (member != 0) && (member == 0 || r.member_id == member) &&
                    r.has_person == (person != 0) && (person == 0 || r.person_id == person) &&
                    r.has_company == has_company && (!has_company || r.company_id == company);
  return !same;
}

void claim_record_stripes(const std::uint32_t *stripes, int count) {
  claim_stripes_exclusive(stripes, count);
  resolution_cache_reset();
}

void resolution_cache_reset() {
  // A cache of an ended (sub)transaction went with its memory; only a live one is deleted.
  if (cache_is_current()) MemoryContextDelete(cache_context);
  cache = nullptr;
  cache_context = nullptr;
}

}  // namespace crm::pg

using namespace crm::pg;

extern "C" PGDLLEXPORT Datum crm_participant_resolve(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo)) elog(ERROR, "crm_participant_resolve: not called as a trigger");
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
    elog(ERROR, "crm_participant_resolve: must fire BEFORE ... FOR EACH ROW");
  const bool update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
  HeapTuple tuple = update ? td->tg_newtuple : td->tg_trigtuple;
  if (restoring()) return PointerGetDatum(tuple);  // links as dumped
  TupleDesc desc = td->tg_relation->rd_att;

  // Read.
  const int a_address = SPI_fnumber(desc, "address"), a_ws = SPI_fnumber(desc, "workspace_id"),
            a_person = SPI_fnumber(desc, "person_id"), a_member = SPI_fnumber(desc, "member_id"),
            a_company = SPI_fnumber(desc, "company_id");
  bool isnull = false;
  const Datum address_datum = heap_getattr(tuple, a_address, desc, &isnull);
  if (isnull) return PointerGetDatum(tuple);  // NOT NULL reports it
  const std::string_view address = text_view(address_datum);
  const std::int64_t ws = int8_column(tuple, desc, a_ws);
  std::int64_t person = int8_column(tuple, desc, a_person);
  std::int64_t member = int8_column(tuple, desc, a_member);
  const bool ids_written = !update || person != int8_column(td->tg_trigtuple, desc, a_person) ||
                           member != int8_column(td->tg_trigtuple, desc, a_member);

  // Compute: the canonical address (the core refuses what is neither email nor phone).
  char canonical[crm::activity::kMaxAddressLength + 1];
  std::size_t canonical_length = 0;
  barrier([&] {
    crm::activity::canonical_address(address, canonical, &canonical_length);
    return Datum(0);
  });
  const std::string_view key(canonical, canonical_length);

  // Links carried over from an old address belonged to that address, not to this one.
  bool new_address = !update;
  if (update) {
    const Datum old_address = heap_getattr(td->tg_trigtuple, a_address, desc, &isnull);
    new_address = isnull || text_view(old_address) != key;
    if (new_address && !ids_written) person = member = 0;
  }
  // Ids the application has just written must exist; ids carried over may have gone quietly.
  const bool strict = ids_written;

  // Resolve, then write the row.
  const Resolution &r = resolve(ws, key, person, member, strict, new_address);
  int columns[4] = {a_address, a_member, a_person, a_company};
  Datum values[4] = {PointerGetDatum(cstring_to_text_with_len(canonical, canonical_length)),
                     Int64GetDatum(r.member_id), Int64GetDatum(r.person_id),
                     Int64GetDatum(r.company_id)};
  bool nulls[4] = {false, !r.has_member, !r.has_person, !r.has_company};
  return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 4, columns, values, nulls));
}

extern "C" PGDLLEXPORT Datum crm_claim_addresses(PG_FUNCTION_ARGS) {
  const std::int64_t ws = PG_GETARG_INT64(0);
  // Stripes are claimed in ascending order, so two records claiming several never deadlock.
  std::uint32_t stripes[kStripes];
  int count_stripes = 0;
  bool seen[kStripes] = {false};
  for (int arg = 1; arg <= 2; ++arg) {
    ArrayType *array = PG_GETARG_ARRAYTYPE_P(arg);
    Datum *elems = nullptr;
    bool *nulls = nullptr;
    int count = 0;
    deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count);
    for (int i = 0; i < count; ++i) {
      if (nulls[i]) continue;
      const std::string_view value = text_view(elems[i]);
      const std::uint32_t stripe = arg == 1 ? address_stripe(ws, value) : domain_stripe(ws, value);
      if (!seen[stripe]) {
        seen[stripe] = true;
        stripes[count_stripes++] = stripe;
      }
    }
  }
  std::sort(stripes, stripes + count_stripes);
  claim_record_stripes(stripes, count_stripes);
  PG_RETURN_VOID();
}

// crm._claim_addresses(wss bigint[], addrs text[], domain_wss bigint[], domains text[]): the claims
// of a whole record statement, which may span workspaces (addrs[i] in wss[i]), all or none.
extern "C" PGDLLEXPORT Datum crm_claim_record_addresses(PG_FUNCTION_ARGS) {
  std::uint32_t stripes[kStripes];
  int count_stripes = 0;
  bool seen[kStripes] = {false};
  for (int arg = 0; arg <= 2; arg += 2) {
    Datum *ws_elems = nullptr, *elems = nullptr;
    bool *ws_nulls = nullptr, *nulls = nullptr;
    int ws_count = 0, count = 0;
    deconstruct_array(PG_GETARG_ARRAYTYPE_P(arg), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
                      &ws_elems, &ws_nulls, &ws_count);
    deconstruct_array(PG_GETARG_ARRAYTYPE_P(arg + 1), TEXTOID, -1, false, TYPALIGN_INT, &elems,
                      &nulls, &count);
    if (ws_count != count)
      elog(ERROR, "crm_claim_record_addresses: %d workspaces for %d addresses", ws_count, count);
    for (int i = 0; i < count; ++i) {
      if (nulls[i] || ws_nulls[i]) continue;
      const std::int64_t ws = DatumGetInt64(ws_elems[i]);
      const std::string_view value = text_view(elems[i]);
      const std::uint32_t stripe = arg == 0 ? address_stripe(ws, value) : domain_stripe(ws, value);
      if (!seen[stripe]) {
        seen[stripe] = true;
        stripes[count_stripes++] = stripe;
      }
    }
  }
  std::sort(stripes, stripes + count_stripes);
  claim_record_stripes(stripes, count_stripes);
  PG_RETURN_VOID();
}

// crm._link_changes(p crm.participant): true when resolving the participant again would change
// what it links to. The record triggers' relink (participant_relink.cpp) asks it in its UPDATE,
// under the rows' locks, after choosing the rows with link_changes; the participant trigger then
// resolves the same inputs once more: all three share the statement's cache.
extern "C" PGDLLEXPORT Datum crm_link_changes(PG_FUNCTION_ARGS) {
  HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
  bool isnull = false;
  const Datum address = GetAttributeByName(row, "address", &isnull);
  if (isnull) PG_RETURN_BOOL(false);  // NOT NULL: never stored
  const auto id = [&](const char *column, bool *present) {
    bool null = false;
    const Datum d = GetAttributeByName(row, column, &null);
    *present = !null;
    return null ? std::int64_t{0} : DatumGetInt64(d);
  };
  bool has_ws = false, has_member = false, has_person = false, has_company = false;
  const std::int64_t ws = id("workspace_id", &has_ws);
  const std::int64_t member = id("member_id", &has_member);
  const std::int64_t person = id("person_id", &has_person);
  const std::int64_t company = id("company_id", &has_company);
  PG_RETURN_BOOL(link_changes(ws, text_view(address), member, person, has_company, company));
}

// crm._resolve_participant(ws, addr, given_person, given_member, strict) -> (member_id, person_id,
// company_id): the trigger's resolution of one row, uncached, for benchmarks and diagnosis.
extern "C" PGDLLEXPORT Datum crm_resolve_participant(PG_FUNCTION_ARGS) {
  TupleDesc desc = nullptr;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "crm_resolve_participant: must return a row");
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  Resolution r{};
  r.workspace_id = PG_GETARG_INT64(0);
  r.given_person = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
  r.given_member = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3);
  r.strict = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
  resolve_uncached(r, PG_ARGISNULL(1) ? std::string_view() : text_view(PG_GETARG_DATUM(1)));
  Datum values[3] = {Int64GetDatum(r.member_id), Int64GetDatum(r.person_id),
                     Int64GetDatum(r.company_id)};
  bool nulls[3] = {!r.has_member, !r.has_person, !r.has_company};
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

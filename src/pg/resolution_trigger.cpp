// BEFORE INSERT OR UPDATE on crm.participant: validates the address, stores it in canonical form,
// and links the row to its member, person and company (crm._resolve_participant).
//
// A bulk import meets the same addresses again and again, so resolutions are cached for the
// current statement. The cache is dropped when the statement's AFTER trigger runs, when a record
// claims addresses (crm._claim_addresses), and in every new (sub)transaction.
#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "core/activity/address.hpp"
#include "pg/address_claims.hpp"
#include "pg/guard.hpp"
#include "pg/resolution_cache.hpp"
#include "pg/spi.hpp"
#include "pg/restore_mode.hpp"

extern "C" {
#include "common/hashfn.h"
PG_FUNCTION_INFO_V1(crm_participant_resolve);
PG_FUNCTION_INFO_V1(crm_claim_addresses);
PG_FUNCTION_INFO_V1(crm_claim_record_addresses);
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
SPIPlanPtr resolve_plan = nullptr;
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

void resolve_uncached(Resolution &r, std::string_view address) {
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  Datum address_text = PointerGetDatum(cstring_to_text_with_len(address.data(), address.size()));
  if (r.given_person == 0 && r.given_member == 0) {
    // The common case: nothing to keep, one inlined query with a cached plan.
    static const Oid types[2] = {INT8OID, TEXTOID};
    SPIPlanPtr plan = kept_plan(
        &address_plan, "SELECT member_id, person_id, company_id FROM crm._resolve_address($1, $2)",
        2, types);
    Datum values[2] = {Int64GetDatum(r.workspace_id), address_text};
    execute_plan(plan, values, nullptr, false, SPI_OK_SELECT);
  } else {
    static const Oid types[5] = {INT8OID, TEXTOID, INT8OID, INT8OID, BOOLOID};
    SPIPlanPtr plan = kept_plan(
        &resolve_plan,
        "SELECT member_id, person_id, company_id FROM crm._resolve_participant($1, $2, $3, $4, $5)",
        5, types);
    Datum values[5] = {Int64GetDatum(r.workspace_id), address_text, Int64GetDatum(r.given_person),
                       Int64GetDatum(r.given_member), BoolGetDatum(r.strict)};
    const char nulls[5] = {' ', ' ', r.given_person ? ' ' : 'n', r.given_member ? ' ' : 'n', ' '};
    execute_plan(plan, values, nulls, false, SPI_OK_SELECT);
  }
  if (SPI_processed != 1) elog(ERROR, "crm_hygiene: address resolution returned no row");
  HeapTuple row = SPI_tuptable->vals[0];
  TupleDesc desc = SPI_tuptable->tupdesc;
  bool isnull = false;
  r.member_id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
  r.has_member = !isnull;
  r.person_id = DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull));
  r.has_person = !isnull;
  r.company_id = DatumGetInt64(SPI_getbinval(row, desc, 3, &isnull));
  r.has_company = !isnull;
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
      std::string_view value = text_view(elems[i]);
      std::uint32_t stripe;
      if (arg == 1) {
        stripe = address_stripe(ws, value);
      } else {
        // Domains are claimed under "@domain", as participants claim them.
        char buffer[crm::activity::kMaxAddressLength + 2];
        const std::size_t n = value.size() < sizeof buffer - 1 ? value.size() : sizeof buffer - 2;
        buffer[0] = '@';
        std::memcpy(buffer + 1, value.data(), n);
        stripe = address_stripe(ws, std::string_view(buffer, n + 1));
      }
      if (!seen[stripe]) {
        seen[stripe] = true;
        stripes[count_stripes++] = stripe;
      }
    }
  }
  std::sort(stripes, stripes + count_stripes);
  claim_stripes_exclusive(stripes, count_stripes);
  resolution_cache_reset();
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
      std::uint32_t stripe;
      if (arg == 0) {
        stripe = address_stripe(ws, value);
      } else {
        char buffer[crm::activity::kMaxAddressLength + 2];  // "@domain", as participants claim it
        const std::size_t n = value.size() < sizeof buffer - 1 ? value.size() : sizeof buffer - 2;
        buffer[0] = '@';
        std::memcpy(buffer + 1, value.data(), n);
        stripe = address_stripe(ws, std::string_view(buffer, n + 1));
      }
      if (!seen[stripe]) {
        seen[stripe] = true;
        stripes[count_stripes++] = stripe;
      }
    }
  }
  std::sort(stripes, stripes + count_stripes);
  claim_stripes_exclusive(stripes, count_stripes);
  resolution_cache_reset();
  PG_RETURN_VOID();
}

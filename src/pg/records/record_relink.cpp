// crm._record_relink(owner): the statement-level AFTER trigger on crm.person, crm.member and
// crm.company that keeps the address book (crm.record_address) and the records' signal rows, and
// relinks the participants whose links the statement can change.
//
// The transition tables are read straight from their tuplestores and the plan is made in C++
// (src/core/records/relink_plan.hpp), so a statement that changes no address, domain or company
// (a title, a phone, a stage) runs no SQL at all. The writes go through plans prepared once per
// backend, in the order every record writer keeps (README, "Concurrency"): address book, then
// the relink (participant_relink.hpp: address claims, participant rows), then signal and
// connection rows.
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/records/relink_plan.hpp"
#include "pg/common/guard.hpp"
#include "pg/records/participant_relink.hpp"
#include "pg/common/restore_mode.hpp"
#include "pg/common/spi.hpp"
#include "pg/common/transition_table.hpp"

extern "C" {
#include "catalog/pg_type_d.h"
PG_FUNCTION_INFO_V1(crm_record_relink);
}

namespace crm::pg {
namespace {

using records::AddressedRecord;
using records::Owner;
using records::RelinkPlan;

struct OwnerTable {
  Owner owner;
  const char *list_column;     // text[] of extra addresses, or nullptr
  const char *address_column;  // the primary address (a company's domain)
  bool has_company;
  const char *merged_column;  // set on a tombstone (crm.merge), or nullptr
};

OwnerTable owner_table(std::string_view name) {
  const std::optional<Owner> owner = records::parse_owner(name);
  if (!owner)
    throw Error("22023", "crm._record_relink: unknown record kind \"" + std::string(name) + "\"",
                "", "use 'person', 'member' or 'company'");
  switch (*owner) {
    case Owner::Person:
      return {Owner::Person, "emails", "email", true, "merged_into"};
    case Owner::Member:
      return {Owner::Member, "aliases", "email", false, nullptr};
    case Owner::Company:
      break;
  }
  return {Owner::Company, nullptr, "domain", false, "merged_into"};
}

// A row as read under pg_call: palloc'd, no C++ allocation.
struct RowCells {
  std::int64_t id, workspace, company;
  bool has_company;
  bool merged;
  int count;      // elements of the list, then the primary address
  char **values;  // nullptr for NULL
};

std::vector<AddressedRecord> read_records(const OwnerTable &t, Tuplestorestate *store,
                                          TupleDesc desc) {
  const std::size_t n =
      pg_call([&] { return static_cast<std::size_t>(transition_row_count(store)); });
  std::vector<RowCells> cells(n);
  pg_call([&] {
    const int id_at = SPI_fnumber(desc, "id"), ws_at = SPI_fnumber(desc, "workspace_id");
    const int list_at = t.list_column ? SPI_fnumber(desc, t.list_column) : 0;
    const int address_at = SPI_fnumber(desc, t.address_column);
    const int company_at = t.has_company ? SPI_fnumber(desc, "company_id") : 0;
    const int merged_at = t.merged_column ? SPI_fnumber(desc, t.merged_column) : 0;
    if (id_at <= 0 || ws_at <= 0 || list_at < 0 || address_at <= 0 || company_at < 0 ||
        merged_at < 0)
      elog(ERROR, "crm_hygiene: crm._record_relink fired on a table without its columns");
    for_each_transition_row(store, desc, [&](TupleTableSlot *slot, std::int64_t row) {
      if (static_cast<std::size_t>(row) >= n) return;
      RowCells &c = cells[row];
      c.id = slot_int8(slot, id_at);
      c.workspace = slot_int8(slot, ws_at);
      bool isnull = false;
      c.merged = false;
      if (merged_at > 0) {
        (void)slot_getattr(slot, merged_at, &isnull);
        c.merged = !isnull;
      }
      c.company = 0;
      c.has_company = false;
      if (company_at > 0) {
        const Datum company = slot_getattr(slot, company_at, &isnull);
        c.has_company = !isnull;
        if (!isnull) c.company = DatumGetInt64(company);
      }
      Datum *elems = nullptr;
      bool *nulls = nullptr;
      int count = 0;
      if (list_at > 0) {
        const Datum list = slot_getattr(slot, list_at, &isnull);
        if (!isnull)
          deconstruct_array(DatumGetArrayTypeP(list), TEXTOID, -1, false, TYPALIGN_INT, &elems,
                            &nulls, &count);
      }
      c.count = count + 1;
      c.values = static_cast<char **>(palloc(sizeof(char *) * c.count));
      for (int i = 0; i < count; ++i)
        c.values[i] = nulls[i] ? nullptr : TextDatumGetCString(elems[i]);
      const Datum address = slot_getattr(slot, address_at, &isnull);
      c.values[count] = isnull ? nullptr : TextDatumGetCString(address);
    });
  });
  std::vector<AddressedRecord> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    AddressedRecord &r = out[i];
    r.id = cells[i].id;
    r.workspace = cells[i].workspace;
    r.merged = cells[i].merged;
    if (cells[i].has_company) r.company = cells[i].company;
    r.listed.reserve(cells[i].count);
    for (int k = 0; k < cells[i].count; ++k)
      r.listed.push_back(cells[i].values[k] ? std::optional<std::string>(cells[i].values[k])
                                            : std::nullopt);
  }
  return out;
}

std::unordered_set<std::int64_t> live_workspaces(const std::vector<AddressedRecord> &rows) {
  std::vector<std::int64_t> ids;
  for (const AddressedRecord &r : rows) ids.push_back(r.workspace);
  std::unordered_set<std::int64_t> live;
  std::vector<std::int64_t> found(ids.size());
  const std::size_t count = pg_call([&] {
    static SPIPlanPtr plan = nullptr;
    static const Oid types[1] = {INT8ARRAYOID};
    SPIPlanPtr p = kept_plan(&plan, "SELECT id FROM crm.workspace WHERE id = ANY ($1)", 1, types);
    const Datum args[1] = {int8_array(ids.data(), static_cast<int>(ids.size()))};
    execute_plan(p, args, nullptr, false, SPI_OK_SELECT);  // a fresh snapshot: sees the cascade
    std::size_t k = 0;
    for (uint64 i = 0; i < SPI_processed && k < found.size(); ++i) {
      bool isnull = false;
      found[k++] =
          DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
    }
    return k;
  });
  live.insert(found.begin(), found.begin() + count);
  return live;
}

void run_ids(SPIPlanPtr *slot, const char *sql, const std::vector<std::int64_t> &ids) {
  if (ids.empty()) return;
  pg_call([&] {
    static const Oid types[1] = {INT8ARRAYOID};
    SPIPlanPtr plan = kept_plan(slot, sql, 1, types);
    const Datum args[1] = {int8_array(ids.data(), static_cast<int>(ids.size()))};
    const int rc = SPI_execute_plan(plan, const_cast<Datum *>(args), nullptr, false, 0);
    if (rc < 0)
      elog(ERROR, "crm_hygiene: SPI_execute_plan returned %s", SPI_result_code_string(rc));
  });
}

void add_signal_rows(Owner owner, const RelinkPlan &plan) {
  if (plan.signal_rows_added.empty()) return;
  static SPIPlanPtr person_plan = nullptr, company_plan = nullptr;
  pg_call([&] {
    static const Oid types[2] = {INT8ARRAYOID, INT8ARRAYOID};
    SPIPlanPtr p = owner == Owner::Person
                       ? kept_plan(&person_plan,
                                   "INSERT INTO crm.person_signal (person_id, workspace_id) "
                                   "SELECT * FROM unnest($1, $2)",
                                   2, types)
                       : kept_plan(&company_plan,
                                   "INSERT INTO crm.company_signal (company_id, workspace_id) "
                                   "SELECT * FROM unnest($1, $2)",
                                   2, types);
    const int n = static_cast<int>(plan.signal_rows_added.size());
    const Datum args[2] = {int8_array(plan.signal_rows_added.data(), n),
                           int8_array(plan.signal_workspaces.data(), n)};
    execute_plan(p, args, nullptr, false, SPI_OK_INSERT);
  });
}

void write_address_book(Owner owner, const RelinkPlan &plan) {
  if (owner == Owner::Company) return;
  const bool person = owner == Owner::Person;
  static SPIPlanPtr person_delete = nullptr, member_delete = nullptr;
  run_ids(person ? &person_delete : &member_delete,
          person ? "DELETE FROM crm.record_address WHERE person_id = ANY ($1)"
                 : "DELETE FROM crm.record_address WHERE member_id = ANY ($1)",
          plan.address_rows_removed);
  if (plan.address_rows_added.empty()) return;
  std::vector<std::string_view> addresses;
  std::vector<std::int64_t> workspaces, ids;
  for (const records::AddressRow &a : plan.address_rows_added) {
    addresses.push_back(a.address);
    workspaces.push_back(a.workspace);
    ids.push_back(a.record);
  }
  static SPIPlanPtr person_insert = nullptr, member_insert = nullptr;
  pg_call([&] {
    static const Oid types[3] = {INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID};
    SPIPlanPtr p =
        person ? kept_plan(&person_insert,
                           "INSERT INTO crm.record_address (workspace_id, address, member_id, "
                           "person_id) SELECT w, a, NULL, r FROM unnest($1, $2, $3) AS x (w, a, r)",
                           3, types)
               : kept_plan(&member_insert,
                           "INSERT INTO crm.record_address (workspace_id, address, member_id, "
                           "person_id) SELECT w, a, r, NULL FROM unnest($1, $2, $3) AS x (w, a, r)",
                           3, types);
    const int n = static_cast<int>(ids.size());
    const Datum args[3] = {int8_array(workspaces.data(), n), text_array(addresses),
                           int8_array(ids.data(), n)};
    execute_plan(p, args, nullptr, false, SPI_OK_INSERT);
  });
}

void relink(Owner owner, const RelinkPlan &plan) {
  RelinkRequest request;
  request.addresses = plan.relink_addresses;
  request.domains = plan.relink_domains;
  (owner == Owner::Person   ? request.persons
   : owner == Owner::Member ? request.members
                            : request.companies) = plan.relink_records;
  relink_participants(request);
}

void remove_signal_rows(Owner owner, const RelinkPlan &plan) {
  if (owner == Owner::Person) {
    static SPIPlanPtr connections = nullptr, signals = nullptr;
    run_ids(&connections, "DELETE FROM crm.connection WHERE person_id = ANY ($1)",
            plan.signal_rows_removed);
    run_ids(&signals, "DELETE FROM crm.person_signal WHERE person_id = ANY ($1)",
            plan.signal_rows_removed);
  } else if (owner == Owner::Company) {
    static SPIPlanPtr connections = nullptr, pairs = nullptr, signals = nullptr;
    run_ids(&connections,
            "DELETE FROM crm.connection WHERE person_id IS NULL AND company_id = ANY ($1)",
            plan.signal_rows_removed);
    run_ids(&pairs, "DELETE FROM crm.company_connection WHERE company_id = ANY ($1)",
            plan.signal_rows_removed);
    run_ids(&signals, "DELETE FROM crm.company_signal WHERE company_id = ANY ($1)",
            plan.signal_rows_removed);
  }
}

void records_written(const OwnerTable &t, TriggerData *td) {
  const TupleDesc desc = RelationGetDescr(td->tg_relation);
  const auto connect = [] {
    pg_call([] {
      if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
    });
  };
  RelinkPlan plan;
  if (TRIGGER_FIRED_BY_INSERT(td->tg_event)) {
    plan = records::plan_insert(t.owner, read_records(t, td->tg_newtable, desc));
    if (plan.empty()) return;
    connect();
  } else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event)) {
    plan = records::plan_update(t.owner, read_records(t, td->tg_oldtable, desc),
                                read_records(t, td->tg_newtable, desc));
    if (plan.empty()) return;  // a title, a phone: no SQL at all
    connect();
  } else {
    std::vector<AddressedRecord> deleted = read_records(t, td->tg_oldtable, desc);
    if (deleted.empty()) return;
    connect();
    plan = records::plan_delete(t.owner, deleted, live_workspaces(deleted));
  }
  add_signal_rows(t.owner, plan);
  write_address_book(t.owner, plan);
  relink(t.owner, plan);
  remove_signal_rows(t.owner, plan);
  pg_call([] { SPI_finish(); });
}

}  // namespace
}  // namespace crm::pg

extern "C" PGDLLEXPORT Datum crm_record_relink(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo)) elog(ERROR, "crm_record_relink: not called as a trigger");
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  const bool needs_old = !TRIGGER_FIRED_BY_INSERT(td->tg_event);
  const bool needs_new = !TRIGGER_FIRED_BY_DELETE(td->tg_event);
  if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
      td->tg_trigger->tgnargs != 1 || (needs_old && td->tg_oldtable == nullptr) ||
      (needs_new && td->tg_newtable == nullptr))
    elog(ERROR,
         "crm_record_relink: must fire AFTER INSERT, UPDATE or DELETE ... FOR EACH STATEMENT "
         "with a record kind and its transition tables");
  if (crm::pg::restoring()) return PointerGetDatum(nullptr);  // addresses and links as dumped
  crm::pg::barrier([&] {
    crm::pg::records_written(crm::pg::owner_table(td->tg_trigger->tgargs[0]), td);
    return Datum(0);
  });
  return PointerGetDatum(nullptr);
}

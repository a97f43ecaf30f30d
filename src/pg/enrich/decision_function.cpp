// crm._enrich_decision: the policy of src/core/enrich/policy.hpp for one field, for crm.enrich.
// Computes only (no SPI, no catalog lookup by name).
#include <optional>
#include <string>

#include "core/enrich/policy.hpp"
#include "core/error.hpp"
#include "pg/common/guard.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_enrich_decision);
}

// (policy, current_empty, current_kind, current_confidence, proposal_kind, confidence,
//  same_value, rejected_before, opted_out, backward) -> (outcome, reason)
extern "C" PGDLLEXPORT Datum crm_enrich_decision(PG_FUNCTION_ARGS) {
  for (int i : {0, 1, 4, 5, 6, 7, 8, 9})
    if (PG_ARGISNULL(i))
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("crm._enrich_decision: argument %d is NULL", i + 1)));
  TupleDesc desc = nullptr;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "crm._enrich_decision: must return a record");
  desc = BlessTupleDesc(desc);
  // Detoasted here, in the C phase: nothing inside the barrier calls Postgres.
  const char *policy_text = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const char *current_kind = PG_ARGISNULL(2) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(2));
  const char *proposal_kind = text_to_cstring(PG_GETARG_TEXT_PP(4));
  char outcome[32] = {0};
  char reason[256] = {0};
  crm::pg::barrier([&] {
    const std::optional<crm::enrich::Policy> policy = crm::enrich::parse_policy(policy_text);
    if (!policy) throw crm::Error("22023", "unknown field policy");
    crm::enrich::Current current;
    current.empty = PG_GETARG_BOOL(1);
    if (current_kind != nullptr) current.kind = current_kind;
    current.confidence = PG_ARGISNULL(3) ? 1.0 : PG_GETARG_FLOAT8(3);
    crm::enrich::Proposal proposal;
    proposal.kind = proposal_kind;
    proposal.confidence = PG_GETARG_FLOAT8(5);
    proposal.same_value = PG_GETARG_BOOL(6);
    proposal.rejected_before = PG_GETARG_BOOL(7);
    proposal.opted_out = PG_GETARG_BOOL(8);
    proposal.backward = PG_GETARG_BOOL(9);
    const crm::enrich::Decision d = crm::enrich::decide(*policy, current, proposal);
    snprintf(outcome, sizeof outcome, "%s", crm::enrich::outcome_name(d.outcome));
    snprintf(reason, sizeof reason, "%s", d.reason.c_str());
    return Datum(0);
  });
  Datum values[2] = {CStringGetTextDatum(outcome), CStringGetTextDatum(reason)};
  bool nulls[2] = {false, false};
  return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

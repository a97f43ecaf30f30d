// The AI settings. The endpoint's URL and the key's file are superuser-only (PGC_SUSET): whoever
// could set the URL could send the key to a server of their own. The key itself is no setting: a
// setting's value lives in postgresql.conf, pg_db_role_setting (readable by every role) or, in a
// session that has not loaded this library yet, an unprotected placeholder that SHOW prints. It
// is read from a file only the server's OS user can read, at each call.
#include "pg/ai/ai_settings.hpp"

#include "pg/common/pg.hpp"

extern "C" {
#include "utils/json.h"
}

extern "C" {
PG_FUNCTION_INFO_V1(crm_ai_settings);
}

namespace {

char *base_url = nullptr;
char *model = nullptr;
char *api_key_file = nullptr;
int timeout_ms = 30000;
int concurrency = 2;
int max_attempts = 3;
int retry_delay_s = 10;
int poll_interval_ms = 10000;
int max_workers = 4;

}  // namespace

void crm::pg::define_ai_settings() {
  DefineCustomStringVariable(
      "crm.ai_base_url", "Base URL of an OpenAI-compatible endpoint for AI attributes.",
      "For example http://127.0.0.1:8080/v1 (llama-server) or https://api.openai.com/v1. Empty: "
      "the embedded default serves every attribute it can.",
      &base_url, "", PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("crm.ai_model", "Model named in every request to the AI endpoint.",
                             "An attribute's spec.model takes precedence.", &model, "default",
                             PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "crm.ai_api_key_file", "File whose first line is the AI endpoint's bearer token.",
      "Readable by the server's OS user only (chmod 600). Empty: no Authorization header.",
      &api_key_file, "", PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("crm.ai_timeout", "How long one AI endpoint call may take.", nullptr,
                          &timeout_ms, 30000, 100, 600000, PGC_SUSET, GUC_UNIT_MS, nullptr, nullptr,
                          nullptr);
  DefineCustomIntVariable("crm.ai_concurrency",
                          "Endpoint calls at once per database, whatever the number of workers.",
                          nullptr, &concurrency, 2, 1, 64, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("crm.ai_max_attempts",
                          "Attempts of an AI job before it is kept in crm.ai_failed_job.", nullptr,
                          &max_attempts, 3, 1, 20, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "crm.ai_retry_delay", "Wait before an AI job's second attempt; doubled for each further one.",
      nullptr, &retry_delay_s, 10, 0, 86400, PGC_SUSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("crm.ai_max_workers", "AI background workers a database may run.",
                          "Each holds a background worker slot (max_worker_processes).",
                          &max_workers, 4, 1, 64, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("crm.ai_poll_interval",
                          "How often an idle AI worker looks for due jobs without a NOTIFY.",
                          nullptr, &poll_interval_ms, 10000, 100, 3600000, PGC_SUSET, GUC_UNIT_MS,
                          nullptr, nullptr, nullptr);
}

crm::pg::AiSettings crm::pg::ai_settings() {
  return {base_url ? base_url : "",
          model ? model : "",
          api_key_file ? api_key_file : "",
          timeout_ms,
          concurrency,
          max_attempts,
          retry_delay_s,
          poll_interval_ms,
          max_workers};
}

// crm._ai_settings(): what the SQL side needs, never the key.
extern "C" PGDLLEXPORT Datum crm_ai_settings(PG_FUNCTION_ARGS) {
  const crm::pg::AiSettings s = crm::pg::ai_settings();
  StringInfoData json;
  initStringInfo(&json);
  appendStringInfoString(&json, "{\"endpoint\": ");
  appendStringInfoString(&json, s.base_url[0] != '\0' ? "true" : "false");
  appendStringInfoString(&json, ", \"model\": ");
  escape_json(&json, s.model);
  appendStringInfo(&json,
                   ", \"timeout_ms\": %d, \"concurrency\": %d, \"max_attempts\": %d, "
                   "\"retry_delay_s\": %d, \"poll_interval_ms\": %d, \"max_workers\": %d}",
                   s.timeout_ms, s.concurrency, s.max_attempts, s.retry_delay_s, s.poll_interval_ms,
                   s.max_workers);
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json.data)));
}

// The C side of AI jobs: the endpoint call, the JSON Schema checks, the embedded classifier.
// Postgres phases (argument reading, SPI, result building) run inside pg_call or before the
// barrier's body; the C++ phases (libcurl, nlohmann, fastText) never touch Postgres.
#include <csignal>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/ai/chat_protocol.hpp"
#include "core/ai/http_client.hpp"
#include "core/ai/json_schema.hpp"
#include "core/ai/text_classifier.hpp"
#include "core/error.hpp"
#include "pg/ai/ai_settings.hpp"
#include "pg/common/guard.hpp"
#include "pg/common/pg.hpp"

extern "C" {
#include "storage/fd.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(crm_ai_chat);
PG_FUNCTION_INFO_V1(crm_ai_unsupported_schema);
PG_FUNCTION_INFO_V1(crm_ai_schema_violation);
PG_FUNCTION_INFO_V1(crm_ai_fasttext_train);
PG_FUNCTION_INFO_V1(crm_ai_fasttext_predict);
}

namespace {

using crm::pg::barrier;
using crm::pg::pg_call;

// A jsonb argument as JSON text (Postgres phase).
std::string jsonb_text(Datum value) {
  std::string out;
  pg_call([&] {
    Jsonb *jb = DatumGetJsonbP(value);
    char *text = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
    out.assign(text);
    pfree(text);
  });
  return out;
}

Datum jsonb_datum(const std::string &text) {
  return pg_call([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(text.c_str())); });
}

Datum text_datum(const std::string &text) {
  return pg_call([&] {
    return PointerGetDatum(cstring_to_text_with_len(text.data(), static_cast<int>(text.size())));
  });
}

// The bearer token: the first line of crm.ai_api_key_file, trimmed. Errors never show the file's
// content.
std::string read_api_key(const char *path) {
  if (path[0] == '\0') return {};
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line))
    throw crm::Error("58030", std::string("could not read the AI API key file ") + path, "",
                     "the server's OS user must be able to read it (chmod 600, owned by it)");
  const auto first = line.find_first_not_of(" \t\r");
  const auto last = line.find_last_not_of(" \t\r");
  return first == std::string::npos ? std::string() : line.substr(first, last - first + 1);
}

std::string chat_url(const char *base) {
  std::string url = base;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/chat/completions";
}

}  // namespace

// crm._ai_chat(request jsonb) -> {"content", "finish_reason", "model", "usage"}.
extern "C" PGDLLEXPORT Datum crm_ai_chat(PG_FUNCTION_ARGS) {
  const Datum request = PG_GETARG_DATUM(0);
  return barrier([&]() -> Datum {
    const crm::pg::AiSettings settings = crm::pg::ai_settings();
    if (settings.base_url[0] == '\0')
      throw crm::Error("55000", "no AI endpoint is configured", "",
                       "a superuser sets crm.ai_base_url (docs/AI.md)");
    crm::ai::HttpRequest http;
    http.url = chat_url(settings.base_url);
    http.body = crm::ai::chat_request_body(jsonb_text(request));
    http.bearer_token = read_api_key(settings.api_key_file);
    http.timeout_ms = settings.timeout_ms;
    http.cancelled = crm::pg::interrupt_pending;
    const crm::ai::HttpReply reply = crm::ai::http_post_json(http);
    if (reply.status < 200 || reply.status >= 300)
      throw crm::Error("08000",
                       crm::ai::redact(crm::ai::http_error_message(reply.status, reply.body),
                                       http.bearer_token));
    crm::ai::ChatReply chat;
    try {
      chat = crm::ai::parse_chat_reply(reply.body);
    } catch (const crm::Error &e) {
      throw crm::Error(e.sqlstate(), crm::ai::redact(e.what(), http.bearer_token));
    }
    return jsonb_datum(crm::ai::reply_json(chat));
  });
}

extern "C" PGDLLEXPORT Datum crm_ai_unsupported_schema(PG_FUNCTION_ARGS) {
  const Datum schema = PG_GETARG_DATUM(0);
  bool found = false;
  Datum result = barrier([&]() -> Datum {
    const auto problem =
        crm::ai::unsupported_schema(nlohmann::json::parse(jsonb_text(schema), nullptr, false));
    found = problem.has_value();
    return found ? text_datum(*problem) : Datum(0);
  });
  if (!found) PG_RETURN_NULL();
  PG_RETURN_DATUM(result);
}

// NULL when the instance conforms; a NULL instance (no reply) violates any schema.
extern "C" PGDLLEXPORT Datum crm_ai_schema_violation(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  if (PG_ARGISNULL(1)) PG_RETURN_TEXT_P(cstring_to_text("at (root): no value"));
  const Datum schema = PG_GETARG_DATUM(0);
  const Datum instance = PG_GETARG_DATUM(1);
  bool found = false;
  Datum result = barrier([&]() -> Datum {
    const auto problem =
        crm::ai::schema_violation(nlohmann::json::parse(jsonb_text(schema), nullptr, false),
                                  nlohmann::json::parse(jsonb_text(instance), nullptr, false));
    found = problem.has_value();
    return found ? text_datum(*problem) : Datum(0);
  });
  if (!found) PG_RETURN_NULL();
  PG_RETURN_DATUM(result);
}

namespace {

// fastText trains in a thread of its own when asked for more than one: signals are blocked while
// it starts, so no Postgres signal handler ever runs on it, and restored at once for ours.
sigset_t saved_mask;
void restore_signals() {
  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
}

}  // namespace

// crm._ai_fasttext_train(texts text[], labels integer[] (1-based)) -> the model's bytes.
extern "C" PGDLLEXPORT Datum crm_ai_fasttext_train(PG_FUNCTION_ARGS) {
  ArrayType *text_array = PG_GETARG_ARRAYTYPE_P(0);
  ArrayType *label_array = PG_GETARG_ARRAYTYPE_P(1);
  Datum *text_values = nullptr;
  bool *text_nulls = nullptr;
  int text_count = 0;
  deconstruct_array(text_array, TEXTOID, -1, false, TYPALIGN_INT, &text_values, &text_nulls,
                    &text_count);
  Datum *label_values = nullptr;
  bool *label_nulls = nullptr;
  int label_count = 0;
  deconstruct_array(label_array, INT4OID, 4, true, TYPALIGN_INT, &label_values, &label_nulls,
                    &label_count);
  if (text_count != label_count)
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("texts and labels must be as many")));
  // Texts as C strings before the C++ phase (detoasting is Postgres's).
  char **texts = static_cast<char **>(palloc0(sizeof(char *) * (text_count + 1)));
  for (int i = 0; i < text_count; ++i)
    texts[i] = text_nulls[i] ? pstrdup("") : text_to_cstring(DatumGetTextPP(text_values[i]));
  char temp_dir[MAXPGPATH];
  snprintf(temp_dir, sizeof temp_dir, "%s", "/tmp");
  if (const char *env = getenv("TMPDIR"); env != nullptr && env[0] == '/')
    snprintf(temp_dir, sizeof temp_dir, "%s", env);
  return barrier([&]() -> Datum {
    std::vector<std::string> examples;
    std::vector<int> labels;
    for (int i = 0; i < text_count; ++i) {
      if (label_nulls[i] || DatumGetInt32(label_values[i]) < 1)
        throw crm::Error("22023", "labels are positions of the attribute's labels, from 1");
      examples.emplace_back(texts[i]);
      labels.push_back(DatumGetInt32(label_values[i]) - 1);
    }
    crm::ai::TrainingOptions options;
    options.cancelled = crm::pg::interrupt_pending;
    options.threads_started = restore_signals;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved_mask);
    std::string model;
    try {
      model = crm::ai::train_text_classifier(examples, labels, temp_dir, options);
    } catch (...) {
      restore_signals();
      throw;
    }
    restore_signals();
    return pg_call([&] {
      bytea *out = static_cast<bytea *>(palloc(VARHDRSZ + model.size()));
      SET_VARSIZE(out, VARHDRSZ + model.size());
      std::memcpy(VARDATA(out), model.data(), model.size());
      return PointerGetDatum(out);
    });
  });
}

namespace {

// The last classifier loaded, per backend: a worker classifies many records of one attribute
// in a row. Plain pointers (no static destructors); replaced when another model is asked for.
crm::ai::TextClassifier *cached_classifier = nullptr;
int64 cached_attribute = 0;
TimestampTz cached_trained_at = 0;

SPIPlanPtr model_plan = nullptr;

// The model's bytes from crm.ai_model (Postgres phase), copied out of SPI's memory.
std::string load_model_bytes(int64 attribute_id, TimestampTz trained_at) {
  std::string bytes;
  pg_call([&] {
    SPI_connect();
    if (model_plan == nullptr) {
      Oid types[2] = {INT8OID, TIMESTAMPTZOID};
      model_plan = SPI_prepare(
          "SELECT m.model FROM crm.ai_model m WHERE m.attribute_id = $1 AND m.trained_at = $2", 2,
          types);
      if (model_plan == nullptr) elog(ERROR, "crm_ai_fasttext_predict: SPI_prepare failed");
      SPI_keepplan(model_plan);
    }
    Datum values[2] = {Int64GetDatum(attribute_id), TimestampTzGetDatum(trained_at)};
    if (SPI_execute_plan(model_plan, values, nullptr, true, 1) != SPI_OK_SELECT)
      elog(ERROR, "crm_ai_fasttext_predict: reading crm.ai_model failed");
    if (SPI_processed == 1) {
      bool isnull = false;
      Datum model = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
      if (!isnull) {
        bytea *b = DatumGetByteaPP(model);
        bytes.assign(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
      }
    }
    SPI_finish();
  });
  return bytes;
}

}  // namespace

// crm._ai_fasttext_predict(attribute_id, trained_at, text) -> (label from 1, confidence).
extern "C" PGDLLEXPORT Datum crm_ai_fasttext_predict(PG_FUNCTION_ARGS) {
  const int64 attribute_id = PG_GETARG_INT64(0);
  const TimestampTz trained_at = PG_GETARG_TIMESTAMPTZ(1);
  char *input = text_to_cstring(PG_GETARG_TEXT_PP(2));
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "crm_ai_fasttext_predict: must return a record");
  desc = BlessTupleDesc(desc);
  return barrier([&]() -> Datum {
    if (cached_classifier == nullptr || cached_attribute != attribute_id ||
        cached_trained_at != trained_at) {
      delete cached_classifier;
      cached_classifier = nullptr;
      const std::string bytes = load_model_bytes(attribute_id, trained_at);
      if (bytes.empty())
        throw crm::Error("55000", "the attribute's classifier was trained again meanwhile");
      cached_classifier = new crm::ai::TextClassifier(bytes);
      cached_attribute = attribute_id;
      cached_trained_at = trained_at;
    }
    const crm::ai::Prediction p = cached_classifier->predict(input);
    return pg_call([&] {
      Datum values[2] = {Int32GetDatum(p.label + 1), Float8GetDatum(p.confidence)};
      bool nulls[2] = {p.label < 0, p.label < 0};
      return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
    });
  });
}

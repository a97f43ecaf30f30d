// Module entry: settings only, so loading is cheap and needs no shared_preload_libraries.
#include <cerrno>
#include <cstring>
#include <cstdlib>

#include "pg/common/pg.hpp"
#include "pg/ai/ai_settings.hpp"

extern "C" {
#include "utils/datetime.h"
}

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace {

char *workspace_setting = nullptr;
char *clock_setting = nullptr;

bool check_workspace(char **value, void **, GucSource) {
  if (*value == nullptr || **value == '\0') return true;
  char *end = nullptr;
  errno = 0;
  const long long id = std::strtoll(*value, &end, 10);
  if (errno != 0 || *end != '\0' || id <= 0) {
    GUC_check_errdetail("crm.workspace must be a positive workspace id.");
    return false;
  }
  return true;
}

// crm.clock must read as a finite timestamp: every trigger and view parses it, so a bad value
// accepted here would break every later statement of the session. ParseDateTime and
// DecodeDateTime report errors by return code, which a check hook needs (it must not ereport).
bool check_clock(char **value, void **, GucSource) {
  if (*value == nullptr || **value == '\0') return true;
  char workbuf[MAXDATELEN + MAXDATEFIELDS];
  char *field[MAXDATEFIELDS];
  int ftype[MAXDATEFIELDS];
  int nf = 0, dtype = 0, tz = 0;
  pg_tm tm{};
  fsec_t fsec = 0;
  Timestamp result = 0;
  if (std::strlen(*value) >= MAXDATELEN ||
      ParseDateTime(*value, workbuf, sizeof workbuf, field, ftype, MAXDATEFIELDS, &nf) != 0 ||
      DecodeDateTime(field, ftype, nf, &dtype, &tm, &fsec, &tz) != 0) {
    GUC_check_errdetail(
        "crm.clock must be a timestamp with time zone, such as '2026-03-01 12:00+00', or empty.");
    return false;
  }
  if (dtype != DTK_DATE || tm2timestamp(&tm, fsec, &tz, &result) != 0 ||
      !IS_VALID_TIMESTAMP(result)) {
    GUC_check_errdetail(
        "crm.clock must be a finite timestamp within PostgreSQL's range, or empty.");
    return false;
  }
  return true;
}

}  // namespace

void _PG_init(void) {
  DefineCustomStringVariable(
      "crm.workspace", "Workspace (tenant) of this session.",
      "Default of every workspace_id column; read by crm.current_workspace().", &workspace_setting,
      "1", PGC_USERSET, 0, check_workspace, nullptr, nullptr);
  DefineCustomStringVariable("crm.clock", "Fixed clock for derived values, for tests and demos.",
                             "When set to a timestamp, crm.now() returns it instead of now().",
                             &clock_setting, "", PGC_USERSET, 0, check_clock, nullptr, nullptr);
  crm::pg::define_ai_settings();
  MarkGUCPrefixReserved("crm");
}

// Module entry: settings only, so loading is cheap and needs no shared_preload_libraries.
#include <cerrno>
#include <cstdlib>

#include "pg/pg.hpp"

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

}  // namespace

void _PG_init(void) {
  DefineCustomStringVariable(
      "crm.workspace", "Workspace (tenant) of this session.",
      "Default of every workspace_id column; read by crm.current_workspace().", &workspace_setting,
      "1", PGC_USERSET, 0, check_workspace, nullptr, nullptr);
  DefineCustomStringVariable("crm.clock", "Fixed clock for derived values, for tests and demos.",
                             "When set to a timestamp, crm.now() returns it instead of now().",
                             &clock_setting, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
  MarkGUCPrefixReserved("crm");
}

#include "pg/match/phonetic.hpp"

#include "pg/common/guard.hpp"

extern "C" {
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/syscache.h"
}

namespace crm::pg {
namespace {

FmgrInfo dmetaphone;
bool prepared = false;
MemoryContext scratch = nullptr;

}  // namespace

void prepare_phonetic() {
  pg_call([] {
    // A cached function that still exists is still dmetaphone; otherwise (first use, or the
    // extension was dropped and created again) find it in fuzzystrmatch's schema.
    if (prepared && SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(dmetaphone.fn_oid))) return;
    const int rc = SPI_execute(
        "SELECT n.nspname::text FROM pg_catalog.pg_extension e "
        "JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = "
        "'fuzzystrmatch'",
        true, 1);
    if (rc != SPI_OK_SELECT || SPI_processed != 1)
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                      errmsg("crm_hygiene needs the extension fuzzystrmatch"),
                      errhint("CREATE EXTENSION fuzzystrmatch")));
    char *schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
    List *name = list_make2(makeString(schema), makeString(pstrdup("dmetaphone")));
    Oid argument = TEXTOID;
    const Oid function = LookupFuncName(name, 1, &argument, false);
    if (scratch == nullptr)
      scratch = AllocSetContextCreate(TopMemoryContext, "crm phonetic", ALLOCSET_SMALL_SIZES);
    fmgr_info_cxt(function, &dmetaphone, TopMemoryContext);
    prepared = true;
  });
}

std::string double_metaphone(std::string_view word) {
  if (!prepared || word.empty()) return {};
  char code[16];
  const std::size_t length = pg_call([&] {
    MemoryContext caller = MemoryContextSwitchTo(scratch);
    text *input = cstring_to_text_with_len(word.data(), static_cast<int>(word.size()));
    const Datum result = FunctionCall1Coll(&dmetaphone, InvalidOid, PointerGetDatum(input));
    text *out = DatumGetTextPP(result);
    std::size_t n = VARSIZE_ANY_EXHDR(out);
    if (n >= sizeof code) n = sizeof code - 1;
    memcpy(code, VARDATA_ANY(out), n);
    MemoryContextSwitchTo(caller);
    MemoryContextReset(scratch);
    return n;
  });
  return std::string(code, length);
}

}  // namespace crm::pg

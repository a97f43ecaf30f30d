#include "pg/capture/capture_rows.hpp"

namespace crm::pg {

namespace {
constexpr capture::Micros kUnixToPostgresEpoch =
    static_cast<capture::Micros>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}

TimestampTz to_timestamptz(capture::Micros unix_micros) {
  return unix_micros - kUnixToPostgresEpoch;
}

capture::Micros to_unix_micros(TimestampTz timestamp) {
  return timestamp + kUnixToPostgresEpoch;
}

Datum text_datum(const std::string &value) {
  return PointerGetDatum(cstring_to_text_with_len(value.data(), static_cast<int>(value.size())));
}

Datum text_array_datum(const std::vector<const char *> &values) {
  const int n = static_cast<int>(values.size());
  Datum *elements = static_cast<Datum *>(palloc0(sizeof(Datum) * (n > 0 ? n : 1)));
  bool *nulls = static_cast<bool *>(palloc0(sizeof(bool) * (n > 0 ? n : 1)));
  for (int i = 0; i < n; ++i) {
    if (values[i] == nullptr)
      nulls[i] = true;
    else
      elements[i] = PointerGetDatum(cstring_to_text(values[i]));
  }
  int dims[1] = {n};
  int lbs[1] = {1};
  return PointerGetDatum(construct_md_array(elements, nulls, n > 0 ? 1 : 0, dims, lbs, TEXTOID, -1,
                                            false, TYPALIGN_INT));
}

}  // namespace crm::pg

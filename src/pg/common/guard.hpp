// The exception barrier between C++ and Postgres (shared/CPP_IN_POSTGRES.md). This header is the
// only place in the code base that uses PG_TRY.
//
//  - pg_call(f): C++ calling Postgres. f may ereport; the error is copied, flushed and thrown as
//    PgError, so C++ frames unwind normally. f itself must not own C++ objects with destructors.
//  - barrier(body): Postgres calling C++. Every exception is caught, its facts copied into plain
//    buffers, and only after the catch block has ended is the error raised with ereport.
#pragma once

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <type_traits>

#include "core/error.hpp"
#include "pg/common/pg.hpp"

namespace crm::pg {

class PgError : public std::exception {
 public:
  explicit PgError(ErrorData *data) : data_(data) {}
  ErrorData *data() const { return data_; }
  const char *what() const noexcept override { return data_->message ? data_->message : "error"; }

 private:
  ErrorData *data_;
};

template <typename F>
auto pg_call(F &&f) -> decltype(f()) {
  using Result = decltype(f());
  MemoryContext caller = CurrentMemoryContext;
  ErrorData *volatile error = nullptr;
  if constexpr (std::is_void_v<Result>) {
    PG_TRY();
    { f(); }
    PG_CATCH();
    {
      MemoryContextSwitchTo(caller);
      error = CopyErrorData();
      FlushErrorState();
    }
    PG_END_TRY();
    if (error != nullptr) throw PgError(error);
  } else {
    static_assert(std::is_scalar_v<Result>, "pg_call returns plain values only");
    volatile Result result{};
    PG_TRY();
    { result = f(); }
    PG_CATCH();
    {
      MemoryContextSwitchTo(caller);
      error = CopyErrorData();
      FlushErrorState();
    }
    PG_END_TRY();
    if (error != nullptr) throw PgError(error);
    return result;
  }
}

// True when Postgres wants this backend to stop what it is doing (statement_timeout, cancel,
// terminate). Reads two flags; never calls Postgres.
inline bool interrupt_pending() {
  return QueryCancelPending || ProcDiePending;
}

template <typename F>
Datum barrier(F &&body) {
  ErrorData *pg_error = nullptr;
  bool canceled = false;
  char sqlstate[6] = {0};
  char message[1024] = {0};
  char detail[1024] = {0};
  char hint[512] = {0};
  Datum result = 0;
  try {
    result = body();
  } catch (const PgError &e) {
    pg_error = e.data();
  } catch (const crm::Canceled &) {
    canceled = true;
  } catch (const crm::Error &e) {
    std::memcpy(sqlstate, e.sqlstate(), 6);
    snprintf(message, sizeof message, "%s", e.what());
    snprintf(detail, sizeof detail, "%s", e.detail().c_str());
    snprintf(hint, sizeof hint, "%s", e.hint().c_str());
  } catch (const std::bad_alloc &) {
    std::memcpy(sqlstate, "53200", 6);
    snprintf(message, sizeof message, "crm_hygiene ran out of memory");
  } catch (const std::exception &e) {
    std::memcpy(sqlstate, "XX000", 6);
    snprintf(message, sizeof message, "crm_hygiene internal error: %s", e.what());
  } catch (...) {
    std::memcpy(sqlstate, "XX000", 6);
    snprintf(message, sizeof message, "crm_hygiene internal error: unknown exception");
  }
  if (pg_error != nullptr) ReThrowError(pg_error);
  if (canceled) {
    CHECK_FOR_INTERRUPTS();
    ereport(ERROR,
            (errcode(ERRCODE_QUERY_CANCELED), errmsg("canceling statement due to user request")));
  }
  if (sqlstate[0] != '\0') {
    ereport(
        ERROR,
        (errcode(MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3], sqlstate[4])),
         errmsg("%s", message), detail[0] ? errdetail("%s", detail) : 0,
         hint[0] ? errhint("%s", hint) : 0));
  }
  return result;
}

}  // namespace crm::pg

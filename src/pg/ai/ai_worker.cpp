// AI background workers (docs/AI.md): dynamic background workers, started and stopped by SQL, so
// no shared_preload_libraries. Each connects to the database it was started from as the role
// that started it, LISTENs on crm_ai_jobs (the enqueue trigger NOTIFYs while workers run), and
// loops: heartbeat and claim in one transaction, run the job in the next, sleep on its latch when
// nothing is due. crm.stop_ai_workers() is honoured between jobs, SIGTERM at once. An error in a
// step is logged and the loop goes on after a pause (as autovacuum's workers recover); the
// postmaster never restarts a worker (BGW_NEVER_RESTART): one that could not connect, or whose
// database was dropped, would otherwise retry forever. Plain C phases only (SPI, transactions): the
// C++ work happens in the functions it calls.
#include <cstring>

#include "pg/ai/ai_settings.hpp"
#include "pg/common/pg.hpp"

extern "C" {
#include "catalog/pg_authid.h"
#include "commands/async.h"
#include "commands/extension.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"

PG_FUNCTION_INFO_V1(crm_start_ai_workers);
PGDLLEXPORT void crm_ai_worker_main(Datum arg);
}

namespace {

// Runs sql in a transaction of its own and returns the first column of its first row as int8
// (or -1 for NULL or no row).
int64 run_step(const char *sql, int nargs, Oid *types, Datum *values) {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  SPI_connect();
  PushActiveSnapshot(GetTransactionSnapshot());
  pgstat_report_activity(STATE_RUNNING, sql);
  int64 result = -1;
  const int rc = nargs > 0 ? SPI_execute_with_args(sql, nargs, types, values, nullptr, false, 0)
                           : SPI_execute(sql, false, 0);
  if (rc < 0) elog(ERROR, "crm_hygiene AI worker: \"%s\" failed", sql);
  if (SPI_processed > 0 && SPI_tuptable != nullptr) {
    bool isnull = false;
    const Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    if (!isnull) result = DatumGetInt64(d);
  }
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  pgstat_report_stat(false);
  pgstat_report_activity(STATE_IDLE, nullptr);
  return result;
}

}  // namespace

void crm_ai_worker_main(Datum arg) {
  // SIGTERM (pg_terminate_backend, a fast shutdown) ends the worker at once, even within a call:
  // the call's cancel check sees it, and a job it held is claimed again once its lease lapses.
  // crm.stop_ai_workers() is the gentle way, between jobs.
  pqsignal(SIGTERM, die);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  BackgroundWorkerUnblockSignals();
  Oid role = InvalidOid;
  std::memcpy(&role, MyBgworkerEntry->bgw_extra, sizeof role);
  BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), role, 0);
  pgstat_report_appname("crm_hygiene AI worker");

  // LISTEN (from this commit on), then register through crm._ai_worker, which writes the
  // worker's row with the extension's rights (the role that started it may only read the table).
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  Async_Listen("crm_ai_jobs");
  CommitTransactionCommand();
  run_step("SELECT crm._ai_worker_event('start')", 0, nullptr, nullptr);

  // Error recovery: a step that raises lands here with its transaction to abort. Only plain C
  // state lives in this function, so the longjmp skips no destructor.
  sigjmp_buf recover;
  if (sigsetjmp(recover, 1) != 0) {
    // As PostgreSQL's own loops recover (PostgresMain, autovacuum): the error context stack still
    // points into the frames the longjmp left.
    error_context_stack = nullptr;
    HOLD_INTERRUPTS();
    disable_all_timeouts(false);
    QueryCancelPending = false;
    EmitErrorReport();
    AbortOutOfAnyTransaction();
    pgstat_report_wait_end();
    FlushErrorState();
    MemoryContextSwitchTo(TopMemoryContext);
    RESUME_INTERRUPTS();
    pgstat_report_activity(STATE_IDLE, nullptr);
    // The extension dropped (or the library newer than the database's objects): nothing to do.
    StartTransactionCommand();
    const bool installed = OidIsValid(get_extension_oid("crm_hygiene", true));
    CommitTransactionCommand();
    if (!installed) proc_exit(0);
    // A pause, so a step that fails every time does not spin.
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 5000,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
  }
  PG_exception_stack = &recover;

  for (;;) {
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
    // Reads the notifications that woke us, so the queue's tail can move on.
    if (notifyInterruptPending) ProcessNotifyInterrupt(false);
    // A heartbeat; no row, or a stop request: time to go.
    if (run_step("SELECT crm._ai_worker_event('beat')", 0, nullptr, nullptr) != 1) break;
    const int64 job = run_step("SELECT crm._ai_worker_event('claim')", 0, nullptr, nullptr);
    if (job > 0) {
      Oid types[1] = {INT8OID};
      Datum values[1] = {Int64GetDatum(job)};
      run_step("SELECT crm._ai_worker_event('run', $1)", 1, types, values);
      continue;  // more may be due: no sleep
    }
    const int events = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                                 crm::pg::ai_settings().poll_interval_ms, PG_WAIT_EXTENSION);
    if (events & WL_LATCH_SET) ResetLatch(MyLatch);
  }
  run_step("SELECT crm._ai_worker_event('stop')", 0, nullptr, nullptr);
  proc_exit(0);
}

// crm.start_ai_workers(workers) -> their pids. They run as the calling role, in this database.
extern "C" PGDLLEXPORT Datum crm_start_ai_workers(PG_FUNCTION_ARGS) {
  const int workers = PG_ARGISNULL(0) ? 1 : PG_GETARG_INT32(0);
  if (workers < 1 || workers > 32)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("start 1 to 32 AI workers at a time, not %d", workers)));
  Datum *pids = static_cast<Datum *>(palloc(sizeof(Datum) * workers));
  // A worker connects as this role: PostgreSQL refuses one that cannot log in (after SET ROLE to
  // a group role, say), and the worker would then fail at every restart.
  const Oid role = GetUserId();
  HeapTuple authid = SearchSysCache1(AUTHOID, ObjectIdGetDatum(role));
  if (!HeapTupleIsValid(authid)) elog(ERROR, "crm_start_ai_workers: role %u not found", role);
  const bool can_login = reinterpret_cast<Form_pg_authid>(GETSTRUCT(authid))->rolcanlogin;
  ReleaseSysCache(authid);
  if (!can_login)
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("AI workers run as the current role, %s, which cannot log in",
                           GetUserNameFromId(role, false)),
                    errhint("RESET ROLE, or SET ROLE to a role with LOGIN, before starting them")));
  for (int i = 0; i < workers; ++i) {
    BackgroundWorker worker;
    std::memset(&worker, 0, sizeof worker);
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = BGW_NEVER_RESTART;
    snprintf(worker.bgw_library_name, BGW_MAXLEN, "crm_hygiene");
    snprintf(worker.bgw_function_name, BGW_MAXLEN, "crm_ai_worker_main");
    snprintf(worker.bgw_name, BGW_MAXLEN, "crm_hygiene AI worker (database %u)", MyDatabaseId);
    snprintf(worker.bgw_type, BGW_MAXLEN, "crm_hygiene AI worker");
    worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
    std::memcpy(worker.bgw_extra, &role, sizeof role);
    worker.bgw_notify_pid = MyProcPid;
    BackgroundWorkerHandle *handle = nullptr;
    if (!RegisterDynamicBackgroundWorker(&worker, &handle))
      ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                      errmsg("could not start an AI worker: no background worker slot is free"),
                      errdetail("%d of %d started.", i, workers),
                      errhint("raise max_worker_processes (a restart), or stop other workers")));
    pid_t pid = 0;
    if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
      ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                      errmsg("an AI worker did not start"), errhint("see the server log")));
    pids[i] = Int32GetDatum(pid);
  }
  PG_RETURN_ARRAYTYPE_P(construct_array(pids, workers, INT4OID, 4, true, TYPALIGN_INT));
}

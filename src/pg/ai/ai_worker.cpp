// AI background workers (docs/AI.md): dynamic background workers, started and stopped by SQL, so
// no shared_preload_libraries. Each connects to the database it was started from as the role
// that started it, LISTENs on crm_ai_jobs (the enqueue trigger NOTIFYs while workers run), and
// loops: heartbeat and claim in one transaction, run the job in the next, sleep on its latch when
// nothing is due. SIGTERM and crm.stop_ai_workers() are honoured between jobs; an error ends the
// worker with exit code 1 and the postmaster starts it again 10 s later.
// Plain C phases only (SPI, transactions): the C++ work happens in the functions it calls.
#include <cstring>

#include "pg/ai/ai_settings.hpp"
#include "pg/common/pg.hpp"

extern "C" {
#include "commands/async.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(crm_start_ai_workers);
PGDLLEXPORT void crm_ai_worker_main(Datum arg);
}

namespace {

volatile sig_atomic_t stop_signalled = false;

void on_sigterm(SIGNAL_ARGS) {
  const int saved_errno = errno;
  stop_signalled = true;
  SetLatch(MyLatch);
  errno = saved_errno;
}

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
  pqsignal(SIGTERM, on_sigterm);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  BackgroundWorkerUnblockSignals();
  Oid role = InvalidOid;
  std::memcpy(&role, MyBgworkerEntry->bgw_extra, sizeof role);
  BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), role, 0);
  pgstat_report_appname("crm_hygiene AI worker");

  // Register (and forget workers that died without saying so), and LISTEN, at commit.
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  Async_Listen("crm_ai_jobs");
  CommitTransactionCommand();
  run_step(
      "WITH gone AS (DELETE FROM crm.ai_worker w WHERE NOT EXISTS "
      "(SELECT FROM pg_catalog.pg_stat_activity a WHERE a.pid = w.pid)) "
      "INSERT INTO crm.ai_worker (pid, started_at, heartbeat_at) "
      "VALUES (pg_catalog.pg_backend_pid(), pg_catalog.now(), pg_catalog.now()) "
      "ON CONFLICT (pid) DO UPDATE SET started_at = EXCLUDED.started_at, "
      "heartbeat_at = EXCLUDED.heartbeat_at, stop_requested = false, jobs_done = 0",
      0, nullptr, nullptr);

  for (;;) {
    CHECK_FOR_INTERRUPTS();
    if (stop_signalled) break;
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
    // Reads the notifications that woke us, so the queue's tail can move on.
    if (notifyInterruptPending) ProcessNotifyInterrupt(false);
    // A heartbeat; no row, or a stop request: time to go.
    const int64 go_on = run_step(
        "UPDATE crm.ai_worker SET heartbeat_at = pg_catalog.now() "
        "WHERE pid = pg_catalog.pg_backend_pid() RETURNING (NOT stop_requested)::integer::bigint",
        0, nullptr, nullptr);
    if (go_on != 1) break;
    const int64 job =
        run_step("SELECT crm._ai_claim(pg_catalog.pg_backend_pid())", 0, nullptr, nullptr);
    if (job > 0) {
      Oid types[1] = {INT8OID};
      Datum values[1] = {Int64GetDatum(job)};
      run_step(
          "WITH done AS (SELECT crm._ai_run($1)) UPDATE crm.ai_worker "
          "SET jobs_done = jobs_done + 1 FROM done WHERE pid = pg_catalog.pg_backend_pid()",
          1, types, values);
      continue;  // more may be due: no sleep
    }
    const int events = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                                 crm::pg::ai_settings().poll_interval_ms, PG_WAIT_EXTENSION);
    if (events & WL_LATCH_SET) ResetLatch(MyLatch);
  }
  run_step("DELETE FROM crm.ai_worker WHERE pid = pg_catalog.pg_backend_pid()", 0, nullptr,
           nullptr);
  proc_exit(0);
}

// crm.start_ai_workers(workers) -> their pids. They run as the calling role, in this database.
extern "C" PGDLLEXPORT Datum crm_start_ai_workers(PG_FUNCTION_ARGS) {
  const int workers = PG_ARGISNULL(0) ? 1 : PG_GETARG_INT32(0);
  if (workers < 1 || workers > 32)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("start 1 to 32 AI workers at a time, not %d", workers)));
  Datum *pids = static_cast<Datum *>(palloc(sizeof(Datum) * workers));
  const Oid role = GetUserId();
  for (int i = 0; i < workers; ++i) {
    BackgroundWorker worker;
    std::memset(&worker, 0, sizeof worker);
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = 10;
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

// A flag a SQL function raises for its own transaction and subtransaction only (crm._merge_writes,
// crm._enrich_writes): an error that rolls the subtransaction back can never leave it raised for a
// later statement, and subtransaction ids are never reused within a transaction.
#pragma once

#include "pg/common/pg.hpp"

namespace crm::pg {

class SubxactFlag {
 public:
  void set(bool on) {
    xact_ = on ? MyProc->lxid : InvalidLocalTransactionId;
    subxact_ = on ? GetCurrentSubTransactionId() : InvalidSubTransactionId;
  }
  bool raised() const { return xact_ == MyProc->lxid && subxact_ == GetCurrentSubTransactionId(); }

 private:
  LocalTransactionId xact_ = InvalidLocalTransactionId;
  SubTransactionId subxact_ = InvalidSubTransactionId;
};

}  // namespace crm::pg

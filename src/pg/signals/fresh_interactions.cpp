#include "pg/signals/fresh_interactions.hpp"

namespace crm::pg {
namespace {

// Beyond this many a registry stops growing: later interactions take the recomputing path.
constexpr long kMaxEntries = 4'000'000;

struct Registry {
  const char *name;
  HTAB *table = nullptr;
  LocalTransactionId xact = InvalidLocalTransactionId;

  HTAB *current(bool create) {
    // The table lives in TopTransactionContext, so it is gone once the transaction ends.
    if (xact != MyProc->lxid) table = nullptr;
    if (table == nullptr && create) {
      HASHCTL ctl;
      ctl.keysize = sizeof(std::int64_t);
      ctl.entrysize = sizeof(FreshInteraction);
      ctl.hcxt = TopTransactionContext;
      table = hash_create(name, 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
      xact = MyProc->lxid;
    }
    return table;
  }
  void remember(const FreshInteraction &interaction) {
    HTAB *t = current(true);
    if (hash_get_num_entries(t) >= kMaxEntries) return;
    bool found = false;
    *static_cast<FreshInteraction *>(hash_search(t, &interaction.id, HASH_ENTER, &found)) =
        interaction;
  }
  FreshInteraction *find(std::int64_t id) {
    HTAB *t = current(false);
    if (t == nullptr) return nullptr;
    return static_cast<FreshInteraction *>(hash_search(t, &id, HASH_FIND, nullptr));
  }
  void forget_all() {
    HTAB *t = current(false);
    if (t != nullptr) hash_destroy(t);
    table = nullptr;
  }
};

Registry fresh{"crm_hygiene fresh interactions"};
Registry deleted{"crm_hygiene deleted interactions"};

}  // namespace

void fresh_remember(const FreshInteraction &interaction) {
  fresh.remember(interaction);
}
FreshInteraction *fresh_find(std::int64_t id) {
  return fresh.find(id);
}
void fresh_forget_all() {
  fresh.forget_all();
}

void deleted_remember(const FreshInteraction &interaction) {
  deleted.remember(interaction);
}
const FreshInteraction *deleted_find(std::int64_t id) {
  return deleted.find(id);
}
void deleted_forget_all() {
  deleted.forget_all();
}

}  // namespace crm::pg

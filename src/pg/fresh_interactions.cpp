#include "pg/fresh_interactions.hpp"

namespace crm::pg {
namespace {

// Beyond this many the registry stops growing: later interactions take the recomputing path.
constexpr long kMaxEntries = 4'000'000;

HTAB *registry = nullptr;
LocalTransactionId registry_xact = InvalidLocalTransactionId;

HTAB *current(bool create) {
  // The table lives in TopTransactionContext, so it is gone once the transaction ends.
  if (registry_xact != MyProc->lxid) registry = nullptr;
  if (registry == nullptr && create) {
    HASHCTL ctl;
    ctl.keysize = sizeof(std::int64_t);
    ctl.entrysize = sizeof(FreshInteraction);
    ctl.hcxt = TopTransactionContext;
    registry = hash_create("crm_hygiene fresh interactions", 1024, &ctl,
                           HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
    registry_xact = MyProc->lxid;
  }
  return registry;
}

}  // namespace

void fresh_remember(const FreshInteraction &interaction) {
  HTAB *table = current(true);
  if (hash_get_num_entries(table) >= kMaxEntries) return;
  bool found = false;
  auto *entry =
      static_cast<FreshInteraction *>(hash_search(table, &interaction.id, HASH_ENTER, &found));
  *entry = interaction;
}

FreshInteraction *fresh_find(std::int64_t id) {
  HTAB *table = current(false);
  if (table == nullptr) return nullptr;
  return static_cast<FreshInteraction *>(hash_search(table, &id, HASH_FIND, nullptr));
}

void fresh_forget_all() {
  HTAB *table = current(false);
  if (table != nullptr) hash_destroy(table);
  registry = nullptr;
}

}  // namespace crm::pg

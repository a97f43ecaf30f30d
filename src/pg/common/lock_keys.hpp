// Every advisory lock the extension takes, in one place: whoever adds one sees the others, and
// no two uses share a key by accident.
//
// A tag is (database, class, key, space). Postgres's own SQL functions use space 1
// (pg_advisory_lock(bigint)) and 2 (pg_advisory_lock(int, int)): ours in space 2 carry a class
// ('crm?' in ASCII) that applications are not expected to use; spaces 3 and 4 are ours alone.
#pragma once

#include <cstdint>

#include "pg/common/pg.hpp"

namespace crm::pg::lock_keys {

// Address and domain stripes of participant resolution and relinking (records/address_claims).
inline constexpr std::uint32_t kAddressClass = 0x63726d68;  // 'crmh'
// The connection models of all workspaces: activity writers share it, a model change takes it
// exclusively. SQL takes the same lock as pg_advisory_xact_lock(1668443496, 1836016748)
// (src/sql/35_connection_model.sql), test/pgtap/lock_keys.sql checks they are one lock.
inline constexpr std::uint32_t kModelClass = kAddressClass;
inline constexpr std::uint32_t kModelKey = 0x6d6f646c;  // 'modl'
// Interaction stripes of the signal triggers (signals/interaction_claims).
inline constexpr std::uint32_t kInteractionClass = 0x63726d69;  // 'crmi'
// Blocking-key stripes of duplicate detection (match/duplicate_claims), in space 3.
inline constexpr std::uint32_t kDuplicateClass = 0x63726d64;  // 'crmd'
inline constexpr uint16 kDuplicateKeySpace = 3;
// A workspace's duplicate writers (shared) against its scan (exclusive), keyed by the workspace
// id's two halves, in space 4.
inline constexpr uint16 kWorkspaceSpace = 4;

inline LOCKTAG tag(std::uint32_t high, std::uint32_t low, uint16 space = 2) {
  LOCKTAG t;
  SET_LOCKTAG_ADVISORY(t, MyDatabaseId, high, low, space);
  return t;
}

}  // namespace crm::pg::lock_keys

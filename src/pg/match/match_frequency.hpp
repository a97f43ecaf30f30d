// Reading term frequencies (crm.match_frequency, kept by the trigger on crm.match_profile) for the
// profiles being compared.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/match/frequency.hpp"
#include "pg/match/match_store.hpp"

namespace crm::pg {

// A counted value: the field's name in crm.match_frequency and the profile field it is read for.
struct CountedValue {
  int profile_field;
  std::string value;
};

// The counted values of these profiles. A person's names are asked for under both name fields:
// records with given name and surname swapped compare across them.
std::vector<CountedValue> counted_values(RecordKind kind,
                                         const std::vector<const StoredProfile *> &profiles);

// How load_frequencies reads: in the caller's snapshot (a STABLE function's), as of now (a
// trigger, after its statement's own writes), or as of now and FOR SHARE on the rows, so that a
// writer that doubles one of the values (and re-scores the stored pairs agreeing on it) waits for
// this transaction's pairs.
enum class FrequencyRead { Snapshot, Current, Locked };

// The peaks of these values in the workspace. plus_one counts the values once more: a record not
// yet written (a probe) as if it were.
match::Frequencies load_frequencies(RecordKind kind, std::int64_t workspace,
                                    const std::vector<CountedValue> &values, FrequencyRead read,
                                    bool plus_one = false);

// The counts after a statement that wrote these profiles (FrequencyRead::Locked), and as they
// were before it: the peak where the statement did not raise it, else the count less the
// statement's own records. That may be below the true earlier peak (a value once more common
// than now), which only re-scores pairs to the scores they have. For inserts: an update's old
// values are not in the profiles.
struct FrequenciesAround {
  match::Frequencies before, after;
};
FrequenciesAround load_frequencies_around_insert(RecordKind kind, std::int64_t workspace,
                                                 const std::vector<CountedValue> &values,
                                                 const std::vector<const StoredProfile *> &written);

// Every value of the workspace common enough to weigh less (crm.scan_duplicates).
match::Frequencies load_workspace_frequencies(RecordKind kind, std::int64_t workspace);

// The values whose agreement weighs less under after than under before.
std::vector<CountedValue> values_grown_common(const match::Model &model,
                                              const std::vector<CountedValue> &values,
                                              const match::Frequencies &before,
                                              const match::Frequencies &after);

}  // namespace crm::pg

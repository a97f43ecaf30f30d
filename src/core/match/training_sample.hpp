// What crm.train_duplicate_model learns from: the pairs of a workspace's records that training
// compares (a sample of each blocking rule's pairs, and random pairs), the model it starts from,
// and the report it returns. Deterministic: the same records give the same model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/cancel.hpp"
#include "core/match/keys.hpp"
#include "core/match/model.hpp"
#include "core/match/profile.hpp"
#include "core/match/training.hpp"

namespace crm::match {

struct SampleLimits {
  std::size_t random_pairs = 1000000;  // every pair when there are no more than this
  std::size_t session_pairs = 200000;  // per blocking rule, evenly strided over its pairs
};

// One session per blocking rule of the kind, then the random pairs (every pair of a small
// workspace). profiles: the records, at least two.
TrainingInput training_input(RecordKind kind, const Model &model,
                             const std::vector<const Profile *> &profiles, std::int64_t workspace,
                             Phonetic phonetic, CancelCheck cancel, SampleLimits limits = {});

// The model training starts from: the kind's defaults, not the stored model (training twice gives
// the same model, and a rare level's u falls back to a value nobody estimated from this data),
// with the workspace's own choices kept (custom attributes, threshold, region).
Model training_start(RecordKind kind, const Model &current);

// The trained model as JSON with a "training" report: records, random pairs, and per session its
// pairs, pairs compared, iterations, convergence and estimated share of duplicates.
std::string training_report(const Model &trained, std::size_t records, const TrainingInput &input,
                            const TrainingResult &result);

}  // namespace crm::match

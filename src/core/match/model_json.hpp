// A model as jsonb (crm.duplicate_model.model, crm.train_duplicate_model's result) and a pair's
// evidence (crm.duplicate_candidate.evidence).
#pragma once

#include <string>
#include <string_view>

#include "core/match/model.hpp"

namespace crm::match {

// {"prior": p, "threshold": t, "attributes": [...], "fields": {"name": {"m": [...], "u": [...]}}}
std::string to_json(const Model &model);

// Starts from the kind's defaults and applies what the document sets: a stored model written by
// an older release, or a partial one a user wrote, still works. Throws crm::Error 22023 on an
// unknown field, a wrong level count or a probability out of range.
Model model_from_json(RecordKind kind, std::string_view json);

// {"score": s, "match_weight": w, "fields": {"last_name": {"level": "exact", "weight": 9.1}, ...}}
// with only the fields both records have. A common value adds "records" (how many hold it) and
// "frequency_adjustment" (bits taken); a field another one already counts adds "implied_by".
std::string evidence_json(const Model &model, const Comparison &comparison);
std::string evidence_json(const Model &model, const Levels &levels);

// One line for messages: the known fields' levels, strongest evidence first
// ("email exact, last_name exact, first_name nickname").
std::string evidence_summary(const Model &model, const Comparison &comparison);
std::string evidence_summary(const Model &model, const Levels &levels);

}  // namespace crm::match

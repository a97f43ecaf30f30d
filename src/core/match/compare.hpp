// Comparing two profiles field by field: the agreement level of each model field.
#pragma once

#include <string_view>

#include "core/match/frequency.hpp"
#include "core/match/model.hpp"

namespace crm::match {

// The levels alone, as training reads them: no term frequencies, no dependent fields.
Levels compare(const Model &model, const Profile &a, const Profile &b);

// The levels and what adjusts their weights: the counts of agreed values and fields whose
// agreement another field already counts.
Comparison compare(const Model &model, const Profile &a, const Profile &b,
                   const Frequencies &frequencies);

// Role addresses shared by a team (info@, sales@): agreeing on one says little about a person.
bool is_generic_local_part(std::string_view local_part);

}  // namespace crm::match

// Comparing two profiles field by field: the agreement level of each model field.
#pragma once

#include <string_view>

#include "core/match/model.hpp"

namespace crm::match {

Levels compare(const Model &model, const Profile &a, const Profile &b);

// Role addresses shared by a team (info@, sales@): agreeing on one says little about a person.
bool is_generic_local_part(std::string_view local_part);

}  // namespace crm::match

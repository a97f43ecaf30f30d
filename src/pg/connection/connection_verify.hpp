// The connection half of crm.verify_signals(): stored pairs against a from-scratch fold.
#pragma once

#include <functional>
#include <string>

#include "core/signals/folder.hpp"
#include "pg/connection/connection_store.hpp"

namespace crm::pg {

using ReportDifference =
    std::function<void(signals::RecordKind kind, std::int64_t record_id, const std::string &field,
                       const std::string &stored, const std::string &expected)>;

// The strongest connection of a record from its folded contacts.
connection::Strongest strongest_from(signals::RecordKind kind,
                                     const connection::Contacts &contacts);

// Compares every stored contact and company pair with what folder computed from all activity.
// Sums agree when their values differ by a relative error of at most 1e-9.
void verify_connections(signals::Folder &folder, signals::Micros now,
                        std::string (*render_time)(signals::Micros),
                        const ReportDifference &report);

}  // namespace crm::pg

// One resolution of a mention against this session's workspace: the lookups (SQL functions of
// src/sql/75_resolve.sql) and the ranking (src/core/resolve). crm.resolve returns its best,
// crm.resolve_why explains one record against it.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/resolve/mention.hpp"
#include "core/resolve/score.hpp"
#include "pg/common/pg.hpp"

namespace crm::pg {

struct ResolveRequest {
  std::string mention;
  Datum hints = 0;  // jsonb
  std::vector<resolve::Kind> kinds;
};

struct Resolution {
  std::int64_t workspace = 0;
  std::int64_t member = 0;  // the hints' member, 0 when none
  resolve::Mention mention;
  std::set<std::pair<resolve::Kind, std::int64_t>> found;  // what the lookups reached
  bool fuzzy_ran = false;               // the trigram lookups ran (nothing exact convinced)
  bool names_searched = false;          // and every person's full name was searched too
  std::vector<resolve::Scored> ranked;  // every candidate, best first
};

// Resolves; ranked holds every candidate above the minimum text score (not cut to a number).
// Throws crm::Error 22023 for bad hints. The caller is connected to SPI.
// Context is read for the candidates that can reach the first max_results.
Resolution resolve_mention(const ResolveRequest &request, std::size_t max_results);

// The evidence and context of one record (for crm.resolve_why), scored as resolve scores it.
resolve::Scored score_record(const Resolution &resolution, resolve::Kind kind, std::int64_t id,
                             bool &exists);

resolve::Kind resolve_kind(std::string_view text);
const char *kind_name(resolve::Kind kind);

}  // namespace crm::pg

#include "core/resolve/why.hpp"

#include <cmath>
#include <cstdio>
#include <string_view>

#include <nlohmann/json.hpp>

namespace crm::resolve {
namespace {

std::string fixed(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", v);
  return buffer;
}

std::string reason(const WhyFacts &f) {
  const std::string record = std::string(f.kind) + " " + std::to_string(f.record_id);
  if (f.merged_into)
    return record + " was merged into " + f.kind + " " + std::to_string(*f.merged_into) +
           ": a merged record is never resolved, its survivor is";
  if (!f.exists) return "there is no " + record + " in this workspace";
  if (f.mention_empty) return "the mention has no name, address, phone number or domain to look up";
  const Scored &s = *f.scored;
  if (f.rank && *f.rank <= f.max_results)
    return "returned at rank " + std::to_string(*f.rank) + (f.ambiguous ? ", ambiguous" : "");
  if (!f.found && !f.fuzzy_ran)
    return "no exact lookup (address, phone number, domain, name key, company) reached it, and "
           "names alike were not searched: exact lookups found records convincing enough";
  if (!f.found && std::string_view(f.kind) == "person" && !f.names_searched)
    return "no lookup reached it, and people's full names were not searched: records found "
           "before were convincing enough, or the mention named one given name at a company";
  if (!f.found) {
    std::string r =
        "no lookup reached it: it shares no address, phone number, domain or name key with the "
        "mention, and was not among the records each search by similar names brings (at most 100)";
    if (s.evidence.name >= 0) r += "; name similarity " + fixed(s.evidence.name);
    return r;
  }
  if (s.text < kMinTextScore)
    return "its text score " + fixed(s.text) + " is below the minimum " + fixed(kMinTextScore);
  if (f.rank)
    return "ranked " + std::to_string(*f.rank) + ", after the first " +
           std::to_string(f.max_results) + " results";
  return "not ranked";
}

}  // namespace

std::string why_json(const WhyFacts &f) {
  using nlohmann::json;
  const bool returned =
      f.exists && !f.merged_into && f.rank.has_value() && *f.rank <= f.max_results;
  json doc = {
      {"kind", f.kind}, {"record_id", f.record_id}, {"returned", returned}, {"reason", reason(f)}};
  if (f.merged_into) doc["merged_into"] = *f.merged_into;
  if (f.exists && !f.merged_into && !f.mention_empty && f.scored) {
    const Scored &s = *f.scored;
    doc["found"] = f.found;
    doc["rank"] = f.rank ? json(*f.rank) : json(nullptr);
    doc["score"] = std::round(s.score * 10000) / 10000;
    doc["match_level"] = level_name(s.level);
    doc["match_key"] = s.key;
    doc["ambiguous"] = f.ambiguous;
    doc["evidence"] = json::parse(evidence_json(s));
  }
  return doc.dump();
}

}  // namespace crm::resolve

// Throughput of the core's folding: what the signal triggers spend per participant row once the
// rows are in memory. Run: cmake --build build && build/crm_core_bench
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "core/signals/folder.hpp"

namespace {

using namespace crm::signals;

struct Activity {
  std::vector<Interaction> interactions;
  std::vector<std::vector<Participant>> participants;
};

// Interactions with a member sender and 1-5 contacts among `people`, 10 people per company.
Activity make_activity(int interactions, int people) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> person(1, people), extra(1, 5), member(1, 20), kind(0, 2);
  Activity a;
  for (int i = 1; i <= interactions; ++i) {
    const Kind k = kind(rng) == 0 ? Kind::Meeting : Kind::Email;
    a.interactions.push_back({.id = i,
                              .workspace_id = 1,
                              .occurred_at = static_cast<Micros>(i) * 60'000'000,
                              .kind = k,
                              .status = Status::Confirmed});
    std::vector<Participant> ps;
    const int m = member(rng);
    ps.push_back({.member_id = m,
                  .address_key = 1000000 + m,
                  .role = k == Kind::Meeting ? Role::Organizer : Role::From});
    for (int n = extra(rng); n > 0; --n) {
      const int p = person(rng);
      ps.push_back({.person_id = p,
                    .company_id = 1 + p / 10,
                    .address_key = p,
                    .role = k == Kind::Meeting ? Role::Attendee : Role::To});
    }
    a.participants.push_back(std::move(ps));
  }
  return a;
}

void BM_FoldInteractions(benchmark::State &state) {
  const Activity a = make_activity(static_cast<int>(state.range(0)), 50'000);
  std::size_t rows = 0;
  for (const auto &ps : a.participants) rows += ps.size();
  for (auto _ : state) {
    Folder folder(std::numeric_limits<Micros>::max() / 2);
    for (std::size_t i = 0; i < a.interactions.size(); ++i)
      folder.add(a.interactions[i], a.participants[i]);
    benchmark::DoNotOptimize(folder.result(RecordKind::Person).size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows));
  state.counters["participant_rows"] = static_cast<double>(rows);
}
BENCHMARK(BM_FoldInteractions)->Arg(10'000)->Arg(330'000)->Unit(benchmark::kMillisecond);

void BM_MergeIntoStored(benchmark::State &state) {
  Signals stored, delta;
  stored.fold({1, 1, 100, Kind::Email, true, false, 3}, 1000);
  delta.fold({1, 2, 200, Kind::Meeting, false, false, 4}, 1000);
  for (auto _ : state) {
    Signals s = stored;
    s.merge(delta);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_MergeIntoStored);

}  // namespace

// LEMON's network simplex with arc mixing off, fresh solves and kept graphs: C entry points
// for ctypes (optimiser/model/lemon_native.py). Built at setup (scripts/build-lemon.sh) from the very
// LEMON headers the pylmcf package ships, so the algorithm is pylmcf's, solved the way
// pylmcf::Graph solves (StaticDigraph from (tail, head)-sorted arcs, int64 flows and costs,
// upper/cost/supply maps, GEQ supplies, block-search pivots), with one difference: LEMON is
// constructed with arc_mixing = false, so block search prices the arcs in the order given
// (each pair's days consecutive) instead of a strided mix. pylmcf does not expose that
// switch. Measured on the 1M tier's slower block: 18.2-18.9 s against 22.3 s (docs/BENCHMARKS.md).
//
// optimiser_lemon_solve(n, m, tails, heads, caps, costs, supply, arc_mixing, canonical,
// pivot, flow_out, pot_out) returns 0 (optimal: flow and potentials written), 1 (infeasible),
// 2 (unbounded), 3 (bad input or an exception). The potentials are LEMON's own (reduced
// cost of u->v: cost + pot[u] - pot[v]); when one of them carries LEMON's artificial cost
// (a node left hanging from its artificial root: |pot| > 2^50) or `canonical` is set, they
// are replaced by pylmcf's canonical potentials (pylmcf/canonical_potentials.hpp), exactly
// as pylmcf.Graph.potentials() computes them. The kept graph's entry points
// (optimiser_lemon_graph_*) are described where they are defined, below.

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <lemon/network_simplex.h>
#include <lemon/static_graph.h>

#include <pylmcf/basics.hpp>
#include <pylmcf/canonical_potentials.hpp>

namespace {
using G = lemon::StaticDigraph;
using NS = lemon::NetworkSimplex<G, int64_t, int64_t>;

// pivot: 0 block search (pylmcf's and LEMON's default), 1 altering candidate list,
// 2 candidate list, 3 best eligible, 4 first eligible
const NS::PivotRule RULES[] = {NS::BLOCK_SEARCH, NS::ALTERING_LIST, NS::CANDIDATE_LIST,
                               NS::BEST_ELIGIBLE, NS::FIRST_ELIGIBLE};

// LEMON's potentials (already in pot) stay, unless one carries LEMON's artificial cost
// (|pot| > 2^50) or `canonical`: then pylmcf's canonical potentials replace them
void finish_potentials(int n, const std::vector<int>& starts, const std::vector<int>& ends,
                       const int64_t* costs, const int64_t* caps, const int64_t* flow,
                       bool canonical, int64_t* pot) {
  const size_t m = starts.size();
  bool huge = false;
  for (int i = 0; i < n; i++)
    if (pot[i] > (int64_t(1) << 50) || pot[i] < -(int64_t(1) << 50)) huge = true;
  if (!huge && !canonical) return;
  std::vector<int64_t> raw(pot, pot + n);
  canonical_potentials<int64_t, int64_t>(
      n, std::span<const int>(starts), std::span<const int>(ends),
      std::span<const int64_t>(costs, m), std::span<const int64_t>(caps, m),
      std::span<const int64_t>(), std::span<const int64_t>(flow, m),
      std::span<const int64_t>(raw), false, std::span<int64_t>(pot, n));
}

// the arcs as (tail, head) pairs, or false when a node is out of range or they are not
// sorted by (tail, head) (StaticDigraph's rule)
bool read_arcs(int n, size_t m, const int64_t* tails, const int64_t* heads,
               std::vector<std::pair<int, int>>& arcs) {
  arcs.reserve(m);
  for (size_t i = 0; i < m; i++) {
    if (tails[i] < 0 || tails[i] >= n || heads[i] < 0 || heads[i] >= n) return false;
    arcs.emplace_back(static_cast<int>(tails[i]), static_cast<int>(heads[i]));
    if (i > 0 && arcs[i] < arcs[i - 1]) return false;
  }
  return true;
}

// (tail, head) pairs split into the two arrays canonical_potentials takes
void split_arcs(const std::vector<std::pair<int, int>>& arcs, std::vector<int>& starts,
                std::vector<int>& ends) {
  starts.resize(arcs.size());
  ends.resize(arcs.size());
  for (size_t i = 0; i < arcs.size(); i++) {
    starts[i] = arcs[i].first;
    ends[i] = arcs[i].second;
  }
}

// as pylmcf: capacities >= 0, and every cost below LEMON's artificial arcs' (2^62), else
// a feasible problem could be reported INFEASIBLE
bool data_ok(size_t m, const int64_t* caps, const int64_t* costs) {
  for (size_t i = 0; i < m; i++)
    if (caps[i] < 0 || (costs && (costs[i] < 0 || costs[i] >= INT64_MAX / 2))) return false;
  return true;
}
}  // namespace

extern "C" int optimiser_lemon_solve(int64_t n_nodes, int64_t n_arcs, const int64_t* tails,
                                     const int64_t* heads, const int64_t* caps,
                                     const int64_t* costs, const int64_t* supply,
                                     int arc_mixing, int canonical, int pivot,
                                     int64_t* flow_out, int64_t* pot_out) {
  try {
    if (n_nodes < 0 || n_arcs < 0 || n_nodes > INT32_MAX || n_arcs > INT32_MAX) return 3;
    const int n = static_cast<int>(n_nodes);
    const size_t m = static_cast<size_t>(n_arcs);
    if (n == 0) return m == 0 ? 0 : 3;  // as pylmcf: an empty problem is optimal at cost 0
    if (!data_ok(m, caps, costs)) return 3;
    std::vector<std::pair<int, int>> arcs;
    if (!read_arcs(n, m, tails, heads, arcs)) return 3;
    G g;
    g.build(n, arcs.begin(), arcs.end());
    G::NodeMap<int64_t> sup(g);
    G::ArcMap<int64_t> cap(g), cost(g);
    for (int i = 0; i < n; i++) sup[g.nodeFromId(i)] = supply[i];
    for (size_t i = 0; i < m; i++) {
      cap[g.arcFromId(static_cast<int>(i))] = caps[i];
      cost[g.arcFromId(static_cast<int>(i))] = costs[i];
    }
    NS ns(g, arc_mixing != 0);
    ns.upperMap(cap).costMap(cost).supplyMap(sup);
    if (pivot < 0 || pivot > 4) return 3;
    const NS::ProblemType st = ns.run(RULES[pivot]);
    if (st == NS::INFEASIBLE) return 1;
    if (st == NS::UNBOUNDED) return 2;
    for (size_t i = 0; i < m; i++) flow_out[i] = ns.flow(g.arcFromId(static_cast<int>(i)));
    for (int i = 0; i < n; i++) pot_out[i] = ns.potential(g.nodeFromId(i));
    std::vector<int> starts, ends;
    split_arcs(arcs, starts, ends);
    finish_potentials(n, starts, ends, costs, caps, flow_out, canonical != 0, pot_out);
    return 0;
  } catch (...) {
    return 3;
  }
}

// ---------------------------------------------------------------------------------------
// A kept graph: LEMON's NetworkSimplex held between solves (a Session's, the reliability
// loop's), arc mixing off, restarted from its last spanning tree the way pylmcf::Graph
// restarts (warmRun with its repair strategy and wall-time budget; a cold run when there
// is no basis yet or the last solve was not optimal). Capacities, costs and supplies are
// pushed in (copied) before each solve; the arcs never change.
//
// optimiser_lemon_graph_new(n, m, tails, heads, arc_mixing, repair, budget) -> handle, or
// null on bad input (nodes out of range, arcs not sorted by (tail, head)).
//   repair: 0 RepairOnly, 1 Dual, 2 Primal, 3 DualRatio, 4 DualGreedy; budget: LEMON's
//   warm-repair wall-time tripwire, a multiple of the last cold solve (<= 0: off).
// optimiser_lemon_graph_solve(h, caps, costs or null (unchanged), supply, pivot, canonical,
//   flow_out, pot_out, counters_out[4]) -> 0/1/2/3 as optimiser_lemon_solve; counters:
//   LEMON's warm-start, cold-start and policy-cold counts, and whether this solve went
//   through warmRun (1) or a plain run (0).
// optimiser_lemon_graph_canonical(h, pot_out): pylmcf's canonical potentials of the last
//   optimal solve (as pylmcf.Graph.potentials()); 0, or 3 when there is none.
// optimiser_lemon_graph_free(h).
namespace {
struct Kept {
  int n;
  size_t m;
  std::vector<int> starts, ends;
  std::vector<int64_t> caps, costs;
  G g;
  std::unique_ptr<G::NodeMap<int64_t>> sup;
  std::unique_ptr<G::ArcMap<int64_t>> cap, cost;
  std::unique_ptr<NS> ns;
  NS::WarmRepair repair;
  bool basis = false;  // an optimal tree to restart from
  bool costs_dirty = false;
  bool solved = false;
};
}  // namespace

extern "C" void* optimiser_lemon_graph_new(int64_t n_nodes, int64_t n_arcs,
                                           const int64_t* tails, const int64_t* heads,
                                           int arc_mixing, int repair, double budget) {
  try {
    if (n_nodes <= 0 || n_arcs < 0 || n_nodes > INT32_MAX || n_arcs > INT32_MAX) return nullptr;
    if (repair < 0 || repair > 4) return nullptr;
    auto k = std::make_unique<Kept>();
    k->n = static_cast<int>(n_nodes);
    k->m = static_cast<size_t>(n_arcs);
    std::vector<std::pair<int, int>> arcs;
    if (!read_arcs(k->n, k->m, tails, heads, arcs)) return nullptr;
    split_arcs(arcs, k->starts, k->ends);
    k->g.build(k->n, arcs.begin(), arcs.end());
    k->sup = std::make_unique<G::NodeMap<int64_t>>(k->g, 0);
    k->cap = std::make_unique<G::ArcMap<int64_t>>(k->g, 0);
    k->cost = std::make_unique<G::ArcMap<int64_t>>(k->g, 0);
    k->caps.assign(k->m, 0);
    k->costs.assign(k->m, 0);
    k->ns = std::make_unique<NS>(k->g, arc_mixing != 0);
    k->ns->upperMap(*k->cap).costMap(*k->cost);  // as pylmcf: zeros until set
    static const NS::WarmRepair repairs[] = {NS::WarmRepair::RepairOnly, NS::WarmRepair::Dual,
                                             NS::WarmRepair::Primal, NS::WarmRepair::DualRatio,
                                             NS::WarmRepair::DualGreedy};
    k->repair = repairs[repair];
    k->ns->setWarmRepairBudget(budget);
    return k.release();
  } catch (...) {
    return nullptr;
  }
}

extern "C" int optimiser_lemon_graph_solve(void* handle, const int64_t* caps,
                                           const int64_t* costs, const int64_t* supply,
                                           int pivot, int canonical, int64_t* flow_out,
                                           int64_t* pot_out, int64_t* counters) {
  try {
    auto* k = static_cast<Kept*>(handle);
    if (k == nullptr || pivot < 0 || pivot > 4 || !data_ok(k->m, caps, costs)) return 3;
    for (int i = 0; i < k->n; i++)
      if (supply[i] == INT64_MIN) return 3;  // LEMON negates supplies
    k->solved = false;
    for (size_t i = 0; i < k->m; i++) (*k->cap)[k->g.arcFromId(static_cast<int>(i))] = caps[i];
    k->caps.assign(caps, caps + k->m);
    k->ns->upperMap(*k->cap);
    if (costs != nullptr) {
      for (size_t i = 0; i < k->m; i++)
        (*k->cost)[k->g.arcFromId(static_cast<int>(i))] = costs[i];
      k->costs.assign(costs, costs + k->m);
      k->ns->costMap(*k->cost);
      k->costs_dirty = true;
    }
    for (int i = 0; i < k->n; i++) (*k->sup)[k->g.nodeFromId(i)] = supply[i];
    k->ns->supplyMap(*k->sup);
    const bool warm = k->basis;
    const NS::ProblemType st = warm ? k->ns->warmRun(RULES[pivot], k->repair, k->costs_dirty)
                                    : k->ns->run(RULES[pivot]);
    k->basis = st == NS::OPTIMAL;
    counters[0] = k->ns->warmStartCount();
    counters[1] = k->ns->coldStartCount();
    counters[2] = k->ns->policyColdCount();
    counters[3] = warm ? 1 : 0;
    if (st == NS::INFEASIBLE) return 1;
    if (st == NS::UNBOUNDED) return 2;
    if (st != NS::OPTIMAL) return 3;
    k->costs_dirty = false;
    k->solved = true;
    for (size_t i = 0; i < k->m; i++) flow_out[i] = k->ns->flow(k->g.arcFromId(static_cast<int>(i)));
    for (int i = 0; i < k->n; i++) pot_out[i] = k->ns->potential(k->g.nodeFromId(i));
    finish_potentials(k->n, k->starts, k->ends, k->costs.data(), k->caps.data(), flow_out,
                      canonical != 0, pot_out);
    return 0;
  } catch (...) {
    return 3;
  }
}

extern "C" int optimiser_lemon_graph_canonical(void* handle, int64_t* pot_out) {
  try {
    auto* k = static_cast<Kept*>(handle);
    if (k == nullptr || !k->solved) return 3;
    std::vector<int64_t> flow(k->m);
    for (size_t i = 0; i < k->m; i++) flow[i] = k->ns->flow(k->g.arcFromId(static_cast<int>(i)));
    for (int i = 0; i < k->n; i++) pot_out[i] = k->ns->potential(k->g.nodeFromId(i));
    finish_potentials(k->n, k->starts, k->ends, k->costs.data(), k->caps.data(), flow.data(),
                      true, pot_out);
    return 0;
  } catch (...) {
    return 3;
  }
}

extern "C" void optimiser_lemon_graph_free(void* handle) { delete static_cast<Kept*>(handle); }

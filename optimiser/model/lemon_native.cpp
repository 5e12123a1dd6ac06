// LEMON's network simplex, fresh solve, with arc mixing off: a C entry point for ctypes
// (optimiser/model/lemon_native.py). Built at setup (scripts/build-lemon.sh) from the very
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
// as pylmcf.Graph.potentials() computes them.

#include <cstdint>
#include <cstdlib>
#include <span>
#include <utility>
#include <vector>

#include <lemon/network_simplex.h>
#include <lemon/static_graph.h>

#include <pylmcf/basics.hpp>
#include <pylmcf/canonical_potentials.hpp>

extern "C" int optimiser_lemon_solve(int64_t n_nodes, int64_t n_arcs, const int64_t* tails,
                                     const int64_t* heads, const int64_t* caps,
                                     const int64_t* costs, const int64_t* supply,
                                     int arc_mixing, int canonical, int pivot,
                                     int64_t* flow_out, int64_t* pot_out) {
  try {
    using G = lemon::StaticDigraph;
    using NS = lemon::NetworkSimplex<G, int64_t, int64_t>;
    if (n_nodes < 0 || n_arcs < 0 || n_nodes > INT32_MAX || n_arcs > INT32_MAX) return 3;
    const int n = static_cast<int>(n_nodes);
    const size_t m = static_cast<size_t>(n_arcs);
    if (n == 0) return m == 0 ? 0 : 3;  // as pylmcf: an empty problem is optimal at cost 0
    // as pylmcf: capacities >= 0, and every cost below LEMON's artificial arcs' (2^62),
    // else a feasible problem could be reported INFEASIBLE
    for (size_t i = 0; i < m; i++)
      if (caps[i] < 0 || costs[i] < 0 || costs[i] >= INT64_MAX / 2) return 3;
    std::vector<std::pair<int, int>> arcs;
    arcs.reserve(m);
    for (size_t i = 0; i < m; i++) {
      if (tails[i] < 0 || tails[i] >= n || heads[i] < 0 || heads[i] >= n) return 3;
      arcs.emplace_back(static_cast<int>(tails[i]), static_cast<int>(heads[i]));
      if (i > 0 && arcs[i] < arcs[i - 1]) return 3;  // StaticDigraph: sorted by tail
    }
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
    // pivot: 0 block search (pylmcf's and LEMON's default), 1 altering candidate list,
    // 2 candidate list, 3 best eligible, 4 first eligible
    static const NS::PivotRule rules[] = {NS::BLOCK_SEARCH, NS::ALTERING_LIST,
                                          NS::CANDIDATE_LIST, NS::BEST_ELIGIBLE,
                                          NS::FIRST_ELIGIBLE};
    if (pivot < 0 || pivot > 4) return 3;
    const NS::ProblemType st = ns.run(rules[pivot]);
    if (st == NS::INFEASIBLE) return 1;
    if (st == NS::UNBOUNDED) return 2;
    bool huge = false;
    for (size_t i = 0; i < m; i++) flow_out[i] = ns.flow(g.arcFromId(static_cast<int>(i)));
    for (int i = 0; i < n; i++) {
      pot_out[i] = ns.potential(g.nodeFromId(i));
      if (pot_out[i] > (int64_t(1) << 50) || pot_out[i] < -(int64_t(1) << 50)) huge = true;
    }
    if (huge || canonical) {
      std::vector<int> starts(m), ends(m);
      for (size_t i = 0; i < m; i++) {
        starts[i] = arcs[i].first;
        ends[i] = arcs[i].second;
      }
      std::vector<int64_t> raw(pot_out, pot_out + n);
      canonical_potentials<int64_t, int64_t>(
          n, std::span<const int>(starts), std::span<const int>(ends),
          std::span<const int64_t>(costs, m), std::span<const int64_t>(caps, m),
          std::span<const int64_t>(), std::span<const int64_t>(flow_out, m),
          std::span<const int64_t>(raw), false, std::span<int64_t>(pot_out, n));
    }
    return 0;
  } catch (...) {
    return 3;
  }
}

"""The numba kernel of :mod:`vollsmose_gis.centrality` (see its notes).

Kept apart so that importing :mod:`vollsmose_gis.centrality` does not import numba;
the functions are compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["run"]


@njit(cache=True, nogil=True, inline="always")
def less(a1: float, a2: float, b1: float, b2: float) -> bool:
    """Lexicographic ``(a1, a2) < (b1, b2)``."""
    return a1 < b1 or (a1 == b1 and a2 < b2)


@njit(cache=True, nogil=True, inline="always")
def sift_up(hk1, hk2, hs, pos, i, k1, k2, item):
    """Place ``item`` with key ``(k1, k2)`` at heap slot ``i`` or above it."""
    while i > 0:
        parent = (i - 1) >> 1
        if less(k1, k2, hk1[parent], hk2[parent]):
            p = hs[parent]
            hk1[i] = hk1[parent]
            hk2[i] = hk2[parent]
            hs[i] = p
            pos[p] = i
            i = parent
        else:
            break
    hk1[i] = k1
    hk2[i] = k2
    hs[i] = item
    pos[item] = i


@njit(cache=True, nogil=True, inline="always")
def pop(hk1, hk2, hs, pos, size):
    """Remove the least entry of a heap of ``size``; return it and the new size."""
    top = hs[0]
    size -= 1
    if size > 0:
        k1 = hk1[size]
        k2 = hk2[size]
        item = hs[size]
        i = 0
        while True:
            child = 2 * i + 1
            if child >= size:
                break
            if child + 1 < size and less(hk1[child + 1], hk2[child + 1], hk1[child], hk2[child]):
                child += 1
            if less(hk1[child], hk2[child], k1, k2):
                c = hs[child]
                hk1[i] = hk1[child]
                hk2[i] = hk2[child]
                hs[i] = c
                pos[c] = i
                i = child
            else:
                break
        hk1[i] = k1
        hk2[i] = k2
        hs[i] = item
        pos[item] = i
    return top, size


@njit(cache=True, nogil=True)
def one_source(  # noqa: C901 - waiver: the compiled kernel is one loop (Dijkstra + Brandes accumulation per radius); numba inlines no helper calls cheaply
    src, indptr, indices, cost, length, k, radii, rmax, angular, edge_on, arc_edge,
    d1, d2, sigma, delta, order, hk1, hk2, hs, pos, status, acc,
    bet, ebet, count, farness, harmonic,
):  # fmt: skip
    n_radii = radii.shape[0]
    size = 0
    n_order = 0
    for j in range(k):
        s = src * k + j
        d1[s] = 0.0
        d2[s] = 0.0
        sigma[s] = 1.0
        status[s] = 1
        hk1[size] = 0.0
        hk2[size] = 0.0
        hs[size] = s
        pos[s] = size
        size += 1
    # ---- forward: Dijkstra on the lexicographic key (cost, length)
    while size > 0:
        v, size = pop(hk1, hk2, hs, pos, size)
        status[v] = 2
        order[n_order] = v
        n_order += 1
        dv1 = d1[v]
        dv2 = d2[v]
        sv = sigma[v]
        for a in range(indptr[v], indptr[v + 1]):
            nl = dv2 + length[a]
            if nl > rmax:
                continue
            w = indices[a]
            st = status[w]
            if st == 2:
                continue
            nc = dv1 + cost[a]
            if st == 0:
                d1[w] = nc
                d2[w] = nl
                sigma[w] = sv
                status[w] = 1
                size += 1
                sift_up(hk1, hk2, hs, pos, size - 1, nc, nl, w)
            elif less(nc, nl, d1[w], d2[w]):
                d1[w] = nc
                d2[w] = nl
                sigma[w] = sv
                sift_up(hk1, hk2, hs, pos, pos[w], nc, nl, w)
            elif nc == d1[w] and nl == d2[w]:
                sigma[w] += sv
    # ---- closeness: one representative state per reached item
    for i in range(n_order):
        v = order[i]
        item = v // k
        if item == src:
            continue
        if k == 2:
            u = v ^ 1
            if status[u] == 2 and (
                less(d1[u], d2[u], d1[v], d2[v]) or (d1[u] == d1[v] and d2[u] == d2[v] and u < v)
            ):
                continue
        c = d1[v]
        h = 1.0 / (1.0 + c) if angular else (1.0 / c if c > 0.0 else 0.0)
        r = 0
        while d2[v] > radii[r]:  # the largest radius holds every reached state
            r += 1
        acc[0, r] += 1.0  # per-radius sums, made cumulative below
        acc[1, r] += c
        acc[2, r] += h
    total_c = 0.0
    total_f = 0.0
    total_h = 0.0
    for r in range(n_radii):  # one write per source: no false sharing between workers
        total_c += acc[0, r]
        total_f += acc[1, r]
        total_h += acc[2, r]
        count[r, src] = total_c
        farness[r, src] = total_f
        harmonic[r, src] = total_h
        acc[0, r] = 0.0
        acc[1, r] = 0.0
        acc[2, r] = 0.0
    # ---- betweenness: one back-propagation sweep per radius (pull form)
    if bet.shape[1] > 0:
        for r in range(n_radii):
            rad = radii[r]
            for i in range(n_order - 1, -1, -1):
                v = order[i]
                if d2[v] > rad:
                    delta[v] = 0.0
                    continue
                dv1 = d1[v]
                dv2 = d2[v]
                sv = sigma[v]
                dep = 0.0
                for a in range(indptr[v], indptr[v + 1]):
                    w = indices[a]
                    if status[w] != 2:
                        continue
                    if d2[w] > rad or dv1 + cost[a] != d1[w] or dv2 + length[a] != d2[w]:
                        continue
                    # seed: w is (one of) the best state(s) of a target item
                    seed = 0.0
                    witem = w // k
                    if witem != src:
                        if k == 1:
                            seed = 1.0
                        else:
                            u = w ^ 1
                            if status[u] != 2 or less(d1[w], d2[w], d1[u], d2[u]):
                                seed = 1.0
                            elif d1[w] == d1[u] and d2[w] == d2[u]:
                                seed = sigma[w] / (sigma[w] + sigma[u])
                    contrib = sv / sigma[w] * (seed + delta[w])
                    dep += contrib
                    if edge_on:
                        ebet[r, arc_edge[a]] += contrib
                delta[v] = dep
                if v // k != src:
                    bet[r, v // k] += dep
    # ---- reset the touched states
    for i in range(n_order):
        v = order[i]
        d1[v] = np.inf
        d2[v] = np.inf
        sigma[v] = 0.0
        delta[v] = 0.0
        status[v] = 0


@njit(cache=True, parallel=True)
def run(
    indptr, indices, cost, length, k, radii, sources, angular, want_bet, edge_on,
    arc_edge, n_edges, n_threads, same_key,
):  # fmt: skip
    n_states = indptr.shape[0] - 1
    n_items = n_states // k
    n_radii = radii.shape[0]
    rmax = radii[n_radii - 1]
    nb = n_items if want_bet else 0
    ne = n_edges if edge_on else 0
    bet_t = np.zeros((n_threads, n_radii, nb))
    ebet_t = np.zeros((n_threads, n_radii, ne))
    count = np.zeros((n_radii, n_items))
    farness = np.zeros((n_radii, n_items))
    harmonic = np.zeros((n_radii, n_items))
    n_src = sources.shape[0]
    for t in prange(n_threads):
        d1 = np.full(n_states, np.inf)
        # cost == length (metric): the second key is the first; share its arrays
        d2 = d1 if same_key else np.full(n_states, np.inf)
        sigma = np.zeros(n_states)
        delta = np.zeros(n_states)
        order = np.empty(n_states, dtype=np.int32)
        hk1 = np.empty(n_states)
        hk2 = hk1 if same_key else np.empty(n_states)
        hs = np.empty(n_states, dtype=np.int32)
        pos = np.empty(n_states, dtype=np.int32)
        status = np.zeros(n_states, dtype=np.int8)
        acc = np.zeros((3, n_radii))
        for i in range(t, n_src, n_threads):
            one_source(
                sources[i], indptr, indices, cost, length, k, radii, rmax, angular,
                edge_on, arc_edge, d1, d2, sigma, delta, order, hk1, hk2, hs, pos, status, acc,
                bet_t[t], ebet_t[t], count, farness, harmonic,
            )  # fmt: skip
    bet = np.zeros((n_radii, nb))
    ebet = np.zeros((n_radii, ne))
    for t in range(n_threads):
        bet += bet_t[t]
        ebet += ebet_t[t]
    return bet, ebet, count, farness, harmonic

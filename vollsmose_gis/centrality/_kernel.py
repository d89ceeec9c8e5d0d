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
    return a1 < b1 or (a1 == b1 and a2 < b2)


@njit(cache=True, nogil=True)
def sift_up(heap, pos, d1, d2, i):  # type: ignore[no-untyped-def]
    item = heap[i]
    while i > 0:
        parent = (i - 1) >> 1
        p = heap[parent]
        if less(d1[item], d2[item], d1[p], d2[p]):
            heap[i] = p
            pos[p] = i
            i = parent
        else:
            break
    heap[i] = item
    pos[item] = i


@njit(cache=True, nogil=True)
def pop(heap, pos, d1, d2, size):  # type: ignore[no-untyped-def]
    top = heap[0]
    size -= 1
    if size > 0:
        item = heap[size]
        i = 0
        while True:
            child = 2 * i + 1
            if child >= size:
                break
            c = heap[child]
            if child + 1 < size:
                c2 = heap[child + 1]
                if less(d1[c2], d2[c2], d1[c], d2[c]):
                    child += 1
                    c = c2
            if less(d1[c], d2[c], d1[item], d2[item]):
                heap[i] = c
                pos[c] = i
                i = child
            else:
                break
        heap[i] = item
        pos[item] = i
    return top, size


@njit(cache=True, nogil=True)
def one_source(  # type: ignore[no-untyped-def]
    src, indptr, indices, cost, length, k, radii, rmax, angular, edge_on, arc_edge,
    d1, d2, sigma, delta, order, heap, pos, status,
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
        heap[size] = s
        pos[s] = size
        size += 1
    # ---- forward: Dijkstra on the lexicographic key (cost, length)
    while size > 0:
        v, size = pop(heap, pos, d1, d2, size)
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
                heap[size] = w
                pos[w] = size
                size += 1
                sift_up(heap, pos, d1, d2, size - 1)
            elif less(nc, nl, d1[w], d2[w]):
                d1[w] = nc
                d2[w] = nl
                sigma[w] = sv
                sift_up(heap, pos, d1, d2, pos[w])
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
        for r in range(n_radii):
            if d2[v] <= radii[r]:
                count[r, src] += 1.0
                farness[r, src] += c
                if angular:
                    harmonic[r, src] += 1.0 / (1.0 + c)
                elif c > 0.0:
                    harmonic[r, src] += 1.0 / c
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
                acc = 0.0
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
                    acc += contrib
                    if edge_on:
                        ebet[r, arc_edge[a]] += contrib
                delta[v] = acc
                if v // k != src:
                    bet[r, v // k] += acc
    # ---- reset the touched states
    for i in range(n_order):
        v = order[i]
        d1[v] = np.inf
        d2[v] = np.inf
        sigma[v] = 0.0
        delta[v] = 0.0
        status[v] = 0


@njit(cache=True, parallel=True)
def run(  # type: ignore[no-untyped-def]
    indptr, indices, cost, length, k, radii, sources, angular, want_bet, edge_on,
    arc_edge, n_edges, n_threads,
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
        d2 = np.full(n_states, np.inf)
        sigma = np.zeros(n_states)
        delta = np.zeros(n_states)
        order = np.empty(n_states, dtype=np.int32)
        heap = np.empty(n_states, dtype=np.int32)
        pos = np.empty(n_states, dtype=np.int32)
        status = np.zeros(n_states, dtype=np.int8)
        for i in range(t, n_src, n_threads):
            one_source(
                sources[i], indptr, indices, cost, length, k, radii, rmax, angular,
                edge_on, arc_edge, d1, d2, sigma, delta, order, heap, pos, status,
                bet_t[t], ebet_t[t], count, farness, harmonic,
            )  # fmt: skip
    bet = np.zeros((n_radii, nb))
    ebet = np.zeros((n_radii, ne))
    for t in range(n_threads):
        bet += bet_t[t]
        ebet += ebet_t[t]
    return bet, ebet, count, farness, harmonic

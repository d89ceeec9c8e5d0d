"""The numba kernel of the calming planner's search (:func:`planner._plan_chain`).

Kept apart so that importing :mod:`vollsmose_gis.calming` does not import numba; the
function is compiled on first use and cached on disk (``cache=True``).

It computes, for a batch of device variants, exactly what the NumPy expression of
:func:`vollsmose_gis.calming.speeds._evaluate` followed by the planner's "over target"
mask computes - the same IEEE operations in the same order, NaN propagated as
``np.minimum``/``np.clip`` and ignored as ``np.fmax`` - but one row at a time, without
the 2-D temporaries, and the peaks only of the intervals the row counts.  No
``fastmath``: results are bit for bit those of NumPy (``tests/test_calming.py`` compares
them).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["over_length", "over_mask", "relax_steps"]


@njit(cache=True, nogil=True, inline="always")
def _minimum(x: float, y: float) -> float:
    """``np.minimum``: NaN if either is NaN."""
    if math.isnan(x) or math.isnan(y):
        return math.nan
    return x if x <= y else y


@njit(cache=True, nogil=True, inline="always")
def _maximum(x: float, y: float) -> float:
    """``np.maximum``: NaN if either is NaN."""
    if math.isnan(x) or math.isnan(y):
        return math.nan
    return x if x >= y else y


@njit(cache=True, nogil=True, inline="always")
def _fmax(x: float, y: float) -> float:
    """``np.fmax``: the other value if one is NaN."""
    if math.isnan(x):
        return y
    if math.isnan(y):
        return x
    return x if x >= y else y


@njit(cache=True, nogil=True, inline="always")
def _peak(rise: float, fall: float, r1: float, r2: float, d: float, cap_free: float) -> float:
    """``speeds._evaluate.peak`` for one interval (squared speed, (m/s)²)."""
    t = _minimum(_maximum((fall + r2 * d - rise) / (r1 + r2), 0.0), d)
    return _minimum(_minimum(rise + r1 * t, fall + r2 * (d - t)), cap_free)


@njit(cache=True, nogil=True)
def _running_minima(
    X: np.ndarray, cap2: np.ndarray, rate: float, behind: np.ndarray, ahead: np.ndarray
) -> None:
    """The running minima inside ``speeds._envelope``, before ``rate · X`` is put back.

    As NumPy's ``minimum.accumulate``: ``behind[k]`` is the minimum of
    ``cap2[j] - rate · X[j]`` over ``j ≤ k``, ``ahead[k]`` of ``cap2[j] + rate · X[j]``
    over ``j ≥ k`` (NaN if any term is).
    """
    w = X.shape[0]
    for k in range(w):
        value = cap2[k] - rate * X[k]
        behind[k] = value if k == 0 else _minimum(behind[k - 1], value)
    for k in range(w - 1, -1, -1):
        value = cap2[k] + rate * X[k]
        ahead[k] = value if k == w - 1 else _minimum(ahead[k + 1], value)


@njit(cache=True, nogil=True, inline="always")
def _after(values: np.ndarray, x: float, n: int) -> int:
    """First index of the sorted ``values[:n]`` whose value is > ``x`` (``n`` if none)."""
    first, last = 0, n
    while first < last:
        middle = (first + last) // 2
        if values[middle] > x:
            last = middle
        else:
            first = middle + 1
    return first


@njit(cache=True, nogil=True)
def over_mask(
    X: np.ndarray,
    right: np.ndarray,
    cap2: np.ndarray,
    devices: np.ndarray,
    device_cap2: np.ndarray,
    ok_f: np.ndarray,
    ok_b: np.ndarray,
    cap_free: np.ndarray,
    counted: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    eps: float,
    a2: float,
    b2: float,
    limit2: float,
) -> np.ndarray:
    """Per variant and interval: the interval counts and its peak exceeds ``limit2``.

    Parameters
    ----------
    X
        Global sample coordinates of the window, m (``W``).
    right
        Chain position of each interval's right end, m (``W - 1``).
    cap2
        Squared speed caps of the window's samples without the variants' devices.
    devices
        ``(R, k)`` window sample indices of each variant's devices, -1 for none.
    device_cap2
        ``(R, k)`` squared crossing speed of those devices.
    ok_f, ok_b
        Per sample: travel allowed along / against the chain.
    cap_free
        Per interval: the squared free speed of its edge.
    counted
        Per interval: valid (one edge, a length) and in the target scope.
    lo, hi
        Per variant: the intervals ending in ``(lo, hi]`` are counted.
    eps
        Tolerance of those bounds, m.
    a2, b2
        Twice the acceleration and the braking, m/s².
    limit2
        Squared speed limit, (m/s)².

    Returns
    -------
    ndarray
        ``(R, W - 1)`` booleans.
    """
    n_rows = devices.shape[0]
    n_devices = devices.shape[1]
    w = X.shape[0]
    out = np.zeros((n_rows, max(w - 1, 0)), dtype=np.bool_)
    # The running minima of the window without the variants' devices, once per call.
    # A row's devices lower the caps at a few samples only, and a minimum is exact
    # whatever the order of its terms, so the row's minimum at k is that of the window
    # and of its device terms on the same side of k.  A device term is
    # ``min(cap, device) ∓ rate · X`` in `_evaluate`; rounding is monotonic, so that is
    # ``min(cap ∓ rate · X, device ∓ rate · X)`` bit for bit, and the first term is
    # already in the window's minimum.  NaN propagates as before: any NaN term gives NaN.
    acc_behind = np.empty(w)
    brk_behind = np.empty(w)
    acc_ahead = np.empty(w)
    brk_ahead = np.empty(w)
    _running_minima(X, cap2, a2, acc_behind, acc_ahead)
    _running_minima(X, cap2, b2, brk_behind, brk_ahead)
    # intervals ending in (low, top] are a run of them when `right` is sorted (the
    # planner's): find its ends by bisection rather than testing every interval
    ordered = True
    for i in range(1, w - 1):
        if not right[i] >= right[i - 1]:  # also False with NaN
            ordered = False
            break
    at = np.empty(n_devices, dtype=np.int64)
    acc_minus = np.empty(n_devices)
    brk_minus = np.empty(n_devices)
    acc_plus = np.empty(n_devices)
    brk_plus = np.empty(n_devices)
    for r in range(n_rows):
        n = 0
        for j in range(n_devices):
            k = devices[r, j]
            if 0 <= k < w:
                at[n] = k
                acc_minus[n] = device_cap2[r, j] - a2 * X[k]
                brk_minus[n] = device_cap2[r, j] - b2 * X[k]
                acc_plus[n] = device_cap2[r, j] + a2 * X[k]
                brk_plus[n] = device_cap2[r, j] + b2 * X[k]
                n += 1
        low = lo[r] + eps
        top = hi[r] + eps
        begin, end = 0, w - 1
        if ordered:
            if math.isnan(low) or math.isnan(top):
                continue  # no interval is counted
            begin = _after(right, low, w - 1)
            end = max(_after(right, top, w - 1), begin)
        for i in range(begin, end):
            if not counted[i] or not (right[i] > low and right[i] <= top):
                continue
            ab = acc_behind[i]
            bb = brk_behind[i]
            aa = acc_ahead[i + 1]
            ba = brk_ahead[i + 1]
            for m in range(n):
                if at[m] <= i:
                    ab = _minimum(ab, acc_minus[m])
                    bb = _minimum(bb, brk_minus[m])
                else:
                    aa = _minimum(aa, acc_plus[m])
                    ba = _minimum(ba, brk_plus[m])
            ab = ab + a2 * X[i]
            bb = bb + b2 * X[i]
            aa = aa - a2 * X[i + 1]
            ba = ba - b2 * X[i + 1]
            d = X[i + 1] - X[i]
            pf = math.nan
            pb = math.nan
            if ok_f[i]:
                pf = _peak(ab, ba, a2, b2, d, cap_free[i])
            if ok_b[i]:
                pb = _peak(bb, aa, b2, a2, d, cap_free[i])
            peak2 = _fmax(pf, pb)
            out[r, i] = (-1.0 if math.isnan(peak2) else peak2) > limit2
    return out


@njit(cache=True, nogil=True)
def _block_sum(values: np.ndarray, first: int, n: int) -> float:
    """NumPy's pairwise sum of at most 128 terms: a plain loop below 8, else eight
    running sums combined pairwise, then the remainder.
    """
    if n < 8:
        total = -0.0
        for i in range(first, first + n):
            total += values[i]
        return total
    r0 = values[first]
    r1 = values[first + 1]
    r2 = values[first + 2]
    r3 = values[first + 3]
    r4 = values[first + 4]
    r5 = values[first + 5]
    r6 = values[first + 6]
    r7 = values[first + 7]
    i = 8
    while i < n - n % 8:
        k = first + i
        r0 += values[k]
        r1 += values[k + 1]
        r2 += values[k + 2]
        r3 += values[k + 3]
        r4 += values[k + 4]
        r5 += values[k + 5]
        r6 += values[k + 6]
        r7 += values[k + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += values[first + i]
        i += 1
    return total


@njit(cache=True, nogil=True)
def _pairwise_sum(values: np.ndarray, n: int) -> float:
    """NumPy's pairwise summation of ``values[:n]`` (``pairwise_sum_DOUBLE`` in
    ``loops_utils.h``): blocks of at most 128 terms, longer runs cut in two halves
    (the first a multiple of 8) summed apart and added.  Without recursion (numba's
    disk cache does not keep recursive functions): the halves on an explicit stack.
    """
    if n <= 128:
        return _block_sum(values, 0, n)
    starts = np.empty(128, dtype=np.int64)
    sizes = np.empty(128, dtype=np.int64)
    joins = np.empty(128, dtype=np.bool_)
    sums = np.empty(128)
    starts[0], sizes[0], joins[0] = 0, n, False
    tasks, done = 1, 0
    while tasks:
        tasks -= 1
        if joins[tasks]:  # both halves summed: left + right
            done -= 1
            sums[done - 1] = sums[done - 1] + sums[done]
            continue
        first, size = starts[tasks], sizes[tasks]
        if size <= 128:
            sums[done] = _block_sum(values, first, size)
            done += 1
            continue
        half = size // 2
        half -= half % 8
        # popped in the order: left half, right half, their sum
        joins[tasks] = True
        starts[tasks + 1], sizes[tasks + 1], joins[tasks + 1] = first + half, size - half, False
        starts[tasks + 2], sizes[tasks + 2], joins[tasks + 2] = first, half, False
        tasks += 3
    return sums[0]


@njit(cache=True, nogil=True)
def _numpy_sum(values: np.ndarray) -> float:
    """``values.sum()`` as NumPy computes a row of ``sum(axis=1)``: buffers of 8,192
    terms, each summed pairwise onto the running total (0.0 first).
    """
    n = values.shape[0]
    total = 0.0
    for start in range(0, n, 8192):
        total += _pairwise_sum(values[start:], min(n - start, 8192))
    return total


@njit(cache=True, nogil=True)
def over_length(
    X: np.ndarray,
    right: np.ndarray,
    cap2: np.ndarray,
    devices: np.ndarray,
    device_cap2: np.ndarray,
    ok_f: np.ndarray,
    ok_b: np.ndarray,
    cap_free: np.ndarray,
    counted: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    eps: float,
    a2: float,
    b2: float,
    limit2: float,
    length: np.ndarray,
) -> np.ndarray:
    """Per variant, the length over the limit: ``(over_mask(...) * length).sum(axis=1)``.

    The same bits as that NumPy expression (the product per interval, then NumPy's
    pairwise sum of each row onto 0.0), without the ``(R, W - 1)`` float temporary.

    Parameters
    ----------
    X, right, cap2, devices, device_cap2, ok_f, ok_b, cap_free, counted, lo, hi, eps, a2, b2, limit2
        As :func:`over_mask`.
    length
        Per interval: its length, m (``W - 1``).

    Returns
    -------
    ndarray
        ``(R,)`` lengths, m.
    """
    mask = over_mask(
        X, right, cap2, devices, device_cap2, ok_f, ok_b, cap_free, counted, lo, hi, eps,
        a2, b2, limit2,
    )  # fmt: skip
    n_rows, n = mask.shape
    out = np.empty(n_rows)
    values = np.empty(n)
    # a row with no interval over the limit sums 0.0 * length: the same for all of them
    for i in range(n):
        values[i] = 0.0 * length[i]
    none_over = _numpy_sum(values)
    for r in range(n_rows):
        if not mask[r].any():
            out[r] = none_over
            continue
        for i in range(n):
            values[i] = (1.0 if mask[r, i] else 0.0) * length[i]
        out[r] = _numpy_sum(values)
    return out


@njit(cache=True, nogil=True)
def relax_steps(
    best: np.ndarray,
    parent: np.ndarray,
    bounds: np.ndarray,
    step_to: np.ndarray,
    step_cost: np.ndarray,
    infinite: int,
) -> None:
    """The planner's shortest path over its acyclic step graph, in place.

    For each candidate ``p`` in order (steps only go ahead, ``q > p``) that is reached
    (``best[p] < infinite``): every step ``p -> q`` (``bounds[p]:bounds[p + 1]`` of
    ``step_to``/``step_cost``, distinct ``q``) that lowers ``best[q]`` sets it and
    ``parent[q] = p`` - the NumPy loop of ``planner._fewest_devices``, with the same
    int64 sums.

    Parameters
    ----------
    best, parent
        Per candidate: the cost so far (``infinite`` if not reached) and the previous
        candidate (-1 none); updated.
    bounds
        Per candidate, the first of its steps (``n + 1``, the steps sorted by origin).
    step_to, step_cost
        Per step: its end and its cost.
    infinite
        The cost of an unreached candidate.
    """
    for p in range(best.shape[0]):
        if best[p] == infinite:
            continue
        for s in range(bounds[p], bounds[p + 1]):
            q = step_to[s]
            total = best[p] + step_cost[s]
            if total < best[q]:
                best[q] = total
                parent[q] = p

"""Numeric kernels of the ETAS expectation-maximisation fit (private).

Two implementations of the same E-step give the same answer:

- the *indexed* path: :func:`space_time_pairs` lists, once per fit, every (parent, child) pair
  within the space and time cut-offs using a bucket grid of ``max_distance`` cells over
  time-sorted events (a binary search in each of the 9 neighbouring buckets), so the number of
  pairs, and the E-step's cost, grow about linearly with the number of events at a given
  density; :func:`estep_pairs` then runs one fused numba loop over the pairs;
- the *reference* path: :func:`estep_dense`, plain numpy over all ``n * n`` pairs (in blocks of
  children to bound memory), with the cut-offs applied as masks. It is quadratic and serves as
  the naive baseline in ``bench/etas_bench.py`` and as the oracle in the tests.

Both return the same sufficient statistics for the M-step: the background probability of each
event, and, over the triggered probabilities ``p_ij`` (split over the scales of a mixture of
Gaussian kernels), the sums per parent mark, the sum of ``p_ij * dt_ij``, and per scale the sum
of ``p_ij`` and of ``p_ij * d_ij**2``; plus ``sum(log lambda_j)``.

:func:`loo_kernel_weights` gives, for listed pairs, the weight one event's background kernel
puts on the other's pixel, exactly as the raster smoothing does, so that near-in-time
neighbours can be left out of each event's background density.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "space_time_pairs",
    "space_time_pairs_dense",
    "estep_pairs",
    "estep_dense",
    "estep_pairs_mix",
    "estep_dense_mix",
    "gaussian_weights_1d",
    "loo_kernel_weights",
]


@numba.njit(cache=True)
def _bucket_pass(
    t: FloatArray,
    x: FloatArray,
    y: FloatArray,
    bx: IntArray,
    by: IntArray,
    nbx: int,
    nby: int,
    order: IntArray,
    ptr: IntArray,
    max_days: float,
    max_d2: float,
    parent: IntArray,
    child: IntArray,
    fill: bool,
) -> int:
    n = t.shape[0]
    k = 0
    for j in range(n):
        tj = t[j]
        lo_t = tj - max_days
        for ddy in range(-1, 2):
            cy = by[j] + ddy
            if cy < 0 or cy >= nby:
                continue
            for ddx in range(-1, 2):
                cx = bx[j] + ddx
                if cx < 0 or cx >= nbx:
                    continue
                b = cy * nbx + cx
                a = ptr[b]
                e = ptr[b + 1]
                # binary search: first event in this bucket with t >= tj - max_days
                lo = a
                hi = e
                while lo < hi:
                    mid = (lo + hi) // 2
                    if t[order[mid]] < lo_t:
                        lo = mid + 1
                    else:
                        hi = mid
                for q in range(lo, e):
                    i = order[q]
                    ti = t[i]
                    if ti >= tj:
                        break
                    dxx = x[j] - x[i]
                    dyy = y[j] - y[i]
                    if dxx * dxx + dyy * dyy <= max_d2:
                        if fill:
                            parent[k] = i
                            child[k] = j
                        k += 1
    return k


def space_time_pairs(
    t: FloatArray, x: FloatArray, y: FloatArray, *, max_days: float, max_distance: float
) -> tuple[IntArray, IntArray]:
    """All pairs ``(i, j)`` with ``0 < t_j - t_i <= max_days`` and distance ``<= max_distance``.

    ``t`` must be sorted ascending. Returns ``(parent, child)`` index arrays, grouped by child
    (child non-decreasing) and, within a child, in no particular order.
    """
    n = t.shape[0]
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if np.any(np.diff(t) < 0):
        raise ValueError("space_time_pairs needs times sorted ascending")
    cell = float(max_distance)
    bx = np.floor((x - x.min()) / cell).astype(np.int64)
    by = np.floor((y - y.min()) / cell).astype(np.int64)
    nbx = int(bx.max()) + 1
    nby = int(by.max()) + 1
    key = by * nbx + bx
    order = np.argsort(key, kind="stable").astype(np.int64)  # stable: time order kept per bucket
    ptr = np.zeros(nbx * nby + 1, dtype=np.int64)
    np.cumsum(np.bincount(key, minlength=nbx * nby), out=ptr[1:])
    args = (t, x, y, bx, by, nbx, nby, order, ptr, float(max_days), cell * cell)
    empty = np.zeros(0, np.int64)
    total = _bucket_pass(*args, empty, empty, False)
    parent = np.empty(total, np.int64)
    child = np.empty(total, np.int64)
    _bucket_pass(*args, parent, child, True)
    return parent, child


def space_time_pairs_dense(
    t: FloatArray, x: FloatArray, y: FloatArray, *, max_days: float, max_distance: float
) -> tuple[IntArray, IntArray]:
    """Plain numpy reference of :func:`space_time_pairs` (quadratic memory: small inputs)."""
    dt = t[None, :] - t[:, None]  # [i, j] = t_j - t_i
    d2 = (x[None, :] - x[:, None]) ** 2 + (y[None, :] - y[:, None]) ** 2
    ok = (dt > 0) & (dt <= max_days) & (d2 <= max_distance**2)
    parent, child = np.nonzero(ok)
    order = np.lexsort((parent, child))
    return parent[order].astype(np.int64), child[order].astype(np.int64)


@numba.njit(cache=True)
def _estep_pairs(
    parent: IntArray,
    child: IntArray,
    dt: FloatArray,
    d2: FloatArray,
    parent_mark: IntArray,
    theta: FloatArray,
    omega: float,
    sigmas: FloatArray,
    weights: FloatArray,
    mu: FloatArray,
) -> tuple[FloatArray, FloatArray, float, FloatArray, FloatArray, float]:
    n = mu.shape[0]
    m = parent.shape[0]
    n_scales = sigmas.shape[0]
    lam = mu.copy()
    trig = np.empty((m, n_scales))
    norm = np.empty(n_scales)
    inv2s2 = np.empty(n_scales)
    for c in range(n_scales):
        norm[c] = weights[c] * omega / (2.0 * math.pi * sigmas[c] * sigmas[c])
        inv2s2[c] = 1.0 / (2.0 * sigmas[c] * sigmas[c])
    for k in range(m):
        base = theta[parent_mark[k]] * math.exp(-omega * dt[k])
        for c in range(n_scales):
            v = base * norm[c] * math.exp(-d2[k] * inv2s2[c])
            trig[k, c] = v
            lam[child[k]] += v
    s_mark = np.zeros(theta.shape[0])
    s_scale = np.zeros(n_scales)
    s_d2 = np.zeros(n_scales)
    s_dt = 0.0
    for k in range(m):
        inv = 1.0 / lam[child[k]]
        for c in range(n_scales):
            p = trig[k, c] * inv
            s_mark[parent_mark[k]] += p
            s_scale[c] += p
            s_d2[c] += p * d2[k]
            s_dt += p * dt[k]
    p_bg = np.empty(n)
    loglik = 0.0
    for j in range(n):
        p_bg[j] = mu[j] / lam[j]
        loglik += math.log(lam[j])
    return p_bg, s_mark, s_dt, s_scale, s_d2, loglik


EStep = tuple[FloatArray, FloatArray, float, FloatArray, FloatArray, float]


def _scales(sigma: float | FloatArray, weights: FloatArray | None) -> tuple[FloatArray, FloatArray]:
    sig = np.atleast_1d(np.asarray(sigma, dtype=np.float64))
    w = np.ones(1) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != sig.shape:
        raise ValueError("one mixture weight per triggering scale")
    return sig, w


def estep_pairs(
    parent: IntArray,
    child: IntArray,
    t: FloatArray,
    x: FloatArray,
    y: FloatArray,
    mark_index: IntArray,
    theta: FloatArray,
    omega: float,
    sigma: float | FloatArray,
    mu: FloatArray,
    weights: FloatArray | None = None,
) -> EStep:
    """E-step over a precomputed pair list (see module docstring for the returned values).

    ``sigma`` may be one scale or several (a mixture of Gaussians with ``weights``); the
    statistics per scale are the triggered probability mass and its sum of squared distances.
    """
    sig, w = _scales(sigma, weights)
    dt = t[child] - t[parent]
    d2 = (x[child] - x[parent]) ** 2 + (y[child] - y[parent]) ** 2
    result: EStep = _estep_pairs(
        parent, child, dt, d2, mark_index[parent], theta, float(omega), sig, w, mu
    )
    return result


def estep_dense(
    t: FloatArray,
    x: FloatArray,
    y: FloatArray,
    mark_index: IntArray,
    theta: FloatArray,
    omega: float,
    sigma: float | FloatArray,
    mu: FloatArray,
    *,
    max_days: float,
    max_distance: float,
    weights: FloatArray | None = None,
    block: int = 1024,
) -> EStep:
    """Reference E-step over all ``n * n`` pairs, plain numpy, cut-offs applied as masks.

    Quadratic in time (memory bounded by ``block * n``): the naive EM of Mohler et al. (2011).
    """
    sig, w = _scales(sigma, weights)
    n = t.shape[0]
    s_mark = np.zeros(theta.shape[0])
    s_scale = np.zeros(sig.size)
    s_d2 = np.zeros(sig.size)
    s_dt = 0.0
    p_bg = np.empty(n)
    loglik = 0.0
    theta_i = theta[mark_index]
    for a in range(0, n, block):
        b = min(n, a + block)
        dt = t[a:b, None] - t[None, :]  # [j, i] = t_j - t_i
        d2 = (x[a:b, None] - x[None, :]) ** 2 + (y[a:b, None] - y[None, :]) ** 2
        ok = (dt > 0) & (dt <= max_days) & (d2 <= max_distance**2)
        time_part = np.where(ok, theta_i[None, :] * np.exp(-omega * np.where(ok, dt, 0.0)), 0.0)
        comps = [
            time_part * (wc * omega / (2 * np.pi * sc * sc)) * np.exp(-d2 / (2 * sc * sc))
            for sc, wc in zip(sig, w, strict=True)
        ]
        trig = np.sum(comps, axis=0)
        lam = mu[a:b] + trig.sum(axis=1)
        for c, comp in enumerate(comps):
            p = comp / lam[:, None]
            s_mark += np.bincount(mark_index, weights=p.sum(axis=0), minlength=theta.shape[0])
            s_scale[c] += float(p.sum())
            s_d2[c] += float((p * d2).sum())
            s_dt += float((p * np.where(ok, dt, 0.0)).sum())
        p_bg[a:b] = mu[a:b] / lam
        loglik += float(np.log(lam).sum())
    return p_bg, s_mark, s_dt, s_scale, s_d2, loglik


def gaussian_weights_1d(sigma_px: float) -> FloatArray:
    """1-D weights of :func:`scipy.ndimage.gaussian_filter` (``truncate=4``), offset 0 first."""
    from scipy.ndimage import gaussian_filter1d

    radius = int(4.0 * sigma_px + 0.5)
    impulse = np.zeros(2 * radius + 1)
    impulse[radius] = 1.0
    out = gaussian_filter1d(impulse, sigma_px, mode="constant", truncate=4.0)
    return np.asarray(out[radius:], dtype=np.float64)


def loo_kernel_weights(
    pix_from: IntArray, pix_to: IntArray, nx: int, weights_1d: FloatArray
) -> FloatArray:
    """Weight a unit mass at pixel ``pix_from`` puts on pixel ``pix_to`` after the separable
    Gaussian filter with 1-D weights ``weights_1d`` (0 beyond the truncation radius)."""
    rf, cf = np.divmod(pix_from, nx)
    rt, ct = np.divmod(pix_to, nx)
    dr = np.abs(rt - rf)
    dc = np.abs(ct - cf)
    r = weights_1d.size
    ok = (dr < r) & (dc < r) & (pix_from >= 0) & (pix_to >= 0)
    out = np.zeros(pix_from.shape)
    out[ok] = weights_1d[dr[ok]] * weights_1d[dc[ok]]
    return out


# -- two time scales ---------------------------------------------------------------------------
# The triggering kernel theta_m * [sum_a v_a omega_a e^{-omega_a dt}] * [sum_c w_c g_c(d)]: a
# mixture of exponentials in time (a short and a long scale) times a mixture of Gaussians in
# space. The product is separable, so the E-step's statistics per time component (mass and
# mass-weighted delay) and per space component (mass and mass-weighted squared distance) are
# the marginals of the pair's responsibilities over the other mixture.

EStepMix = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, float]


@numba.njit(cache=True)
def _estep_pairs_mix(
    parent: IntArray,
    child: IntArray,
    dt: FloatArray,
    d2: FloatArray,
    parent_mark: IntArray,
    theta: FloatArray,
    omegas: FloatArray,
    time_weights: FloatArray,
    sigmas: FloatArray,
    weights: FloatArray,
    mu: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, float]:
    n = mu.shape[0]
    m = parent.shape[0]
    n_time = omegas.shape[0]
    n_scales = sigmas.shape[0]
    lam = mu.copy()
    tpart = np.empty((m, n_time))
    spart = np.empty((m, n_scales))
    tnorm = np.empty(n_time)
    snorm = np.empty(n_scales)
    inv2s2 = np.empty(n_scales)
    for a in range(n_time):
        tnorm[a] = time_weights[a] * omegas[a]
    for c in range(n_scales):
        snorm[c] = weights[c] / (2.0 * math.pi * sigmas[c] * sigmas[c])
        inv2s2[c] = 1.0 / (2.0 * sigmas[c] * sigmas[c])
    total = np.empty(m)
    for k in range(m):
        ts = 0.0
        for a in range(n_time):
            v = tnorm[a] * math.exp(-omegas[a] * dt[k])
            tpart[k, a] = v
            ts += v
        ss = 0.0
        for c in range(n_scales):
            v = snorm[c] * math.exp(-d2[k] * inv2s2[c])
            spart[k, c] = v
            ss += v
        v = theta[parent_mark[k]] * ts * ss
        total[k] = v
        lam[child[k]] += v
    s_mark = np.zeros(theta.shape[0])
    s_time = np.zeros(n_time)
    s_dt = np.zeros(n_time)
    s_scale = np.zeros(n_scales)
    s_d2 = np.zeros(n_scales)
    for k in range(m):
        p = total[k] / lam[child[k]]
        if p <= 0.0:
            continue
        s_mark[parent_mark[k]] += p
        ts = 0.0
        for a in range(n_time):
            ts += tpart[k, a]
        for a in range(n_time):
            q = p * tpart[k, a] / ts
            s_time[a] += q
            s_dt[a] += q * dt[k]
        ss = 0.0
        for c in range(n_scales):
            ss += spart[k, c]
        for c in range(n_scales):
            q = p * spart[k, c] / ss
            s_scale[c] += q
            s_d2[c] += q * d2[k]
    p_bg = np.empty(n)
    loglik = 0.0
    for j in range(n):
        p_bg[j] = mu[j] / lam[j]
        loglik += math.log(lam[j])
    return p_bg, s_mark, s_time, s_dt, s_scale, s_d2, loglik


def _mix_scales(
    omegas: FloatArray, time_weights: FloatArray, sigmas: FloatArray, weights: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The time decays and their mixture weights as float arrays of one shape, and the space
    scales and weights as :func:`_scales` checks them (both E-steps of the mixture)."""
    om = np.asarray(omegas, dtype=np.float64)
    tw = np.asarray(time_weights, dtype=np.float64)
    sig, w = _scales(sigmas, weights)
    if om.shape != tw.shape:
        raise ValueError("one mixture weight per time scale")
    return om, tw, sig, w


def estep_pairs_mix(
    parent: IntArray,
    child: IntArray,
    t: FloatArray,
    x: FloatArray,
    y: FloatArray,
    mark_index: IntArray,
    theta: FloatArray,
    omegas: FloatArray,
    time_weights: FloatArray,
    sigmas: FloatArray,
    mu: FloatArray,
    weights: FloatArray,
) -> EStepMix:
    """E-step over a precomputed pair list with a mixture of exponentials in time.

    Returns the background probability of each event, the triggered mass per parent mark, per
    time component its mass and its sum of ``p * dt``, per space component its mass and its sum
    of ``p * d**2``, and ``sum(log lambda_j)``. :func:`estep_dense_mix` is its reference.
    """
    om, tw, sig, w = _mix_scales(omegas, time_weights, sigmas, weights)
    dt = t[child] - t[parent]
    d2 = (x[child] - x[parent]) ** 2 + (y[child] - y[parent]) ** 2
    result: EStepMix = _estep_pairs_mix(
        parent, child, dt, d2, mark_index[parent], theta, om, tw, sig, w, mu
    )
    return result


def estep_dense_mix(
    t: FloatArray,
    x: FloatArray,
    y: FloatArray,
    mark_index: IntArray,
    theta: FloatArray,
    omegas: FloatArray,
    time_weights: FloatArray,
    sigmas: FloatArray,
    mu: FloatArray,
    weights: FloatArray,
    *,
    max_days: float,
    max_distance: float,
    block: int = 1024,
) -> EStepMix:
    """Reference of :func:`estep_pairs_mix`: plain numpy over all ``n * n`` pairs, one array
    per (time, space) component, cut-offs applied as masks."""
    om, tw, sig, w = _mix_scales(omegas, time_weights, sigmas, weights)
    n = t.shape[0]
    s_mark = np.zeros(theta.shape[0])
    s_time = np.zeros(om.size)
    s_dt = np.zeros(om.size)
    s_scale = np.zeros(sig.size)
    s_d2 = np.zeros(sig.size)
    p_bg = np.empty(n)
    loglik = 0.0
    theta_i = theta[mark_index]
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        dt = t[lo:hi, None] - t[None, :]  # [j, i] = t_j - t_i
        d2 = (x[lo:hi, None] - x[None, :]) ** 2 + (y[lo:hi, None] - y[None, :]) ** 2
        ok = (dt > 0) & (dt <= max_days) & (d2 <= max_distance**2)
        dts = np.where(ok, dt, 0.0)
        comps = {
            (a, c): np.where(
                ok,
                theta_i[None, :] * tw[a] * om[a] * np.exp(-om[a] * dts)
                * (w[c] / (2 * np.pi * sig[c] ** 2)) * np.exp(-d2 / (2 * sig[c] ** 2)),
                0.0,
            )
            for a in range(om.size)
            for c in range(sig.size)
        }  # fmt: skip
        lam = mu[lo:hi] + sum(v.sum(axis=1) for v in comps.values())
        for (a, c), comp in comps.items():
            p = comp / lam[:, None]
            s_mark += np.bincount(mark_index, weights=p.sum(axis=0), minlength=theta.shape[0])
            s_time[a] += float(p.sum())
            s_dt[a] += float((p * dts).sum())
            s_scale[c] += float(p.sum())
            s_d2[c] += float((p * d2).sum())
        p_bg[lo:hi] = mu[lo:hi] / lam
        loglik += float(np.log(lam).sum())
    return p_bg, s_mark, s_time, s_dt, s_scale, s_d2, loglik

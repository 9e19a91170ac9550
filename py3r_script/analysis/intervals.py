"""The mean of a point's replicates and its 95 % confidence interval: the one rule every
table and plot of a replicated sweep uses.

Student's t quantiles are computed here, from the regularised incomplete beta function
(a continued fraction, as in Numerical Recipes' ``betacf``), so SciPy is not needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["CONFIDENCE", "Interval", "mean_interval", "t_cdf", "t_quantile"]

CONFIDENCE = 0.95  # of every confidence interval of the mean


@dataclass(frozen=True)
class Interval:
    """The replicates of one point: how many had a value (``n``), their mean, sample
    standard deviation and the 95 % confidence interval of the mean (``low``, ``high``);
    ``std``, ``low`` and ``high`` are NaN for fewer than 2 values, all NaN for none."""

    n: int
    mean: float
    std: float
    low: float
    high: float


def mean_interval(values: Iterable[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean, standard deviation and Student-t confidence interval of ``values`` (NaN
    values are left out: they are no value).

    >>> iv = mean_interval([1.0, 2.0, 3.0])
    >>> iv.n, iv.mean, iv.std, round(iv.low, 3), round(iv.high, 3)
    (3, 2.0, 1.0, -0.484, 4.484)
    >>> math.isnan(mean_interval([5.0]).std)
    True
    """
    numbers = [float(v) for v in values if v == v]
    n = len(numbers)
    if n == 0:
        return Interval(0, math.nan, math.nan, math.nan, math.nan)
    mean = math.fsum(numbers) / n
    if n == 1:
        return Interval(1, mean, math.nan, math.nan, math.nan)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in numbers) / (n - 1))
    half = t_quantile(0.5 + confidence / 2, n - 1) * std / math.sqrt(n)
    return Interval(n, mean, std, mean - half, mean + half)


def t_cdf(t: float, df: float) -> float:
    """Student's t distribution function with ``df`` degrees of freedom.

    >>> round(t_cdf(0.0, 5), 6), round(t_cdf(2.262157, 9), 4)
    (0.5, 0.975)
    """
    x = df / (df + t * t)
    tail = 0.5 * _incomplete_beta(x, df / 2.0, 0.5)
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (bisection on
    :func:`t_cdf`, to 1e-10).

    >>> round(t_quantile(0.975, 2), 3), round(t_quantile(0.975, 9), 3)
    (4.303, 2.262)
    >>> round(t_quantile(0.975, 30), 3)
    2.042
    """
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError(f"t_quantile needs 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2.0
    while high - low > 1e-10 * max(1.0, high):
        middle = (low + high) / 2.0
        low, high = (middle, high) if t_cdf(middle, df) < p else (low, middle)
    return (low + high) / 2.0


def _incomplete_beta(x: float, a: float, b: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log(1.0 - x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(1.0 - x, b, a) / b


def _beta_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return result

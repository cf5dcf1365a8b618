"""Spot / On-Demand split arithmetic: how a pool's `spotRatio` becomes whole spread-label values.

Pure; the node pool rules check ratios with it and the renderer re-exports it.
"""

from __future__ import annotations

from fractions import Fraction

MAX_SPREAD_VALUES = 10
"""A mixed pool's Spot and On-Demand NodePools share at most this many spread-label values."""

_EXACT = 1e-9


def _split_text(fraction: Fraction) -> str:
    spot = fraction.numerator
    return f"{spot}:{fraction.denominator - spot}"


def _decimal_text(fraction: Fraction) -> str:
    return f"{float(fraction):.3f}".rstrip("0").rstrip(".") if fraction not in (0, 1) else str(int(fraction))


def _typeable(fraction: Fraction) -> bool:
    """True when the fraction is a finite decimal (denominator of 2s and 5s), so a config can state it."""
    d = fraction.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def nearby_ratios(ratio: float, max_values: int = MAX_SPREAD_VALUES, count: int = 3) -> list[Fraction]:
    """The `count` ratios nearest to `ratio` that need at most `max_values` values and that a decimal
    in a stack file states exactly (1/3 is left out: 0.333 is not 1/3), in increasing order."""
    candidates = {
        Fraction(n, d) for d in range(1, max_values + 1) for n in range(d + 1) if _typeable(Fraction(n, d))
    }
    nearest = sorted(candidates, key=lambda f: (abs(float(f) - ratio), f))[:count]
    return sorted(nearest)


def spot_split(ratio: float, max_values: int = MAX_SPREAD_VALUES) -> tuple[int, int]:
    """`(spot_values, on_demand_values)`: the exact fraction `ratio` with the fewest values.

    0.7 -> (7, 3), 0.75 -> (3, 1), 0.8 -> (4, 1), 0.5 -> (1, 1), 1 -> (1, 0), 0 -> (0, 1). A ratio that
    needs more than `max_values` values in all raises ValueError naming nearby ratios that work."""
    if not 0 <= ratio <= 1:
        raise ValueError(f"a Spot ratio is between 0 and 1, got {ratio}")
    fraction = Fraction(ratio).limit_denominator(max_values)
    if abs(float(fraction) - ratio) <= _EXACT:
        return fraction.numerator, fraction.denominator - fraction.numerator
    exact = Fraction(ratio).limit_denominator(1_000_000)
    needs = (
        f"needs {exact.denominator} spread values ({exact.numerator} Spot, "
        f"{exact.denominator - exact.numerator} On-Demand)"
        if abs(float(exact) - ratio) <= _EXACT
        else "needs more than a million spread values"
    )
    options = ", ".join(f"{_decimal_text(f)} ({_split_text(f)})" for f in nearby_ratios(ratio, max_values))
    raise ValueError(
        f"spot ratio {ratio} {needs}, more than the {max_values} a pool may use; nearby ratios that work "
        f"(Spot:On-Demand values): {options}"
    )

"""Number formatting for humans: thousands separators, percentages, intervals.

Every function takes ``None`` (or NaN) and returns :data:`MISSING` for it, so tables can pass
values straight from ``summary.json``, where absent statistics are ``null``. Results are plain
text; the HTML layer escapes them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

#: Shown where a value is absent (``null`` in the file, or not computed for this method).
MISSING: Final = "—"

Formatter = Callable[[float | None], str]


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _small(number: float) -> str:
    """Below 1: three significant digits (``0.0123``, not ``0.01``); zero as ``0``."""
    return "0" if number == 0 else f"{number:.3g}"


def fmt_amount(value: Any) -> str:
    """Money or KPI units, in the one format of tables and chart axes (:func:`fmt_compact`)
    from 1,000 up: ``2.5M``, ``640k``, ``3.49B``; ``123`` from 100, ``12.35`` from 1, three
    significant digits below 1 (a CPA of ``0.0123``)."""
    number = _number(value)
    if number is None:
        return MISSING
    if abs(number) >= 100:
        return fmt_compact(number)
    return f"{number:,.2f}" if abs(number) >= 1 else _small(number)


def fmt_int(value: Any) -> str:
    """A count with thousands separators: ``12,000``."""
    number = _number(value)
    return MISSING if number is None else f"{round(number):,d}"


def fmt_ratio(value: Any, decimals: int = 2) -> str:
    """A ratio such as ROI or R²: ``1.23``; a small one keeps three significant digits
    (``0.00456``, not ``0.00``)."""
    number = _number(value)
    if number is None:
        return MISSING
    if 0 < abs(number) < 10 ** (-decimals):
        return _small(number)
    return f"{number:,.{decimals}f}"


def fmt_pct(value: Any, decimals: int = 1) -> str:
    """A share in 0..1 as a percentage: ``0.4`` -> ``40.0%``."""
    number = _number(value)
    return MISSING if number is None else f"{100 * number:,.{decimals}f}%"


def fmt_interval(
    stat: Mapping[str, Any] | None, fmt: Formatter = fmt_ratio, point_estimate: bool = False
) -> str:
    """A posterior statistic as ``mean [lo, hi]`` using its 90% HDI: ``1.23 [0.98, 1.51]``;
    the point alone for a point estimate (a MAP fit has no interval to show)."""
    if not stat:
        return MISSING
    point = fmt(stat.get("mean"))
    hdi = stat.get("hdi_90")
    if point_estimate or point == MISSING or not isinstance(hdi, Sequence) or len(hdi) != 2:
        return point
    return f"{point} [{fmt(hdi[0])}, {fmt(hdi[1])}]"


def fmt_timestamp(value: Any) -> str:
    """An ISO-8601 timestamp as ``2026-11-28 20:00 UTC``; unparseable text is returned as is."""
    if value is None:
        return MISSING
    text = str(value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    offset = moment.utcoffset()
    zone = "UTC" if offset is not None and offset.total_seconds() == 0 else moment.strftime("%z")
    return f"{moment.strftime('%Y-%m-%d %H:%M')} {zone}"


#: Units of :func:`fmt_compact`, largest first.
_UNITS: Final = ((1e9, "B"), (1e6, "M"), (1e3, "k"))


def fmt_compact(value: Any, digits: int = 3) -> str:
    """The one number format of mixflow's pages: ``2.5M``, ``640k``, ``3.49B``, ``12.3``,
    ``0.0123``: ``digits`` significant digits with a thousand/million/billion suffix from
    1,000 up (rounded first, so 999,999 is ``1M``, not ``1e+03k``); ``0`` for zero or a
    value that rounds to it, never ``-0``. Beyond 999B the billions keep separators
    (``1,230B``)."""
    number = _number(value)
    if number is None:
        return MISSING
    rounded = float(f"{number:.{digits}g}")
    if rounded == 0:
        return "0"
    for threshold, suffix in _UNITS:
        if abs(rounded) >= threshold:
            scaled = rounded / threshold
            if abs(scaled) >= 10**digits:
                return f"{scaled:,.0f}{suffix}"
            return f"{float(f'{scaled:.{digits}g}'):.{digits}g}{suffix}"
    return f"{rounded:.{digits}g}"


def fmt_general(value: Any) -> str:
    """A value of unknown scale: :func:`fmt_compact` from 1,000 up (``12.3k``), ``123`` from
    100, ``0.12`` from 0.1, else 3 significant digits."""
    number = _number(value)
    if number is None:
        return MISSING
    if abs(number) >= 100:
        return fmt_compact(number)
    if abs(number) >= 0.1 or number == 0:
        return f"{number:.2f}"
    return f"{number:.3g}"


def fmt_signed_pct(value: Any, decimals: int = 1) -> str:
    """A change in 0..1 units as a signed percentage: ``0.04`` -> ``+4.0%``."""
    number = _number(value)
    return MISSING if number is None else f"{100 * number:+,.{decimals}f}%"


def fmt_sig(value: Any) -> str:
    """Four significant figures: :func:`fmt_compact` with 4 digits from 1,000 up
    (``1.235M``), else ``%.4g`` (``12.35``)."""
    number = _number(value)
    if number is None:
        return MISSING
    return fmt_compact(number, digits=4) if abs(number) >= 1000 else f"{number:.4g}"


#: Formatters by the name templates give them (``{{ x | amount }}``, ``{{ s | interval("pct") }}``).
FORMATTERS: Final[Mapping[str, Callable[..., str]]] = {
    "amount": fmt_amount,
    "integer": fmt_int,
    "ratio": fmt_ratio,
    "pct": fmt_pct,
    "signed_pct": fmt_signed_pct,
    "timestamp": fmt_timestamp,
    "general": fmt_general,
    "sig": fmt_sig,
    "compact": fmt_compact,
}


def fmt_plain(value: Any) -> str:
    """A setting's value: ``yes``/``no``, ``1,000``, ``0.25``, text as is; a dash for ``None``."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,d}"
    if isinstance(value, float):
        return fmt_general(value)
    return str(getattr(value, "value", value))  # an Enum option shows its value


def fmt_label(key: Any) -> str:
    """A field name as a label: ``max_lag`` -> ``Max lag``."""
    return str(key).replace("_", " ").capitalize()


def fmt_number(value: Any, kind: str) -> str:
    """``value`` formatted by the formatter named ``kind`` in :data:`FORMATTERS`."""
    return FORMATTERS[kind](value)


def filters() -> dict[str, Callable[..., str]]:
    """The Jinja filters: every formatter by its name, ``number(kind)``, ``plain``, ``label``."""
    return {**FORMATTERS, "number": fmt_number, "plain": fmt_plain, "label": fmt_label}

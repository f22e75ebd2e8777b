"""Reading plans from YAML or CSV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mixflow.data.dataset import MMMDataset
from mixflow.data.io import check_input_file, read_settings_text, yaml_problem
from mixflow.errors import SpecError, did_you_mean
from mixflow.simulate.builders import geo_split, next_period, plan_from_dict
from mixflow.simulate.plan import Plan


def load_plan(path: Path, data: MMMDataset) -> Plan:
    """A plan from ``.yaml``/``.yml`` (keys: see :func:`plan_from_dict`) or ``.csv``.

    CSV: one row per period (per geo and period for geo models, with a ``geo`` column), one
    spend column per channel; an optional ``date`` or ``period`` column is ignored for the
    values and rows are taken in file order. National rows in a geo model are split by each
    channel's historical geo split.
    """
    path = Path(path)
    if not path.exists():
        raise SpecError(f"plan file not found: {path}")
    check_input_file(path, "plan file")  # a folder, FIFO or device is refused, not read
    name = path.stem
    if path.suffix.lower() in (".yaml", ".yml"):
        text = read_settings_text(path, "plan file")
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise SpecError(f"plan file {path}: not valid YAML: {yaml_problem(err)}") from None
        if not isinstance(raw, dict):
            raise SpecError(f"{path}: expected a mapping of plan keys")
        return plan_from_dict(data, raw, default_name=name)
    if path.suffix.lower() == ".csv":
        check_input_file(path, "plan file")
        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError) as err:  # parser errors, empty file, bad encoding
            raise SpecError(
                f"plan file {path}: not a readable CSV ({type(err).__name__})"
            ) from None
        return _plan_from_csv(frame, data, name, path)
    raise SpecError(f"{path}: unknown plan format '{path.suffix}'; expected .yaml, .yml or .csv")


def _plan_from_csv(frame: pd.DataFrame, data: MMMDataset, name: str, path: Path) -> Plan:
    known = {"date", "period", "geo", *data.channels}
    for col in frame.columns:
        if col not in known:
            raise SpecError(
                f"{path}: unknown column '{col}'{did_you_mean(str(col), data.channels)}; "
                f"expected channels {', '.join(data.channels)} (and optional date, period, geo)"
            )
    values = np.zeros((len(frame), data.n_channels))
    for i, ch in enumerate(data.channels):
        if ch in frame.columns:
            amounts = np.asarray(pd.to_numeric(frame[ch], errors="coerce"), dtype=float)
            bad = ~np.isfinite(amounts) | (amounts < 0)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise SpecError(
                    f"{path}: column '{ch}' row {row + 1} is {frame[ch].iloc[row]!r}; "
                    "expected a spend amount >= 0"
                )
            values[:, i] = amounts
    if "geo" in frame.columns and data.is_geo:
        geos = list(dict.fromkeys(frame["geo"].astype(str)))
        missing = [g for g in data.geos if g not in geos]
        if missing:
            raise SpecError(f"{path}: no rows for geos {missing[:5]}")
        per_geo = [values[frame["geo"].astype(str).to_numpy() == g] for g in data.geos]
        lengths = {len(v) for v in per_geo}
        if len(lengths) != 1:
            raise SpecError(f"{path}: geos have different numbers of periods {sorted(lengths)}")
        spend = np.stack(per_geo)
    else:
        spend = geo_split(data)[:, None, :] * values[None, :, :]
    return Plan(spend, data.channels, data.geos, next_period(data), name=name)

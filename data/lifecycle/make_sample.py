"""Write the lifecycle sample files of this folder (run from the repository root):

    .venv/bin/python data/lifecycle/make_sample.py

A brand simulated by ``mixflow.datasets.simulate_brand`` (two channels, tv and search, one
control, one event; seed 3), 92 weeks from 2022-01-03, amounts rounded to cents:

- ``brand.csv``: the first 80 weeks, the data ``examples/brand.yaml`` fits (the champion);
- ``new_weeks.csv``: the 12 weeks after them, the actuals ``mixflow monitor`` scores;
- ``extended.csv``: all 92 weeks, the data ``mixflow refresh`` refits on.

``tests/test_docs_commands.py`` checks that the shipped files are what this script writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand

TRAINING_WEEKS = 80
NEW_WEEKS = 12
SEED = 3


def sample_files() -> dict[str, str]:
    """File name -> CSV text."""
    sim = BrandSimulation(
        n_weeks=TRAINING_WEEKS + NEW_WEEKS,
        channels=DEFAULT_CHANNELS[:2],
        n_events=1,
        fourier_terms=1,
    )
    frame = simulate_brand(sim, np.random.default_rng(SEED)).frame.round(2)
    return {
        "brand.csv": frame.iloc[:TRAINING_WEEKS].to_csv(index=False),
        "new_weeks.csv": frame.iloc[TRAINING_WEEKS:].to_csv(index=False),
        "extended.csv": frame.to_csv(index=False),
    }


def main(folder: Path) -> None:
    for name, text in sample_files().items():
        (folder / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)

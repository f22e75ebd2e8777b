"""Per-geo ROI and contributions of a geo model: they add up to the national figures, carry
90% HDIs, and the fit writes them as geo_roi.csv / geo_contributions.csv."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mixflow.analysis.draws import compute_draws
from mixflow.analysis.geo_breakdown import geo_breakdown, geo_draws
from mixflow.errors import SpecError
from mixflow.posterior import Posterior

FIT = {"method": "svi", "svi_steps": 400, "draws": 200, "seed": 2, "progress_bar": False}


@pytest.fixture(scope="module")
def geo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fitted run folder of a simulated 3-geo brand (SVI: quick, with a posterior spread)."""
    from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
    from mixflow.workflow import fit_run

    folder = tmp_path_factory.mktemp("geo")
    sim = BrandSimulation(
        n_weeks=60, n_geos=3, channels=DEFAULT_CHANNELS[:2], n_events=0, fourier_terms=1
    )
    brand = simulate_brand(sim, np.random.default_rng(11))
    brand.frame.to_csv(folder / "data.csv", index=False)
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({**brand.config, "fit": {**FIT, "holdout_weeks": 0}}))
    fit_run(config, folder / "run")
    return folder / "run"


@pytest.fixture(scope="module")
def geo_posterior(geo_run: Path) -> Posterior:
    from mixflow.workflow import load_run

    return load_run(geo_run)


def test_geo_contributions_add_up_to_the_national_ones(geo_posterior: Posterior) -> None:
    per_geo = geo_draws(geo_posterior, max_draws=50)
    national = compute_draws(geo_posterior, max_draws=50)
    # float32 model arithmetic summed over ~70 periods
    np.testing.assert_allclose(
        per_geo.contribution_value.sum(axis=1), national.contribution_value, rtol=1e-4
    )
    np.testing.assert_allclose(
        per_geo.contribution_kpi.sum(axis=1), national.contribution_kpi, rtol=1e-4
    )


def test_spend_weighted_geo_roi_is_the_national_roi(geo_posterior: Posterior) -> None:
    per_geo = geo_draws(geo_posterior, max_draws=50)
    national = compute_draws(geo_posterior, max_draws=50)
    spend = per_geo.spend  # (G, C)
    weighted = (per_geo.roi * spend).sum(axis=1) / spend.sum(axis=0)
    roi = national.contribution_value / geo_posterior.dataset.spend.sum(axis=(0, 1))
    np.testing.assert_allclose(weighted, roi, rtol=1e-4)
    np.testing.assert_allclose(spend.sum(axis=0), geo_posterior.dataset.spend.sum(axis=(0, 1)))


def test_the_tables_have_one_row_per_geo_and_channel_with_intervals(
    geo_posterior: Posterior,
) -> None:
    tables = geo_breakdown(geo_posterior, max_draws=200)
    data = geo_posterior.dataset
    for frame in (tables.roi, tables.contributions):
        assert len(frame) == data.n_geos * data.n_channels
        assert set(zip(frame["geo"], frame["channel"], strict=True)) == {
            (g, c) for g in data.geos for c in data.channels
        }
    roi = tables.roi
    assert (roi["roi_hdi_90_lo"] <= roi["roi_median"]).all()
    assert (roi["roi_median"] <= roi["roi_hdi_90_hi"]).all()
    # an SVI posterior has spread: the intervals are not points
    assert (roi["roi_hdi_90_hi"] - roi["roi_hdi_90_lo"] > 0).all()
    contrib = tables.contributions
    share = contrib["share_of_kpi_mean"]
    assert ((share > 0) & (share < 1)).all()


def test_a_national_model_is_refused(geo_posterior: Posterior) -> None:
    import dataclasses

    data = geo_posterior.dataset
    one = {name: getattr(data, name)[:1] for name in ("kpi", "spend", "exposure", "controls")}
    one.update(events=data.events[:1], population=data.population[:1])
    national = dataclasses.replace(
        data, geos=("national",), revenue_per_kpi=data.revenue_per_kpi[:1], is_geo=False, **one
    )
    with pytest.raises(SpecError, match="needs a geo model"):
        geo_breakdown(dataclasses.replace(geo_posterior, dataset=national))


def test_the_fit_writes_both_tables(geo_run: Path, geo_posterior: Posterior) -> None:
    roi = pd.read_csv(geo_run / "geo_roi.csv")
    contrib = pd.read_csv(geo_run / "geo_contributions.csv")
    assert list(roi.columns[:3]) == ["geo", "channel", "spend"]
    assert {"roi_mean", "roi_hdi_90_lo", "roi_hdi_90_hi"} <= set(roi.columns)
    assert {"contribution_kpi_median", "contribution_value_hdi_90_hi"} <= set(contrib.columns)
    assert sorted(roi["geo"].unique()) == sorted(geo_posterior.dataset.geos)


def test_the_report_shows_the_geo_table(geo_run: Path, geo_posterior: Posterior) -> None:
    from mixflow.report import render_report

    html = render_report(geo_run).read_text()
    section = html[html.index("By geo") :]
    section = section[: section.index("</table>")]
    data = geo_posterior.dataset
    assert section.count("<tr>") == 1 + data.n_geos * data.n_channels  # header + rows
    for geo in data.geos:
        assert f"<td>{geo}</td>" in section


def test_a_point_estimate_shows_geo_values_labelled_without_intervals(
    geo_run: Path, tmp_path: Path
) -> None:
    """The per-geo table of a MAP fit of the same brand: point values labelled "point
    estimate", no intervals (as the channel table does); the SVI run shows its intervals."""
    from mixflow.report import render_report
    from mixflow.workflow import fit_run

    config = yaml.safe_load((geo_run.parent / "config.yaml").read_text())
    config["fit"] = {"method": "map", "svi_steps": 300, "progress_bar": False, "holdout_weeks": 0}
    config["data"]["path"] = str(geo_run.parent / "data.csv")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    fit_run(tmp_path / "config.yaml", tmp_path / "run")
    table, note = _geo_section(render_report(tmp_path / "run").read_text())
    assert "Point estimate (MAP fit, no posterior intervals) per geo" in note
    assert "Posterior mean [90% HDI]" not in note
    rows = table.split("<tr>")[2:]  # after the header row
    assert rows and not any(re.search(r"\[-?\d", row) for row in rows)
    table, note = _geo_section(render_report(geo_run).read_text())
    assert "Posterior mean [90% HDI] per geo" in note and re.search(r"\[-?\d", table)


def _geo_section(html: str) -> tuple[str, str]:
    """The report's per-geo table and the note under it."""
    section = html[html.index("By geo") :]
    table, rest = section.split("</table>", 1)
    return table, rest[: rest.index("</p>")]

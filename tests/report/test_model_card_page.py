"""The model card page (model_card.html): rendered from its template with the shared layout,
escaped, self-contained, and saying what model_card.md says."""

from __future__ import annotations

import re
from pathlib import Path

from markupsafe import escape

from mixflow.analysis.schema import RunSummary, load_summary
from mixflow.lifecycle.gates import GatePolicy, run_gates
from mixflow.lifecycle.model_card import ModelCard, markdown, model_card, write_model_card
from mixflow.report.model_card import model_card_html

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_run" / "summary.json"
HOSTILE = '<script>alert("x")</script>'


def _card() -> ModelCard:
    """The card of the legacy run with its search channel renamed to a script tag."""
    summary = load_summary(LEGACY)
    channels = {name: c.model_dump(mode="json") for name, c in summary.channels.items()}
    renamed = {"tv": channels["tv"], HOSTILE: channels["search"]}
    typed = RunSummary.model_validate(summary.to_json() | {"channels": renamed})
    return model_card(typed, run_gates(typed, GatePolicy()), "brand & co", version="3")


def test_page_escapes_names_and_has_no_scripts_or_links() -> None:
    page = model_card_html(_card())
    assert HOSTILE not in page and str(escape(HOSTILE)) in page
    assert "<script" not in page.lower()
    assert "brand &amp; co" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<link" not in page.lower() and "@import" not in page


def test_page_uses_the_shared_layout() -> None:
    page = model_card_html(_card())
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta name="generator" content="mixflow">' in page  # base.html.j2's head
    assert "<title>Model card: brand &amp; co</title>" in page


def test_page_says_what_the_markdown_says() -> None:
    card = _card()
    page, md = model_card_html(card), markdown(card)
    assert f"Governance gates: {card.verdict}" in md
    assert f"Governance gates: {escape(card.verdict)}" in page
    for label, value in card.facts:
        assert f"**{label}**: {value}" in md
        assert f"<b>{escape(label)}</b>: {escape(value)}" in page
    for item in card.limitations:
        assert f"<li>{escape(item)}</li>" in page
    for row in card.gates.rows:
        assert "".join(f"<td>{escape(c)}</td>" for c in row) in page


def test_write_model_card_writes_the_page_only_with_a_renderer(tmp_path: Path) -> None:
    summary = load_summary(LEGACY)
    gates = run_gates(summary, GatePolicy())
    md, page = write_model_card(tmp_path, summary, gates, "brand")
    assert md.read_text().startswith("# Model card: brand") and page is None
    assert not (tmp_path / "model_card.html").exists()
    _, page = write_model_card(tmp_path, summary, gates, "brand", page=model_card_html)
    assert page is not None and page.read_text().startswith("<!DOCTYPE html>")

"""The HTML page of a model card (``model_card.html``), rendered from
``templates/model_card.html.j2`` with the shared layout and autoescaping. The card's content is
built in :mod:`mixflow.lifecycle.model_card`; registration writes this page when its caller
passes :func:`model_card_html` as the card renderer."""

from __future__ import annotations

from typing import Final

from mixflow.lifecycle.model_card import ModelCard
from mixflow.report.templating import render_page

MODEL_CARD_TEMPLATE: Final = "model_card.html.j2"


def model_card_html(card: ModelCard) -> str:
    """``card`` as a self-contained HTML page (inline stylesheet, no scripts or links)."""
    return render_page(MODEL_CARD_TEMPLATE, card=card)


__all__ = ["MODEL_CARD_TEMPLATE", "model_card_html"]

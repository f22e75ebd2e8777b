"""service.store: workspace-namespaced names, refs, resolution to a cached local run folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_registry import install_registry

from mixflow.errors import InvalidInputError, NotFoundError
from mixflow.lifecycle import Alias, promote
from mixflow.service import store
from mixflow.service.settings import ServiceSettings


@pytest.fixture
def service_settings(
    tmp_path: Path, no_tracking_server: None, registry_template: Path
) -> ServiceSettings:
    """A home whose registry holds acme.revenue versions 1 and 2 (copied from the template)."""
    settings = ServiceSettings(home=tmp_path / "home", database_url="")
    install_registry(registry_template, settings.home)
    return settings


def test_names_are_prefixed_by_workspace() -> None:
    assert store.registered_name("acme", "revenue") == "acme.revenue"
    assert store.split_registered_name("acme.revenue.v2", "acme") == "revenue.v2"
    assert store.split_registered_name("acme.revenue", "acm") is None
    assert store.split_registered_name("acmex.revenue", "acme") is None


@pytest.mark.parametrize("bad", ["", ".x", "a/b", "a b", "x" * 65])
def test_bad_model_names_are_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^model_name .* is invalid: expected 1-64"):
        store.registered_name("acme", bad)


@pytest.mark.parametrize("ref", ["latest", "0", 0, "-1", "Champion"])
def test_bad_refs_are_refused(ref: str | int) -> None:
    with pytest.raises(InvalidInputError, match=r"^ref .* is invalid"):
        store.parse_ref(ref)


def test_resolves_versions_and_aliases_and_downloads_once(
    map_run_dir: Path,
    service_settings: ServiceSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = store.resolve_model(service_settings, "acme", "revenue", "1")
    assert (found.registered_name, found.version, found.model_name) == (
        "acme.revenue",
        1,
        "revenue",
    )
    assert found.run_dir == service_settings.home / "models" / "acme.revenue" / "1" / "run"
    assert (found.run_dir / "summary.json").read_bytes() == (
        map_run_dir / "summary.json"
    ).read_bytes()
    with pytest.raises(NotFoundError, match="has no champion"):
        store.resolve_model(service_settings, "acme", "revenue", "champion")
    lifecycle = store.lifecycle_settings(service_settings)
    promote("acme.revenue", 1, Alias.CHAMPION, "test", "first", lifecycle)

    def no_download(*args: object, **kwargs: object) -> Path:
        raise AssertionError("downloaded again")

    monkeypatch.setattr(store, "load_version", no_download)
    again = store.resolve_model(service_settings, "acme", "revenue", "champion")
    assert (again.version, again.run_dir, again.run_id) == (1, found.run_dir, found.run_id)


def test_another_workspace_or_unknown_model_is_not_found(
    service_settings: ServiceSettings,
) -> None:
    with pytest.raises(NotFoundError, match="model 'revenue' has no version 1"):
        store.resolve_model(service_settings, "other", "revenue", 1)
    with pytest.raises(NotFoundError, match="has no version 3"):
        store.resolve_model(service_settings, "acme", "revenue", 3)
    with pytest.raises(NotFoundError):
        store.resolve_model(service_settings, "acme", "missing", "champion")

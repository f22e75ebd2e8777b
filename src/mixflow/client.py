"""The Python client of the mixflow service (httpx), typed like the routes.

with MixflowClient("http://127.0.0.1:8000", api_key=key) as mf:
    job = mf.fit(Path("config.yaml"), [Path("data.csv")], "revenue", wait=True)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from mixflow.errors import MixflowError

if TYPE_CHECKING:  # imported when called: the client itself needs only httpx
    from mixflow.optimize.schema import PlanDocument
    from mixflow.portfolio.schema import PortfolioPlan
    from mixflow.service.routers.planning import CompareResponse, SimulateResponse
    from mixflow.service.routers.plans import PlanPage, SavedPlanOut

FINISHED = ("succeeded", "failed", "cancelled")


class ClientError(MixflowError):
    """The service answered with a problem; ``status`` and ``detail`` are the problem's."""

    exit_code = 2

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class MixflowClient:
    """A session with one service, authenticated by one API key."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 60.0) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout
        )

    def __enter__(self) -> MixflowClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _json(self, response: httpx.Response) -> Any:
        if response.is_error:
            try:
                detail = str(response.json().get("detail", response.text))
            except ValueError:
                detail = response.text
            raise ClientError(response.status_code, detail)
        return response.json()

    def me(self) -> dict[str, str]:
        """The key's id, workspace and role."""
        return dict(self._json(self._http.get("/api/v1/me")))

    def job(self, job_id: str) -> dict[str, Any]:
        """One job of the workspace."""
        return dict(self._json(self._http.get(f"/api/v1/jobs/{job_id}")))

    def jobs(
        self,
        limit: int = 100,
        *,
        offset: int = 0,
        state: str | None = None,
        kind: str | None = None,
    ) -> list[dict[str, Any]]:
        """The workspace's jobs, newest first (optionally of one ``state`` or ``kind``)."""
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if state is not None:
            params["state"] = state
        if kind is not None:
            params["kind"] = kind
        return list(self._json(self._http.get("/api/v1/jobs", params=params)))

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a job."""
        return dict(self._json(self._http.delete(f"/api/v1/jobs/{job_id}")))

    def fit(
        self,
        config: Path,
        data: list[Path],
        model_name: str,
        *,
        lift_tests: Path | None = None,
        wait: bool = False,
        idempotency_key: str | None = None,
        poll_s: float = 1.0,
        timeout_s: float = 3600.0,
    ) -> dict[str, Any]:
        """Upload ``config`` and its ``data`` files to be fitted and registered as a new version
        of the workspace's model ``model_name``; with ``wait`` poll (a tqdm bar) until the job
        finishes and return it (raising ClientError if it failed). A finished fit's
        ``result`` is ``{"model_name", "version", "run_id"}``."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        files: list[tuple[str, tuple[str | None, bytes]]] = [
            ("config", (config.name, config.read_bytes()))
        ]
        files += [("data", (p.name, p.read_bytes())) for p in data]
        if lift_tests is not None:
            files.append(("lift_tests", (lift_tests.name, lift_tests.read_bytes())))
        job = dict(
            self._json(
                self._http.post(
                    "/api/v1/fits",
                    files=files,
                    data={"model_name": model_name},
                    headers=headers,
                )
            )
        )
        return self.wait(job["job_id"], poll_s=poll_s, timeout_s=timeout_s) if wait else job

    def wait(
        self, job_id: str, *, poll_s: float = 1.0, timeout_s: float = 3600.0
    ) -> dict[str, Any]:
        """Poll job ``job_id`` until it finishes, showing its state on a tqdm bar."""
        from tqdm import tqdm

        deadline = time.monotonic() + timeout_s
        with tqdm(desc=f"job {job_id}", unit="poll", leave=False) as bar:
            while True:
                job = self.job(job_id)
                bar.set_postfix(state=job["state"])
                bar.update()
                if job["state"] in FINISHED:
                    break
                if time.monotonic() > deadline:
                    raise ClientError(408, f"job {job_id} still {job['state']} after {timeout_s} s")
                time.sleep(poll_s)
        if job["state"] != "succeeded":
            raise ClientError(422, f"job {job_id} {job['state']}: {job.get('error')}")
        return job

    # ------------------------------------------------------------------ planning
    def simulate(
        self, model_name: str, plan: Mapping[str, Any], *, ref: str | int = "champion"
    ) -> SimulateResponse:
        """Simulate ``plan`` (the keys of a CLI plan file) on version ``ref`` of the model:
        incremental KPI, revenue and ROI in total, per channel and per week."""
        from mixflow.service.routers.planning import SimulateResponse

        body = {"ref": ref, "plan": dict(plan)}
        return SimulateResponse.model_validate(
            self._json(self._http.post(f"/api/v1/models/{model_name}/simulate", json=body))
        )

    def compare(
        self,
        model_name: str,
        first: Mapping[str, Any],
        second: Mapping[str, Any],
        *,
        ref: str | int = "champion",
        metric: str = "profit",
    ) -> CompareResponse:
        """P(``first`` beats ``second``) on ``metric`` (profit, revenue or kpi) and the difference's
        interval, on the same posterior draws; ``weakly_identified_moves[second's name]`` lists
        the budget ``second`` moves into weakly identified channels against ``first``
        (``reference``)."""
        from mixflow.service.routers.planning import CompareResponse

        body = {"ref": ref, "plans": [dict(first), dict(second)], "metric": metric}
        return CompareResponse.model_validate(
            self._json(self._http.post(f"/api/v1/models/{model_name}/compare", json=body))
        )

    def optimize(
        self,
        model_name: str,
        *,
        ref: str | int = "champion",
        budget: float | None = None,
        horizon_weeks: int = 13,
        relative_bounds: tuple[float, float] | None = None,
        channel_bounds: Mapping[str, tuple[float, float | None]] | None = None,
        objective: str = "max_revenue",
        risk: str = "mean",
        **options: Any,
    ) -> PlanDocument:
        """The budget split of ``mixflow optimize`` as its ``plan.json`` document; ``options``
        are the request's other fields (``locked``, ``flighting``, ``target_kpi``,
        ``target_roi``, ``seed``)."""
        from mixflow.optimize.schema import PlanDocument

        body: dict[str, Any] = {
            "ref": ref,
            "budget": budget,
            "horizon_weeks": horizon_weeks,
            "relative_bounds": list(relative_bounds) if relative_bounds else None,
            "channel_bounds": {k: list(v) for k, v in (channel_bounds or {}).items()},
            "objective": objective,
            "risk": risk,
            **options,
        }
        return PlanDocument.model_validate(
            self._json(self._http.post(f"/api/v1/models/{model_name}/optimize", json=body))
        )

    # ------------------------------------------------------------------ portfolios
    def portfolio_fit(
        self,
        portfolio: Path,
        files: list[Path],
        *,
        register: bool = True,
        wait: bool = False,
        idempotency_key: str | None = None,
        poll_s: float = 2.0,
        timeout_s: float = 6 * 3600.0,
    ) -> dict[str, Any]:
        """Upload a portfolio file with the model configs it names and their data ``files``
        (all named by bare file name) to be fitted on the service's Ray, each model registered
        in the workspace when ``register``; with ``wait`` poll until the job finishes. A
        finished job's ``result`` is the ``portfolio.json`` document."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        parts: list[tuple[str, tuple[str | None, bytes]]] = [
            ("portfolio", (portfolio.name, portfolio.read_bytes()))
        ]
        parts += [("files", (p.name, p.read_bytes())) for p in files]
        job = dict(
            self._json(
                self._http.post(
                    "/api/v1/portfolios/fits",
                    files=parts,
                    data={"register": "true" if register else "false"},
                    headers=headers,
                )
            )
        )
        return self.wait(job["job_id"], poll_s=poll_s, timeout_s=timeout_s) if wait else job

    def portfolio_optimize(
        self,
        models: list[str | Mapping[str, Any]],
        budget: float,
        *,
        horizon_weeks: int = 13,
        relative_bounds: tuple[float, float] | None = None,
        model_bounds: Mapping[str, tuple[float, float | None]] | None = None,
        objective: str = "max_revenue",
        seed: int = 0,
    ) -> PortfolioPlan:
        """One ``budget`` split jointly over the workspace's registered ``models`` (names, or
        ``{"name", "ref", "value_per_kpi"}``) as ``mixflow portfolio optimize`` does: the
        ``portfolio_plan.json`` document."""
        from mixflow.portfolio.schema import PortfolioPlan

        body: dict[str, Any] = {
            "models": [{"name": m} if isinstance(m, str) else dict(m) for m in models],
            "budget": budget,
            "horizon_weeks": horizon_weeks,
            "relative_bounds": list(relative_bounds) if relative_bounds else None,
            "model_bounds": {k: list(v) for k, v in (model_bounds or {}).items()},
            "objective": objective,
            "seed": seed,
        }
        return PortfolioPlan.model_validate(
            self._json(self._http.post("/api/v1/portfolios/optimize", json=body))
        )

    def save_plan(
        self,
        name: str,
        model_name: str,
        plan: Mapping[str, Any],
        *,
        ref: str | int = "champion",
    ) -> SavedPlanOut:
        """Save ``plan`` as ``name`` (unique in the workspace); the server simulates it on
        version ``ref`` and stores the results with the author."""
        from mixflow.service.routers.plans import SavedPlanOut

        body = {"name": name, "model_name": model_name, "ref": ref, "plan": dict(plan)}
        return SavedPlanOut.model_validate(self._json(self._http.post("/api/v1/plans", json=body)))

    def list_plans(
        self, *, limit: int = 50, offset: int = 0, model_name: str | None = None
    ) -> PlanPage:
        """One page of the workspace's saved plans, newest first."""
        from mixflow.service.routers.plans import PlanPage

        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if model_name is not None:
            params["model_name"] = model_name
        return PlanPage.model_validate(self._json(self._http.get("/api/v1/plans", params=params)))

    def get_plan(self, plan_id: str) -> SavedPlanOut:
        """One saved plan with its results."""
        from mixflow.service.routers.plans import SavedPlanOut

        return SavedPlanOut.model_validate(self._json(self._http.get(f"/api/v1/plans/{plan_id}")))

    # ------------------------------------------------------------------ models

    def models(self) -> list[dict[str, Any]]:
        """The workspace's models (name, aliases, latest version)."""
        return list(self._json(self._http.get("/api/v1/models")))

    def model(self, name: str) -> dict[str, Any]:
        """A model with every version, its gate results and the aliases."""
        return dict(self._json(self._http.get(f"/api/v1/models/{name}")))

    def summary(self, name: str, version: int | str = "champion") -> dict[str, Any]:
        """The run summary (``summary.json``) of a version, or of an alias."""
        return dict(self._json(self._http.get(f"/api/v1/models/{name}/versions/{version}/summary")))

    def report(self, name: str, version: int | str = "champion") -> str:
        """The HTML report of a version's run."""
        response = self._http.get(f"/api/v1/models/{name}/versions/{version}/report")
        if response.is_error:
            self._json(response)
        return response.text

    def promote(
        self,
        name: str,
        version: int,
        reason: str,
        *,
        alias: str = "champion",
        override: str | None = None,
    ) -> dict[str, Any]:
        """Point ``alias`` at ``version`` (admin); ``override`` is the reason to promote despite
        failed gates (else a failing version raises ClientError 409)."""
        body = {"version": version, "reason": reason, "override": override}
        return dict(self._json(self._http.put(f"/api/v1/models/{name}/aliases/{alias}", json=body)))

    def archive(self, name: str, version: int, reason: str = "") -> dict[str, Any]:
        """Archive a version (admin): its aliases go and it cannot be promoted again."""
        params = {"reason": reason} if reason else None
        url = f"/api/v1/models/{name}/versions/{version}"
        return dict(self._json(self._http.delete(url, params=params)))

    def monitor(
        self, name: str, actuals: Path, *, ref: int | str = "champion", seed: int = 0
    ) -> dict[str, Any]:
        """Score new weeks of actuals against a version: ``{"model_name", "version", "status",
        "result"}``."""
        files = {"actuals": (actuals.name, actuals.read_bytes())}
        data = {"ref": str(ref), "seed": str(seed)}
        return dict(
            self._json(self._http.post(f"/api/v1/models/{name}/monitor", files=files, data=data))
        )

    # ------------------------------------------------------------------ experiments, audit

    def analyze_experiment(
        self,
        data: Path,
        *,
        treated: list[str],
        start: str,
        end: str,
        wait: bool = False,
        poll_s: float = 1.0,
        **columns: str,
    ) -> dict[str, Any]:
        """Queue a geo-experiment analysis (the fields of ``mixflow experiment analyze``:
        ``date_column``, ``location_column``, ``kpi_column``, ``method``, ``spend_column`` as
        keywords); with ``wait`` return the finished job, whose result is ``result.json``."""
        fields = {"treated": ",".join(treated), "start": start, "end": end, **columns}
        files = {"data": (data.name, data.read_bytes())}
        response = self._http.post("/api/v1/experiments/analyze", files=files, data=fields)
        job = dict(self._json(response))
        return self.wait(job["job_id"], poll_s=poll_s) if wait else job

    def audit(self, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
        """The workspace's audit rows, newest first (admin)."""
        params: dict[str, int] = {"limit": limit}
        if before is not None:
            params["before"] = before
        return list(self._json(self._http.get("/api/v1/audit", params=params)))


#: the name the issue gives the client
Client = MixflowClient

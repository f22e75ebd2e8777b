"""The Python client of the mixflow service (httpx), typed like the routes.

with MixflowClient("http://127.0.0.1:8000", api_key=key) as mf:
    job = mf.fit(Path("config.yaml"), [Path("data.csv")], "revenue", wait=True)
"""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from mixflow.errors import MixflowError

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
            base_url=base_url, headers={"X-API-Key": api_key}, timeout=timeout
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

    def jobs(self, limit: int = 100) -> list[dict[str, Any]]:
        """The workspace's jobs, newest first."""
        return list(self._json(self._http.get("/api/v1/jobs", params={"limit": limit})))

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

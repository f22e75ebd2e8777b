"""The worker loop: reap expired leases, claim a job, run it in a child process while
heart-beating, kill the child when the job is cancelled, record the outcome."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from mixflow.errors import MixflowError
from mixflow.service.db.models import Job
from mixflow.service.jobs import store
from mixflow.service.jobs.handlers import HANDLERS, Handler, read_progress
from mixflow.service.jobs.store import JobState


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when the worker dies (Linux ``PR_SET_PDEATHSIG``): a
    SIGKILLed worker must not leave an orphan fit running on, registering a version that the
    retried job registers again. The signal follows the *thread* that started the child, so a
    worker runs its jobs from one long-lived thread (the main one in ``mixflow worker``)."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the worker died before the call above
        os._exit(1)


def _child(
    handler: Handler, payload: dict[str, Any], folder: str, conn: Connection, parent: int
) -> None:
    _die_with_parent(parent)
    try:
        conn.send(("ok", handler(payload, Path(folder))))
    except MixflowError as err:
        conn.send(("error", str(err)))
    except BaseException as err:  # the child must report, whatever happened
        traceback.print_exc()
        conn.send(("error", f"internal error ({type(err).__name__})"))
    finally:
        conn.close()


@dataclass
class Worker:
    """One worker: ``run_forever`` until ``stop`` is set; ``run_once`` for one job."""

    sessions: sessionmaker[Session]
    home: Path
    lease: timedelta = timedelta(seconds=30)
    heartbeat_s: float = 1.0
    poll_s: float = 0.5
    handlers: Mapping[str, Handler] = field(default_factory=lambda: HANDLERS)
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def run_forever(self, should_stop: Any = lambda: False) -> None:
        while not should_stop():
            if not self.run_once():
                time.sleep(self.poll_s)

    def run_once(self) -> bool:
        """Reap, claim and run one job; False when none was queued."""
        with self.sessions() as session:
            store.reap_expired(session)
            job = store.claim(session, self.name, self.lease)
        if job is None:
            return False
        self._run(job)
        return True

    def _run(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            self._finish(job.id, JobState.failed, error=f"unknown job kind {job.kind!r}")
            return
        folder = self.home / "jobs" / job.id
        folder.mkdir(parents=True, exist_ok=True)
        ctx = multiprocessing.get_context("spawn")
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(
            target=_child, args=(handler, job.payload, str(folder), send, os.getpid())
        )
        child.start()
        send.close()
        try:
            self._watch(job, child, receive)
        finally:  # the worker itself stopping (SIGTERM) takes its child along
            if child.is_alive():
                child.kill()
                child.join()

    def _watch(self, job: Job, child: Any, receive: Connection) -> None:
        outcome: tuple[str, Any] | None = None
        while True:
            if receive.poll(self.heartbeat_s):
                try:
                    outcome = receive.recv()
                except EOFError:
                    outcome = None
                break
            with self.sessions() as session:
                keep = store.heartbeat(
                    session,
                    job.id,
                    self.name,
                    self.lease,
                    read_progress(self.home / "jobs" / job.id),
                )
            if not keep:
                child.kill()
                child.join()
                with self.sessions() as session:
                    store.finish(session, job.id, self.name, JobState.cancelled, error="cancelled")
                return
        child.join()
        if outcome is None:
            self._finish(job.id, JobState.failed, error=f"job process died (exit {child.exitcode})")
        elif outcome[0] == "ok":
            self._finish(job.id, JobState.succeeded, result=outcome[1])
        else:
            self._finish(job.id, JobState.failed, error=str(outcome[1]))

    def _finish(
        self,
        job_id: str,
        state: JobState,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        with self.sessions() as session:
            store.finish(session, job_id, self.name, state, result=result, error=error)

"""Prometheus figures about jobs, read from the job table when ``/metrics`` is scraped (the
table is the truth; workers run in other processes): jobs by kind and state, and the run time
of the latest finished jobs as a histogram."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mixflow.service.db.models import Job
from mixflow.service.jobs.store import FINISHED

#: upper bounds of the duration buckets, seconds (a fit takes seconds to an hour)
BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
#: how many of the latest finished jobs the histogram covers
WINDOW = 1000


class JobCollector(Collector):
    """``mixflow_jobs{kind, state}`` and ``mixflow_job_duration_seconds{kind}``."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily | HistogramMetricFamily]:
        counts = GaugeMetricFamily(
            "mixflow_jobs", "Jobs by kind and state", labels=["kind", "state"]
        )
        durations: dict[str, list[float]] = {}
        try:
            with self.sessions() as session:
                rows = session.execute(
                    select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state)
                ).all()
                done = session.execute(
                    select(Job.kind, Job.started_at, Job.finished_at)
                    .where(Job.state.in_(FINISHED), Job.started_at.is_not(None))
                    .order_by(Job.finished_at.desc())
                    .limit(WINDOW)
                ).all()
        except Exception:  # the database is down: /readyz says so; metrics stay up
            return
        for kind, state, n in rows:
            counts.add_metric([kind, state], float(n))
        yield counts
        for kind, started, finished in done:
            if finished is not None and started is not None:
                durations.setdefault(kind, []).append((finished - started).total_seconds())
        histogram = HistogramMetricFamily(
            "mixflow_job_duration_seconds",
            f"Run time of the latest {WINDOW} finished jobs, by kind",
            labels=["kind"],
        )
        for kind, values in sorted(durations.items()):
            buckets = [(str(b), float(sum(v <= b for v in values))) for b in BUCKETS]
            buckets.append(("+Inf", float(len(values))))
            histogram.add_metric([kind], buckets, sum_value=sum(values))
        yield histogram

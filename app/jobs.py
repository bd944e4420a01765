"""The batch-job runner: one background thread per service process works through queued jobs
chunk by chunk. On start it resumes jobs left queued or running (by a restart or a crash) at
their first unfinished chunk. With several instances on one PostgreSQL job store, a job is run
by the instance holding its lease (``JobStore.claim``, renewed before every chunk); when that
instance dies, another takes the job over once the lease runs out."""

from __future__ import annotations

import logging
import threading
import time

from app.state.jobs import JobStore
from zoning.batch import assess_chunk
from zoning.judge import Project

log = logging.getLogger("zoning.jobs")


class JobRunner:
    def __init__(self, services, jobs: JobStore, poll_s: float = 0.2, dask_client=None):
        self.services = services
        self.jobs = jobs
        self.dask = dask_client  # run chunks on a Dask cluster instead of in this process
        self.owner = services.settings.runner_id
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="job-runner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            pending = self.jobs.pending()
            for jid in pending:
                if self._stop.is_set():
                    return
                self.run(jid)
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def run(self, jid: str, max_chunks: int | None = None) -> None:
        """Work on one job until it is done, cancelled or ``max_chunks`` chunks are made."""
        job = self.jobs.get(jid)
        if job["state"] not in ("queued", "running") or not self.jobs.claim(jid, self.owner):
            return  # finished, or another live instance holds it
        p = job["params"]
        project = Project.from_params(p)
        made = 0
        try:
            if self.dask is not None:
                self._run_on_cluster(jid, job, max_chunks)
                return
            while not self._stop.is_set():
                if not self.jobs.claim(jid, self.owner):
                    return  # cancelled, or the lease was lost to another instance
                chunk = self.jobs.next_chunk(jid)
                if chunk is None:
                    self.jobs.set_state(jid, "done")
                    return
                if max_chunks is not None and made >= max_chunks:
                    return
                t0 = time.perf_counter()
                sites = self.jobs.chunk_sites(jid, chunk, job["chunk_size"])
                rows = assess_chunk(self.services.live.judging(), sites, project, p["edition"],
                                    self.services.settings.site_limits())
                self.jobs.save_chunk(jid, chunk, rows, time.perf_counter() - t0, self.owner)
                made += 1
        except Exception as exc:  # a failed job says why; the runner goes on
            log.exception("job %s failed", jid)
            self.jobs.set_state(jid, "failed", error=str(exc)[:500])

    def _run_on_cluster(self, jid: str, job: dict, max_chunks: int | None) -> None:
        """Submit every unfinished chunk to the cluster; store each as it completes."""
        from distributed import as_completed

        from app.distributed import chunk_on_worker

        size = job["chunk_size"]
        todo = []
        while (chunk := self.jobs.next_chunk(jid, todo)) is not None:
            todo.append(chunk)
            if max_chunks is not None and len(todo) >= max_chunks:
                break
        futures = {}
        versions = self.services.live.judging().versions()  # the workers judge with these
        for chunk in todo:
            sites = self.jobs.chunk_sites(jid, chunk, size)
            fut = self.dask.submit(chunk_on_worker, sites, job["params"], self.services.settings.site_limits(),
                                   versions, pure=False)
            futures[fut] = (chunk, time.perf_counter())
        for fut in as_completed(futures):
            chunk, t0 = futures[fut]
            if not self.jobs.claim(jid, self.owner):  # cancelled, or taken over
                self.dask.cancel(list(futures))
                return
            self.jobs.save_chunk(jid, chunk, fut.result(), time.perf_counter() - t0, self.owner)
        if self.jobs.next_chunk(jid) is None:
            self.jobs.set_state(jid, "done")

"""Batch assessment jobs: POST /v1/jobs/assess (a site file of N sites + the project) → 202;
GET /v1/jobs/{id} (state, done/total, rate, ETA); results as GeoPackage, GeoJSON or CSV;
POST /v1/jobs/{id}/cancel. Jobs persist and resume after a restart."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

import shapely
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from app.auth import Forbidden, NotAuthenticated, PrincipalDep, audit, ensure_may_assess
from app.deps import ServicesDep
from app.models.jobs import JobOut
from app.routers.uploads import read_site_file
from app.routing import StrictRoute
from app.state.jobs import JobNotDone, export_results
from zoning.judge import Project, check_project
from zoning.scale import CAPACITY_HELP, capacity_of
from zoning.uploads import upload_summary
from zoning.vocabulary import Action, Edition

router = APIRouter(route_class=StrictRoute, prefix="/v1/jobs", tags=["jobs"])
UPLOAD_PATHS = ("/v1/jobs/assess",)


def job_out(job: dict, request: Request) -> JobOut:
    base = str(request.base_url).rstrip("/") + f"/v1/jobs/{job['id']}"
    rate = job["done"] / job["seconds"] if job["seconds"] else None
    eta = (job["total"] - job["done"]) / rate if rate and job["state"] in ("queued", "running") else None
    links = {"self": base, "cancel": f"{base}/cancel"} | {
        f"results_{f}": f"{base}/results.{f}" for f in ("gpkg", "geojson", "csv")}
    return JobOut(**{k: job[k] for k in ("id", "state", "created", "started", "finished", "total", "done",
                                         "chunks_done", "chunks_total", "chunk_size", "error", "params", "upload")},
                  rate=round(rate, 1) if rate else None, eta_s=round(eta, 1) if eta is not None else None, links=links)


@router.post("/assess", status_code=202, response_model=JobOut, operation_id="submitAssessJob")
def submit(
    request: Request,
    services: ServicesDep,
    who: PrincipalDep,
    file: Annotated[UploadFile, File(description="sites: any accepted site-file format, one site per parcel")],
    industry: Annotated[str, Form(min_length=1, max_length=8)],
    action: Annotated[Action, Form()] = "new",
    product: Annotated[str | None, Form(max_length=200)] = None,
    name: Annotated[str | None, Form(max_length=200)] = None,
    captive: Annotated[bool, Form(description="自备: a captive plant")] = False,
    capacity_replacement: Annotated[bool, Form(description="产能置换: built by capacity replacement")] = False,
    major_project: Annotated[bool, Form(description="国家重大项目: claimed state major project")] = False,
    capacity: Annotated[str | None, Form(max_length=60, description=CAPACITY_HELP)] = None,
    process: Annotated[str | None, Form(max_length=200, description="工艺, as the owner describes it (shown)")] = None,
    crs: Annotated[str | None, Form(max_length=64)] = None,
    key_region_edition: Annotated[Edition | None, Form()] = None,
    chunk_size: Annotated[int, Form(ge=10, le=20_000)] = 1000,
) -> JobOut:
    """Queue the judgment of every site of the file for one project; 202 with the job."""
    ensure_may_assess(services, who)
    project = Project(industry, action, product, name, captive, capacity_replacement, major_project,
                capacity_of(capacity), process)
    check_project(services.industries, project)  # a bad industry or product is a 422 now, not a failed job later
    s = services.settings
    limits = s.batch_limits()
    upload = read_site_file(file, crs, limits)
    params = {**dataclasses.asdict(project), "submitted_by": who.name,
              "edition": key_region_edition or s.key_region_edition}
    sites = [(shapely.to_wkb(p.geometry), p.properties) for p in upload.parcels]
    jid = services.jobs.create(sites, params, upload_summary(upload), chunk_size)
    audit(services, who, "job.submit", jid, upload.sha256, {"sites": len(sites), "industry": industry})
    if services.runner is not None:
        services.runner.wake()
    return job_out(services.jobs.get(jid), request)


@router.get("/{job_id}", response_model=JobOut, operation_id="getJob")
def get_job(job_id: str, request: Request, services: ServicesDep) -> JobOut:
    return job_out(services.jobs.get(job_id), request)


@router.post("/{job_id}/cancel", response_model=JobOut, operation_id="cancelJob")
def cancel_job(job_id: str, request: Request, services: ServicesDep, who: PrincipalDep) -> JobOut:
    """Stop a job: the key that submitted it, or an editor's. (A job submitted without a key
    is cancelled by an editor.)"""
    owner = services.jobs.get(job_id)["params"].get("submitted_by")
    if not (who.at_least("editor") or (who.role is not None and who.name == owner)):
        if who.role is None:
            raise NotAuthenticated("cancelling a job needs the API key that submitted it, or an editor's")
        raise Forbidden(f"job {job_id} was submitted by {owner!r}; cancelling it needs that key or an editor's")
    job = services.jobs.cancel(job_id)
    audit(services, who, "job.cancel", job_id, None, {"state": job["state"]})
    return job_out(job, request)


@router.get("/{job_id}/results.{fmt}", operation_id="getJobResults",
            responses={409: {"description": "the job has not finished"}})
def results(job_id: str, fmt: Literal["gpkg", "geojson", "csv"], services: ServicesDep):
    job = services.jobs.get(job_id)
    if job["state"] != "done":
        raise JobNotDone(f"job {job_id} is {job['state']} ({job['done']}/{job['total']} sites)")
    data, media = export_results(services.jobs.results(job_id), fmt)
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="job-{job_id}.{fmt}"'})

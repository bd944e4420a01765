"""Site files: POST /v1/sites (parse only), POST /v1/assess/upload (judge every parcel and the
whole, store the result), GET /v1/assessments/{id} and its report as HTML or PDF."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from app.auth import PrincipalDep, audit, ensure_may_assess, record_owner
from app.deps import ServicesDep, services_as_of, services_at
from app.models.uploads import RerunOut, SitesResponse, UploadAssessmentOut
from app.routing import StrictRoute
from layers.dates import end_of_day
from layers.ingest import UploadTooLarge, read_upload
from zoning.errors import InvalidParameter
from zoning.judge import Project
from zoning.report import render_html, render_pdf
from zoning.scale import CAPACITY_HELP, capacity_of
from zoning.uploads import assess_upload, geometry_json, rerun, upload_summary
from zoning.vocabulary import Action, Edition

router = APIRouter(route_class=StrictRoute, prefix="/v1", tags=["uploads"])
UPLOAD_PATHS = ("/v1/sites", "/v1/assess/upload")
CRS_HELP = ("CRS of the coordinates when the file does not say: EPSG:4326, 4490, a CGCS2000 "
            "Gauss-Krüger zone (4491–4554), 3857, GCJ-02 or BD-09")
FORMATS_HELP = ("GeoJSON, zipped Shapefile, KML, KMZ, GeoPackage, CSV/XLSX boundary-point table, "
                "用地报批 coordinate TXT or DXF")


def read_limited(file: UploadFile, max_bytes: int) -> bytes:
    """An uploaded file's bytes, refused past ``max_bytes`` without reading the rest."""
    data = file.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadTooLarge(f"the file is larger than {max_bytes / 2**20:.0f} MB")
    return data


def read_site_file(file: UploadFile, crs: str | None, limits):
    """The uploaded file read up to its size limit, parsed (in the limited subprocess)."""
    data = read_limited(file, limits.max_bytes)
    return read_upload(data, file.filename or "upload", crs=crs or None, limits=limits)


@router.post("/sites", response_model=SitesResponse, operation_id="parseSites")
def parse_sites(
    services: ServicesDep,
    file: Annotated[UploadFile, File(description=FORMATS_HELP)],
    crs: Annotated[str | None, Form(max_length=64, description=CRS_HELP)] = None,
) -> SitesResponse:
    """Read a site file: its parcels as GeoJSON (EPSG:4490) with area, vertex count and the
    file's own attributes, the CRS used and any warnings. Nothing is stored."""
    upload = read_site_file(file, crs, services.settings.upload_limits())
    features = [{"type": "Feature", "id": p.index + 1, "geometry": geometry_json(p.geometry),
                 "properties": {"index": p.index, "area_m2": round(p.area_m2, 2), "vertices": p.vertices,
                                "attributes": p.properties}} for p in upload.parcels]
    return SitesResponse(upload=upload_summary(upload), features=features)


def _links(request: Request, rid: str) -> dict[str, str]:
    base = str(request.base_url).rstrip("/")
    return {"self": f"{base}/v1/assessments/{rid}", "report_html": f"{base}/v1/assessments/{rid}/report.html",
            "report_pdf": f"{base}/v1/assessments/{rid}/report.pdf"}


@router.post("/assess/upload", response_model=UploadAssessmentOut, operation_id="assessUpload")
def assess_upload_file(
    request: Request,
    services: ServicesDep,
    who: PrincipalDep,
    file: Annotated[UploadFile, File(description=FORMATS_HELP)],
    industry: Annotated[str, Form(min_length=1, max_length=8, description="GB/T 4754-2017 class, e.g. C3120")],
    action: Annotated[Action, Form()] = "new",
    product: Annotated[str | None, Form(max_length=200)] = None,
    name: Annotated[str | None, Form(max_length=200)] = None,
    captive: Annotated[bool, Form(description="自备: a captive plant")] = False,
    capacity_replacement: Annotated[bool, Form(description="产能置换: built by capacity replacement")] = False,
    major_project: Annotated[bool, Form(description="国家重大项目: claimed state major project")] = False,
    capacity: Annotated[str | None, Form(max_length=60, description=CAPACITY_HELP)] = None,
    process: Annotated[str | None, Form(max_length=200, description="工艺, as the owner describes it (shown)")] = None,
    crs: Annotated[str | None, Form(max_length=64, description=CRS_HELP)] = None,
    key_region_edition: Annotated[Edition | None, Form()] = None,
    as_of: Annotated[dt.date | None, Form(description="judge against the layers and rules in force at "
                                                      "the end of this day (CST)")] = None,
) -> UploadAssessmentOut:
    """Judge the project on every parcel of the file and on all parcels together; the result
    is stored (GET /v1/assessments/{id}) with a report in Chinese or English."""
    ensure_may_assess(services, who)
    owner, quota = record_owner(services, who, request)
    upload = read_site_file(file, crs, services.settings.upload_limits())
    s = services_as_of(services, as_of)
    record = assess_upload(
        s.judging, upload,
        Project(industry, action, product, name, captive, capacity_replacement, major_project,
                capacity_of(capacity), process),
        edition=key_region_edition or services.settings.key_region_edition,
        limits=services.settings.site_limits(),
    )
    record["as_of"] = as_of.isoformat() if as_of else None
    rid = services.records.add("upload", record, input_sha256=upload.sha256, filename=upload.filename,
                               owner=owner, quota=quota)
    audit(services, who, "assess.upload", rid, upload.sha256,
          {"verdict": record["verdict"], "parcels": len(record["parcels"]), "as_of": record["as_of"],
           "rules_version": record["union"]["rules_version"]})
    return UploadAssessmentOut.model_validate({**services.records.get(rid), "links": _links(request, rid)})


@router.post("/assessments/{assessment_id}/rerun", response_model=RerunOut, operation_id="rerunAssessment")
def rerun_assessment(
    assessment_id: str,
    services: ServicesDep,
    who: PrincipalDep,
    against: Annotated[Literal["recorded", "current"], Query(
        description="recorded: the layer and rules versions in force when it was made (reproduces it); "
                    "current: those in force now (what has changed since)")] = "recorded",
) -> RerunOut:
    """Judge a stored assessment's parcels again and compare with what was recorded."""
    ensure_may_assess(services, who)
    record = services.records.get(assessment_id, kind="upload")
    s = services
    if against == "recorded":
        at = record.get("as_of")
        s = services_at(services, end_of_day(dt.date.fromisoformat(at)) if at else record["created"])
    out = rerun(s.judging, record, services.settings.site_limits())
    audit(services, who, "assess.rerun", assessment_id, record.get("input_sha256"),
          {"against": against, "same": out["same"], "verdict": out["verdict_after"]})
    return RerunOut(id=assessment_id, against=against, **out)


@router.get("/assessments/{assessment_id}", response_model=UploadAssessmentOut, operation_id="getAssessment")
def get_assessment(assessment_id: str, request: Request, services: ServicesDep) -> UploadAssessmentOut:
    return UploadAssessmentOut.model_validate({**services.records.get(assessment_id, kind="upload"),
                                               "links": _links(request, assessment_id)})


def _lang(lang: str) -> str:
    if lang not in ("zh", "en"):
        raise InvalidParameter(f"lang must be zh or en; got {lang!r}")
    return lang


@router.get("/assessments/{assessment_id}/report.html", operation_id="getReportHtml",
            responses={200: {"content": {"text/html": {}}, "description": "the report as HTML"}})
def report_html(assessment_id: str, services: ServicesDep,
                lang: Annotated[str, Query(description="zh (default) or en")] = "zh") -> HTMLResponse:
    return HTMLResponse(render_html(services.records.get(assessment_id, kind="upload"), services.store, _lang(lang)))


@router.get("/assessments/{assessment_id}/report.pdf", operation_id="getReportPdf",
            responses={200: {"content": {"application/pdf": {}}}})
def report_pdf(assessment_id: str, services: ServicesDep,
               lang: Annotated[str, Query(description="zh (default) or en")] = "zh") -> Response:
    record = services.records.get(assessment_id, kind="upload")
    # the map draws the layers in force: a switch makes another report
    key = f"{assessment_id}|{_lang(lang)}|" + ",".join(f"{i.id}@{i.version}" for i in services.store.layers())
    pdf = services.reports.get(key)
    if pdf is None:
        pdf = render_pdf(render_html(record, services.store, _lang(lang)))
        services.reports.put(key, pdf)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="assessment-{assessment_id}-{lang}.pdf"'})

"""The judgment: may a project of this industry and action be built on this site, and why?

Every rule of the rule set is evaluated against the project and the site's overlaps, and every
item of the access lists in force that covers a control unit the site touches
(``zoning.access_lists``); each that applies becomes a reason citing its clause (or item) and the
layer version behind it. The
verdict is the most severe reason (``prohibited`` > ``undetermined`` > ``conditional`` >
``permitted``). A rule that could restrict the project but whose layers do not cover the site
gives ``undetermined`` — never a silent ``permitted``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import shapely

from layers.values import plain
from zoning.access_lists import BINDS, LEVEL_ZH, AccessList, Item, Unit, access_lists, applies
from zoning.context import Judging
from zoning.errors import InvalidParameter
from zoning.industries import Industry, IndustryCatalogue, covers
from zoning.overlay import LayerHits, overlay, overlay_many
from zoning.rules import FLAGS, FeatureTest, Rule, RuleSet
from zoning.scale import Capacity, Threshold
from zoning.site import Site
from zoning.vocabulary import ACTIONS, DEFAULT_EDITION, EDITIONS, SEVERITY

SYNTHETIC_NOTICE = {
    "zh": "本结果使用了合成示例数据（synthetic），仅供演示，不得用于审批。",
    "en": "This answer uses SYNTHETIC sample data; it is a demonstration, not an approval basis.",
}
# Share of the site that must lie inside matching features for a `not_within` test to pass.
WITHIN_SHARE = 0.999
# Layer kinds whose hits are listed as the site's zones (admin hits are listed apart).
_ZONE_KINDS = (
    "key_region", "red_line", "control_unit", "protected_area",
    "basic_farmland", "candidate_land", "industrial_park", "forest", "drinking_water",
    "cultivated_land", "urban_boundary", "river_shore", "main_function_zone", "plateau",
)


@dataclass(frozen=True)
class Project:
    industry: str
    action: str = "new"
    product: str | None = None
    name: str | None = None
    captive: bool = False               # 自备: a captive plant of an industrial user
    capacity_replacement: bool = False  # 产能置换: capacity replaced under the replacement rules
    major_project: bool = False         # 国家重大项目: claimed state major project
    capacity: Capacity | None = None    # how big: rules and list items with a size condition need it
    process: str | None = None          # the process as the owner describes it (shown, not judged)

    @classmethod
    def from_params(cls, p: dict) -> Project:
        """A project from stored or submitted parameters (jobs, uploads, re-runs: what
        ``dataclasses.asdict`` made of one)."""
        cap = p.get("capacity")
        return cls(p["industry"], p.get("action") or "new", p.get("product"), p.get("name"),
                   **{f: bool(p.get(f)) for f in FLAGS}, capacity=Capacity(**cap) if cap else None,
                   process=p.get("process"))


@dataclass
class FeatureRef:
    layer_id: str
    feature_id: str
    properties: dict
    overlap_m2: float | None
    share: float | None


@dataclass
class LayerRef:
    id: str
    version: str
    synthetic: bool
    kind: str
    covers_site: bool | None = None


@dataclass
class Reason:
    rule_id: str
    verdict: str
    summary: dict
    clause: dict
    layer: LayerRef | None
    features: list[FeatureRef] = field(default_factory=list)
    note: str | None = None
    item: dict | None = None  # the access-list item behind the reason (zoning.access_lists)


@dataclass
class Assessment:
    verdict: str
    reasons: list[Reason]
    zones: list[FeatureRef]
    admin: list[FeatureRef]
    site: dict
    project: dict
    layers: list[LayerRef]
    rules_version: str
    key_region_edition: str
    synthetic: bool
    notice: dict | None
    assessed_at: str


def feature_refs(hits: LayerHits, mask: np.ndarray | None = None) -> list[FeatureRef]:
    rows = np.flatnonzero(mask) if mask is not None else range(len(hits))
    out = []
    for i in rows:
        props = {k: plain(v) for k, v in hits.row(i).items()}
        out.append(
            FeatureRef(
                layer_id=hits.info.id,
                feature_id=str(hits.ids[i]),
                properties=props,
                overlap_m2=plain(round(float(hits.overlap_m2[i]), 2)),
                share=plain(round(float(hits.share[i]), 6)),
            )
        )
    return out


def layer_ref(hits: LayerHits) -> LayerRef:
    return LayerRef(
        id=hits.info.id,
        version=hits.info.version,
        synthetic=hits.info.synthetic,
        kind=hits.info.kind,
        covers_site=hits.covered,
    )


def check_project(industries: IndustryCatalogue, project: Project) -> tuple[Industry, str | None]:
    """The project's industry and product key; a 422-mapped error for an unknown code, a
    2011-edition code or a product outside the industry's vocabulary."""
    industry = industries.get(project.industry)
    product = industries.product(industry.code, project.product).key if project.product else None
    return industry, product


def _matches_completion(rule: Rule, code: str, product: str | None) -> bool:
    w = rule.when
    if w.industry is not None and not covers(w.industry, code):
        return False
    if any(code.startswith(p) for p in w.industry_not):
        return False
    if w.product is not None and product not in w.product:
        return False
    return product is None or product not in w.product_not


def _matches_project(rule: Rule, options: tuple[tuple[str, str | None], ...], project: Project,
                     params: dict) -> list[tuple[str, str | None]]:
    """The completions the rule takes (empty: it does not fire)."""
    w = rule.when
    if w.action is not None and project.action not in w.action:
        return []
    if any(getattr(project, f) != v for f, v in w.flags.items()):
        return []
    if any(params.get(k) != v for k, v in w.params.items()):
        return []
    return [o for o in options if _matches_completion(rule, *o)]


def _scope_note(taken: list[tuple[str, str | None]], options: tuple[tuple[str, str | None], ...],
                industries: IndustryCatalogue) -> str | None:
    """Says which of an incompletely described project's classes or products a rule takes."""
    if len(options) == 1 or len(taken) == len(options):
        return None
    names = {p.key: p.zh for p in industries.products}
    shown = [f"{c} {industries.by_code[c].zh}" + (f"（{names[p]}）" if p else "") for c, p in taken[:6]]
    more = f" and {len(taken) - 6} more" if len(taken) > 6 else ""
    return "applies to " + "; ".join(shown) + more + " of what the project may be"


def _resolve(where: dict, params: dict) -> dict:
    def res(v):
        if isinstance(v, str) and v.startswith("$"):
            return params[v[1:]]
        if isinstance(v, list):
            return [res(x) for x in v]
        return v

    return {k: res(v) for k, v in where.items()}


def _format_clause(rule: Rule, hit_props: dict | None) -> dict:
    c = rule.clause
    props = hit_props or {}
    doc = c.document.format_map(_Missing(props)) if "{" in c.document else c.document
    text = c.text if c.text is not None else str(props.get(c.text_field, ""))
    return {
        "document": doc,
        "number": c.number,
        "article": c.article,
        "binds": c.binds,
        "text": text,
        "quote_checked": c.quote_checked,
        "source": c.source,
    }


class _Missing(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def _spatial_reasons(rule: Rule, test: FeatureTest, layers: list[LayerHits], site: Site,
                     params: dict) -> list[Reason]:
    """Reasons from one rule's spatial test over all layers of the tested kind.

    ``intersects``: one reason per layer with matching features (per feature when the clause
    quotes the feature's own text). ``not_within``: fires when the site is not inside
    matching features. Either way, when no layer of the kind covers the site and nothing
    fired, a restricting rule gives ``undetermined``."""
    where = _resolve(test.where, params)
    summary = rule.summary.model_dump()
    kind_covered = any(h.covered for h in layers)
    reasons: list[Reason] = []
    if rule.when.intersects is not None:
        for hits in layers:
            mask = hits.matching(where)
            if not mask.any():
                continue
            refs = feature_refs(hits, mask)
            if rule.clause.text_field:  # one reason per feature: each quotes its own list
                reasons.extend(
                    Reason(rule.id, rule.verdict, summary, _format_clause(rule, ref.properties),
                           layer_ref(hits), [ref])
                    for ref in refs
                )
            else:
                reasons.append(Reason(rule.id, rule.verdict, summary, _format_clause(rule, None),
                                      layer_ref(hits), refs))
    elif kind_covered:
        best, best_hits, best_mask = 0.0, None, None
        for hits in layers:
            mask = hits.matching(where)
            share = _inside_share(hits, mask, site)
            if share >= best:
                best, best_hits, best_mask = share, hits, mask
        if best < WITHIN_SHARE:
            reasons.append(
                Reason(rule.id, rule.verdict, summary, _format_clause(rule, None),
                       layer_ref(best_hits), feature_refs(best_hits, best_mask),
                       note=f"{best:.1%} of the site lies inside a qualifying "
                            f"{test.kind.replace('_', ' ')}")
            )
    if not reasons and not kind_covered and rule.verdict != "permitted":
        return [_undetermined(rule, test, layers)]
    return reasons


def _inside_share(hits: LayerHits, mask: np.ndarray, site: Site) -> float:
    """Share of the site inside the union of the masked features (they may overlap)."""
    if not mask.any():
        return 0.0
    if site.is_point:
        return 1.0
    if mask.sum() == 1:
        return float(hits.share[mask][0])
    union = shapely.union_all(shapely.intersection(hits.geoms[mask], site.geometry))
    return min(1.0, float(shapely.area(union) / shapely.area(site.geometry)))


def _undetermined(rule: Rule, test: FeatureTest, uncovered: list[LayerHits]) -> Reason:
    if uncovered:
        names = ", ".join(h.info.id for h in uncovered)
        note = (f"layer(s) {names} of kind {test.kind} do not cover the whole site, so rule "
                f"{rule.id} ({rule.verdict}) cannot be evaluated there")
        absent = [h.absent for h in uncovered if h.absent]
        if absent:
            note += " (" + "; ".join(absent) + ")"
        layer = layer_ref(uncovered[0])
    else:
        note = f"the catalog has no layer of kind {test.kind}, which rule {rule.id} needs"
        layer = None
    return Reason(
        rule_id=rule.id,
        verdict="undetermined",
        summary={
            "zh": f"缺少覆盖本地块的{test.kind}图层，无法判定：" + rule.summary.zh,
            "en": f"No {test.kind} layer covers the site, so this cannot be judged: " + rule.summary.en,
        },
        clause=_format_clause(rule, None),
        layer=layer,
        note=note,
    )


def _sized(found: list[Reason], threshold: Threshold, capacity: Capacity | None) -> list[Reason]:
    """Reasons of a rule or item with a size condition: kept when the project is of that size,
    dropped when it is not, and ``undetermined`` (saying what is missing) when its size cannot
    be compared — a restriction that may apply is never passed over in silence."""
    fits = threshold.check(capacity)
    if fits is True:
        return found
    if fits is False:
        return []
    out = []
    for r in found:
        if r.verdict == "undetermined":  # an open question (no layer here) stays as it is
            out.append(r)
            continue
        if r.verdict == "permitted":  # a permission for a size the project may not have permits nothing
            continue
        out.append(Reason(r.rule_id, "undetermined",
                          {"zh": threshold.zh(capacity) + "：" + r.summary["zh"],
                           "en": "Cannot be judged without the project's size: " + r.summary["en"]},
                          r.clause, r.layer, r.features, note=fits, item=r.item))
    return out


def _list_reasons(lists: list[AccessList], units: list[LayerHits], options: tuple[tuple[str, str | None], ...],
                  project: Project, industries: IndustryCatalogue) -> list[Reason]:
    """One reason per access-list item that applies to the project in a unit the site touches
    (with the units it applies through), and per item whose scope is everywhere (``*``: a
    national list such as the industrial-structure catalogue) wherever the site is: coded items
    with their own verdict, uncoded ones as requirements the project must meet (``conditional``)."""
    refs = [ref for hits in units for ref in feature_refs(hits)]
    out = []
    for al in lists:
        found: dict[str, tuple[Item, list[FeatureRef], list]] = {}
        for ref in refs:
            for item in al.covering(Unit.of(ref.feature_id, ref.properties)):
                taken = applies(item, options, project.action, industries)
                if taken:
                    found.setdefault(item.item_id, (item, [], taken))[1].append(ref)
        for item in al.everywhere:
            if item.item_id not in found and (taken := applies(item, options, project.action, industries)):
                found[item.item_id] = (item, [], taken)
        layer = LayerRef(al.info.id, al.info.version, al.info.synthetic, al.info.kind)
        for item, features, taken in found.values():
            level = f"{LEVEL_ZH.get(item.level, item.level)} · {item.dimension}"
            if item.coded:
                verdict, note = item.verdict, _scope_note(taken, options, industries)
                en = f"Access-list item {item.item_id} ({item.level} level, {item.dimension})"
            else:
                verdict = "permitted" if item.verdict == "permitted" else "conditional"
                note = "a requirement of the access list that every project here must meet (no industry coding)"
                en = f"Access-list requirement {item.item_id} ({item.level} level, {item.dimension})"
            clause = {"document": item.source or al.info.entry.title.zh, "number": item.item_id, "article": level,
                      "binds": al.info.entry.binds or BINDS, "text": item.text, "quote_checked": True,
                      "source": f"access list {al.info.id} version {al.info.version}, item {item.item_id}"}
            reason = Reason(f"{al.info.id}:{item.item_id}", verdict, {"zh": item.text, "en": en}, clause,
                            layer, features, note=note, item=item.as_dict())
            out.extend(_sized([reason], item.scale, project.capacity) if item.scale else [reason])
    return out


def judge(judging: Judging, site: Site, project: Project, edition: str = DEFAULT_EDITION,
          now: dt.datetime | None = None) -> Assessment:
    """Is ``project`` permitted at ``site``: every rule and access-list item that applies, with
    its clause and the layer versions behind it."""
    _check(project, edition)
    return judge_hits(judging.rules, judging.industries, site, project, _then(judging, overlay(judging.store, site)),
                      edition, now, _lists_then(judging))


def judge_many(judging: Judging, sites: list[Site], project: Project, edition: str = DEFAULT_EDITION,
               now: dt.datetime | None = None) -> list[Assessment]:
    """:func:`judge` for many sites and one project, overlaying all sites at once; the same
    answers as judging them one by one."""
    _check(project, edition)
    now = now or dt.datetime.now(dt.UTC)
    lists = _lists_then(judging)
    return [judge_hits(judging.rules, judging.industries, site, project, _then(judging, hits), edition, now, lists)
            for site, hits in zip(sites, overlay_many(judging.store, sites))]


def _then(judging: Judging, hits: dict[str, LayerHits]) -> dict[str, LayerHits]:
    """The overlay as it stood at ``as_of``: a layer whose data was not yet in existence has no
    features there and covers nothing, so the rules that need it are undetermined, saying why."""
    return {lid: h if judging.existed(h.info) else h.without_features(
                covered=False, absent=f"{lid}'s version in force then (data of "
                                      f"{h.info.entry.valid_from or h.info.entry.vintage}) is later than as_of")
            for lid, h in hits.items()}


def _lists_then(judging: Judging) -> list[AccessList]:
    """The access lists in existence at ``as_of``."""
    return [al for al in access_lists(judging.store) if judging.existed(al.info)]


def _check(project: Project, edition: str) -> None:
    if edition not in EDITIONS:
        raise InvalidParameter(f"key_region_edition must be one of {EDITIONS}; got {edition!r}")
    if project.action not in ACTIONS:
        raise InvalidParameter(f"action must be one of {ACTIONS}; got {project.action!r}")


def judge_hits(rules: RuleSet, industries: IndustryCatalogue, site: Site, project: Project,
               hits: dict[str, LayerHits], edition: str = DEFAULT_EDITION,
               now: dt.datetime | None = None, lists: list[AccessList] = ()) -> Assessment:
    """The rules and the access lists over one site's overlay (from :func:`overlay` or
    :func:`overlay_many`)."""
    industry, product = check_project(industries, project)
    options = industries.completions(industry.code, product)
    params = {"edition": edition}
    by_kind: dict[str, list[LayerHits]] = {}
    for h in hits.values():
        by_kind.setdefault(h.info.kind, []).append(h)

    reasons: list[Reason] = []
    for rule in rules.rules:
        taken = _matches_project(rule, options, project, params)
        if not taken:
            continue
        test = rule.when.spatial
        found = ([Reason(rule.id, rule.verdict, rule.summary.model_dump(), _format_clause(rule, None), None)]
                 if test is None else _spatial_reasons(rule, test, by_kind.get(test.kind, []), site, params))
        if rule.when.threshold is not None:
            found = _sized(found, rule.when.threshold, project.capacity)
        scope = _scope_note(taken, options, industries)
        for r in found:
            r.note = "; ".join(n for n in (r.note, scope) if n) or None
        reasons.extend(found)
    listed = _list_reasons(lists, by_kind.get("control_unit", []), options, project, industries)
    reasons.extend(listed)

    reasons.sort(key=lambda r: (-SEVERITY[r.verdict], r.rule_id))
    verdict = reasons[0].verdict if reasons else "permitted"

    zones = [ref for h in hits.values() if h.info.kind in _ZONE_KINDS
             for ref in feature_refs(h) if h.info.kind != "key_region"
             or ref.properties.get("edition") == edition]
    admin = [ref for h in hits.values() if h.info.kind == "admin" for ref in feature_refs(h)]
    used = [layer_ref(h) for h in hits.values()] + [
        LayerRef(al.info.id, al.info.version, al.info.synthetic, al.info.kind) for al in lists]
    # synthetic data speaks in this answer if a synthetic layer covers the site or is hit
    synthetic = (any(h.info.synthetic and (h.covered or len(h)) for h in hits.values())
                 or any(r.layer.synthetic for r in listed))
    return Assessment(
        verdict=verdict,
        reasons=reasons,
        zones=zones,
        admin=admin,
        site={
            "type": site.geometry.geom_type,
            "area_m2": round(site.area_m2, 2),
            "centroid": [round(site.centroid[0], 7), round(site.centroid[1], 7)],
            "area_crs": f"EPSG:{site.gk_epsg}",
            "vertices": site.vertices,
            "bbox": [round(b, 7) for b in shapely.bounds(site.geometry).tolist()],
        },
        project={
            "industry": industry.code,
            "industry_level": industry.level,
            "industry_name": {"zh": industry.zh, "en": industry.en or industry.zh},  # untranslated: the standard's name
            "industry_changed_2019": industry.changed_2019,
            "action": project.action,
            "product": product,
            "name": project.name,
            **{f: getattr(project, f) for f in FLAGS},
            "capacity": project.capacity.as_dict() if project.capacity else None,
            "process": project.process,
        },
        layers=used,
        rules_version=rules.version,
        key_region_edition=edition,
        synthetic=synthetic,
        notice=SYNTHETIC_NOTICE if synthetic else None,
        assessed_at=(now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
    )

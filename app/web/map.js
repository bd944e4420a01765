/* The /map page: layers from our own tiles (no external basemap), a layer switcher with the
 * key-region edition, click → /v1/here popup, draw or upload a site → /v1/assess verdict.
 * Plain script, no build step; MapLibre GL JS is vendored from npm at set-up. */
"use strict";

const I18N = {
  zh: {
    title: "减污降碳协同增效 · 选址与准入地图", layers: "图层", edition: "重点区域版本", legend: "图例",
    assess: "项目生态环境分区管控准入研判", industry: "行业（GB/T 4754）", action: "建设性质", action_new: "新建",
    action_expand: "扩建", action_rebuild: "改建", draw: "绘制地块", finish: "完成", clear: "清除",
    upload: "上传地块文件（GeoJSON、SHP压缩包、KML/KMZ、GPKG、CSV/XLSX、报批TXT、DXF）",
    crs: "坐标系（文件未注明时）", report: "研判报告", parcels: "地块", draw_hint: "在地图上单击添加顶点，双击或点“完成”结束（至少 3 个点）。",
    lang: "English", loading: "加载中…", ready: "就绪", assessing: "研判中…",
    banner: "⚠ 合成示例数据：当前显示的图层中含有合成（synthetic）数据，仅供演示，不得用于审批。",
    synthetic: "合成", verdict: "结论", reasons: "理由", rules_version: "规则版本", layer: "图层",
    area: "面积", ha: "公顷", nothing_here: "此处无要素", too_few: "至少需要 3 个顶点",
    bad_file: "无法读取文件", request_failed: "请求失败",
    v_prohibited: "禁止", v_undetermined: "无法判定", v_conditional: "有条件准入", v_permitted: "允许",
    find_sites: "新能源选址", tech: "技术", aoi: "区域（行政区划代码；空则为当前视图）", find: "查找",
    searching: "选址计算中…", rank: "序", land: "地类", usable: "可用(ha)", mw: "MW", score: "得分",
    rejected_n: "未入选", export: "导出",
    product: "产品或工艺（不选则按最严格者研判）", any_product: "未指明",
    capacity: "规模（有规模条件的条目需要）",
    claims: "申报事项（申报即在结论中载明）", captive: "自备电厂", capacity_replacement: "产能置换",
    major_project: "国家重大项目", claimed: "申报",
  },
  en: {
    title: "Pollution & carbon synergy · siting and access map", layers: "Layers",
    edition: "Key-region edition", legend: "Legend", assess: "Assess a project against the zoning control",
    industry: "Industry (GB/T 4754)", action: "Action", action_new: "New", action_expand: "Expansion",
    action_rebuild: "Rebuild", draw: "Draw site", finish: "Finish", clear: "Clear",
    upload: "Upload a site file (GeoJSON, zipped SHP, KML/KMZ, GPKG, CSV/XLSX, 报批 TXT, DXF)",
    crs: "CRS (when the file does not say)", report: "Report", parcels: "parcels", draw_hint: "Click the map to add vertices; double-click or press Finish (3 or more).",
    lang: "中文", loading: "loading…", ready: "ready", assessing: "assessing…",
    banner: "⚠ Synthetic sample data: a layer on show is SYNTHETIC — a demonstration, not an approval basis.",
    synthetic: "synthetic", verdict: "Verdict", reasons: "Reasons", rules_version: "Rules version",
    layer: "Layer", area: "Area", ha: "ha", nothing_here: "Nothing here", too_few: "Draw at least 3 vertices",
    bad_file: "Cannot read the file", request_failed: "Request failed",
    v_prohibited: "Prohibited", v_undetermined: "Undetermined", v_conditional: "Conditional", v_permitted: "Permitted",
    find_sites: "Find sites", tech: "Technology", aoi: "Area (admin code; empty = current view)", find: "Find",
    searching: "searching…", rank: "#", land: "Land", usable: "Usable ha", mw: "MW", score: "Score",
    rejected_n: "rejected", export: "Export",
    product: "Product or process (none: judged by the strictest)", any_product: "not stated",
    capacity: "Capacity (items with a size condition need it)",
    claims: "Claims (each is shown in the answer)", captive: "Captive plant", capacity_replacement: "Capacity replacement",
    major_project: "State major project", claimed: "claimed",
  },
};

// Properties worth showing first in popups; long texts go into <details>.
const SHOWN = ["name", "class_name", "unit_class", "code", "region", "edition", "land_kind",
  "listing_status", "planning_eia", "voltage_kv", "adcode", "synthetic"];
const LONG = ["spatial_layout", "emission_control", "risk_control", "resource_efficiency"];

const params = new URLSearchParams(location.search);
const state = {
  lang: params.get("lang") === "en" ? "en" : "zh",
  edition: params.get("edition") === "2018" ? "2018" : "2023",
  layers: [], legend: [], visible: new Set(), drawing: false, vertices: [], site: null,
  lastHere: null, lastAssessment: null,
};
const t = (key) => I18N[state.lang][key] ?? key;
const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

async function fetchJSON(url, options) {
  const r = await fetch(url, options);
  let body = null;
  try { body = await r.json(); } catch (e) { /* non-JSON error page */ }
  if (!r.ok) {
    // the status, the kind, and what is wrong (a schema failure lists each place and problem)
    const detail = !body ? r.statusText : typeof body.detail === "string" ? body.detail
      : Array.isArray(body.detail) ? body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ")
      : JSON.stringify(body.detail ?? body);
    const msg = `${r.status}${body && body.error ? ` ${body.error}` : ""}: ${detail}`;
    throw new Error(msg);
  }
  return body;
}

function applyLang() {
  document.documentElement.lang = state.lang;
  document.title = t("title");
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("#lang").textContent = t("lang");
  $("#status").textContent = map && map.loaded() ? t("ready") : t("loading");
  renderLayerList();
  renderLegend();
  renderIndustries();
  updateBanner();
  if (state.lastAssessment) renderAssessment(state.lastAssessment);
}

// ---------------------------------------------------------------- layers and legend
function styleLayersOf(id) {
  return map.getStyle().layers.filter((l) => l.id === id || l.id.startsWith(id + "-"));
}

function setVisible(id, on) {
  on ? state.visible.add(id) : state.visible.delete(id);
  for (const l of styleLayersOf(id)) map.setLayoutProperty(l.id, "visibility", on ? "visible" : "none");
  updateBanner();
}

function renderLayerList() {
  const ul = $("#layer-list");
  ul.innerHTML = "";
  for (const info of state.layers) {
    if (!styleLayersOf(info.id).length) continue;
    const li = document.createElement("li");
    li.innerHTML = `<input type="checkbox" id="chk-${esc(info.id)}" data-layer="${esc(info.id)}" ${state.visible.has(info.id) ? "checked" : ""}>
      <label for="chk-${esc(info.id)}">${esc(info.title[state.lang])}</label>
      ${info.synthetic ? `<span class="tag-synthetic">${t("synthetic")}</span>` : ""}`;
    li.querySelector("input").addEventListener("change", (e) => setVisible(info.id, e.target.checked));
    ul.appendChild(li);
  }
}

function renderLegend() {
  const ul = $("#legend");
  ul.innerHTML = "";
  for (const item of state.legend) {
    const li = document.createElement("li");
    const sw = item.kind === "ramp"
      ? `<span class="swatch ramp" style="background:linear-gradient(to right,${item.stops.map((s) => s[1]).join(",")})"></span>`
      : `<span class="swatch ${item.kind}" style="background:${esc(item.color)}"></span>`;
    const range = item.kind === "ramp" ? ` <small>${item.stops[0][0]}–${item.stops[item.stops.length - 1][0]} ${esc(item.unit || "")}</small>` : "";
    li.innerHTML = `${sw}<span>${esc(item[state.lang])}${range}</span>${item.synthetic ? ` <span class="tag-synthetic">${t("synthetic")}</span>` : ""}`;
    ul.appendChild(li);
  }
}

function updateBanner() {
  const shown = state.layers.filter((l) => l.synthetic && state.visible.has(l.id));
  const banner = $("#banner");
  banner.hidden = shown.length === 0;
  banner.textContent = `${t("banner")} (${shown.map((l) => l.id).join(", ")})`;
}

function setEdition(edition) {
  state.edition = edition;
  for (const l of styleLayersOf("key_regions")) map.setFilter(l.id, ["==", ["get", "edition"], edition]);
}

// ---------------------------------------------------------------- popup: everything at a point
function featureHTML(f) {
  const p = f.properties || {};
  const rows = SHOWN.filter((k) => p[k] !== undefined && p[k] !== null && p[k] !== "")
    .map((k) => `<dt>${esc(k)}</dt><dd>${esc(p[k])}</dd>`).join("");
  const long = LONG.filter((k) => p[k]).map((k) => `<details><summary>${esc(k)}</summary>${esc(p[k])}</details>`).join("");
  return `<div class="feature" data-feature="${esc(f.feature_id)}"><dl>${rows}</dl>${long}</div>`;
}

async function showHere(lngLat) {
  const popup = new maplibregl.Popup({ maxWidth: "400px" }).setLngLat(lngLat).setHTML(t("loading")).addTo(map);
  try {
    const here = await fetchJSON(`/v1/here?lon=${lngLat.lng.toFixed(6)}&lat=${lngLat.lat.toFixed(6)}`);
    state.lastHere = here;
    const titles = Object.fromEntries(state.layers.map((l) => [l.id, l.title[state.lang]]));
    const parts = [];
    for (const layer of here.layers) {
      let feats = layer.features;
      if (layer.id === "key_regions") feats = feats.filter((f) => f.properties.edition === state.edition);
      if (!feats.length) continue;
      parts.push(`<section data-layer="${esc(layer.id)}"><h3>${esc(titles[layer.id] || layer.id)}
        ${layer.synthetic ? `<span class="tag-synthetic">${t("synthetic")}</span>` : ""}</h3>
        ${feats.map(featureHTML).join("")}<div class="meta">${esc(layer.version)}</div></section>`);
    }
    const values = here.values.filter((v) => v.value !== null).map((v) =>
      `<dt>${esc(titles[v.id] || v.id)}</dt><dd data-raster="${esc(v.id)}">${esc(v.value)} ${esc(v.unit)}</dd>`).join("");
    if (values) parts.push(`<section data-layer="rasters"><dl>${values}</dl></section>`);
    const notice = here.notice ? `<p class="tag-synthetic">${esc(here.notice[state.lang])}</p>` : "";
    popup.setHTML(`<div data-testid="here-popup"><b>${here.lon.toFixed(5)}, ${here.lat.toFixed(5)}</b>${notice}${parts.join("") || `<p>${t("nothing_here")}</p>`}</div>`);
  } catch (e) {
    popup.setHTML(`<div data-testid="here-popup" class="error">${esc(e.message)}</div>`);
  }
}

// ---------------------------------------------------------------- drawing and uploading a site
function drawnGeoJSON() {
  const v = state.vertices;
  const features = v.map((c) => ({ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: c } }));
  if (v.length > 1) features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: v } });
  return { type: "FeatureCollection", features };
}

function startDrawing() {
  state.drawing = true;
  state.vertices = [];
  map.doubleClickZoom.disable();
  map.getCanvas().style.cursor = "crosshair";
  $("#draw-hint").hidden = false;
  $("#finish").disabled = false;
  map.getSource("draft").setData(drawnGeoJSON());
}

function stopDrawing() {
  state.drawing = false;
  map.doubleClickZoom.enable();
  map.getCanvas().style.cursor = "";
  $("#draw-hint").hidden = true;
  $("#finish").disabled = true;
  map.getSource("draft").setData({ type: "FeatureCollection", features: [] });
}

function finishDrawing() {
  // a double-click also fires two clicks on the same spot: drop repeated vertices
  const v = state.vertices.filter((c, i, a) => i === 0 || c[0] !== a[i - 1][0] || c[1] !== a[i - 1][1]);
  if (v.length < 3) { showError(t("too_few")); return; }
  stopDrawing();
  assess({ type: "Polygon", coordinates: [[...v, v[0]]] });
}

function showSite(site) {
  state.site = site;
  map.getSource("site").setData(site.type === "FeatureCollection" || site.type === "Feature" ? site
    : { type: "Feature", properties: {}, geometry: site });
}

function fitTo(bbox) {
  if (bbox) map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 80, maxZoom: 14, duration: 0 });
}

async function onUpload(file) {
  if (!/\.(geo)?json$/i.test(file.name)) return assessFile(file);
  let site;
  try {
    site = JSON.parse(await file.text());
  } catch (e) {
    showError(`${t("bad_file")} ${file.name}: ${e.message}`);
    return;
  }
  assess(site, true);
}

function showError(message) {
  $("#result").innerHTML = `<p class="error" data-testid="error">${esc(message)}</p>`;
}

const CLAIMS = ["captive", "capacity_replacement", "major_project"];

// The project as the API takes it: industry, action, product when one is chosen, the claims,
// the capacity when a value is given.
function projectInput() {
  const p = { industry: $("#industry").value, action: $("#action").value };
  if ($("#product").value) p.product = $("#product").value;
  for (const c of CLAIMS) p[c] = $("#" + c).checked;
  const value = $("#capacity_value").value.trim();
  if (value !== "") p.capacity = { value: Number(value), unit: $("#capacity_unit").value };
  return p;
}

async function assess(site, fit) {
  showSite(site);
  $("#status").textContent = t("assessing");
  const body = {
    site,
    project: projectInput(),
    key_region_edition: state.edition,
  };
  try {
    const result = await fetchJSON("/v1/assess", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    state.lastAssessment = result;
    renderAssessment(result);
    $("#result").scrollIntoView({ block: "nearest" });
    if (fit) fitTo(result.site.bbox);
  } catch (e) {
    state.lastAssessment = null;
    showError(`${t("request_failed")}: ${e.message}`);
  } finally {
    $("#status").textContent = t("ready");
  }
}

async function assessFile(file) {
  // any accepted format: the server parses it (and its CRS) and judges every parcel and the whole
  $("#status").textContent = t("assessing");
  const form = new FormData();
  form.append("file", file, file.name);
  for (const [k, v] of Object.entries(projectInput())) {
    form.append(k, k === "capacity" ? `${v.value} ${v.unit}` : String(v));  // the form takes "35 蒸吨/h"
  }
  form.append("key_region_edition", state.edition);
  if ($("#crs").value.trim()) form.append("crs", $("#crs").value.trim());
  try {
    const record = await fetchJSON("/v1/assess/upload", { method: "POST", body: form });
    showSite({ type: "FeatureCollection", features: record.parcels.map((p) => (
      { type: "Feature", properties: { index: p.index, verdict: p.assessment.verdict }, geometry: p.geometry })) });
    state.lastAssessment = { ...record.union, record };
    renderAssessment(state.lastAssessment);
    fitTo(record.union.site.bbox);
  } catch (e) {
    state.lastAssessment = null;
    showError(`${t("request_failed")} (${file.name}): ${e.message}`);
  } finally {
    $("#status").textContent = t("ready");
  }
}

function renderAssessment(a) {
  const reasons = a.reasons.map((r) => `
    <div class="reason ${esc(r.verdict)}" data-rule="${esc(r.rule_id)}">
      <b>${esc(t("v_" + r.verdict))}</b> · ${esc(r.summary[state.lang])}
      <div class="clause">${esc(r.clause.document)} ${esc(r.clause.number || "")} ${esc(r.clause.article)}：${esc(r.clause.text)}</div>
      <div class="meta">${esc(r.rule_id)}${r.layer ? ` · ${t("layer")} ${esc(r.layer.id)} ${esc(r.layer.version)}${r.layer.synthetic ? ` (${t("synthetic")})` : ""}` : ""}</div>
    </div>`).join("");
  const notice = a.notice ? `<p class="tag-synthetic">${esc(a.notice[state.lang])}</p>` : "";
  $("#result").innerHTML = `
    <div class="verdict ${esc(a.verdict)}" data-testid="verdict" data-verdict="${esc(a.verdict)}">${t("verdict")}: ${esc(t("v_" + a.verdict))}</div>
    <div class="meta" data-testid="project">${esc(a.project.industry)} ${esc(a.project.industry_name[state.lang])}${a.project.product ? ` · ${esc(productName(a.project.product))}` : ""}${a.project.capacity ? ` · ${esc(a.project.capacity.value)} ${esc(a.project.capacity.unit)}` : ""}${CLAIMS.filter((c) => a.project[c]).map((c) => ` · ${t("claimed")}: ${t(c)}`).join("")} · ${t("area")} ${(a.site.area_m2 / 1e4).toFixed(2)} ${t("ha")}
      · ${esc(a.admin.map((f) => f.properties.name).join(" / "))}</div>
    ${a.record ? `<div class="meta" data-testid="upload-summary">${esc(a.record.upload.filename)} · ${esc(a.record.upload.format)} · ${esc(a.record.upload.crs)} · ${a.record.parcels.length} ${t("parcels")}
      · <a data-testid="report-link" href="${esc(a.record.links.report_pdf)}?lang=${state.lang}" target="_blank">${t("report")} PDF</a>
      · <a href="${esc(a.record.links.report_html)}?lang=${state.lang}" target="_blank">HTML</a></div>` : ""}
    ${notice}<h3>${t("reasons")}</h3>${reasons}
    <div class="meta">${t("rules_version")} ${esc(a.rules_version)} · ${esc(a.assessed_at)}</div>`;
}

function renderIndustries() {
  const sel = $("#industry");
  const current = sel.value || "C3120";
  sel.innerHTML = (state.industries || []).map((i) =>
    `<option value="${esc(i.code)}">${esc(i.code)} ${esc(state.lang === "zh" ? i.zh : i.en || i.zh)}</option>`).join("");
  sel.value = current;
  renderProducts();
}

function productName(key) {
  const p = (state.products || []).find((x) => x.key === key);
  return p ? (state.lang === "zh" ? p.zh : p.en) : key;
}

// The vocabulary of the chosen code: its own products and those of the classes under it.
function renderProducts() {
  const sel = $("#product");
  const code = $("#industry").value;
  const current = sel.value;
  const keys = ((state.industries || []).find((i) => i.code === code) || {}).products || [];
  sel.innerHTML = `<option value="">${esc(t("any_product"))}</option>` +
    keys.map((k) => `<option value="${esc(k)}">${esc(productName(k))}</option>`).join("");
  sel.value = keys.includes(current) ? current : "";
  sel.disabled = keys.length === 0;
}

// ---------------------------------------------------------------- find sites (/v1/siting)
let rankMarkers = [];

function viewPolygon() {
  const b = map.getBounds();
  const [w, s, e, n] = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => +v.toFixed(6));
  return { type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] };
}

async function findSites() {
  const adcode = $("#adcode").value.trim();
  const body = { tech: $("#tech").value, key_region_edition: state.edition };
  if (adcode) body.adcode = adcode; else body.aoi = viewPolygon();
  $("#status").textContent = t("searching");
  $("#siting-result").innerHTML = "";
  try {
    const r = await fetchJSON("/v1/siting", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    state.lastSiting = r;
    map.getSource("candidates").setData({ type: "FeatureCollection", features: r.features });
    rankMarkers.forEach((m) => m.remove());
    rankMarkers = r.features.map((f) => {
      const el = document.createElement("div");
      el.className = "rank-label";
      el.textContent = f.properties.rank;
      const c = centreOf(f.geometry);
      return new maplibregl.Marker({ element: el }).setLngLat(c).addTo(map);
    });
    const rows = r.features.map((f) => {
      const p = f.properties;
      return `<tr data-id="${esc(f.id)}"><td>${p.rank}</td><td>${esc(p.name || p.id)}</td><td>${p.usable_ha.toFixed(1)}</td>
        <td>${p.capacity_mw.toFixed(1)}</td><td>${p.score.toFixed(2)}</td></tr>`;
    }).join("");
    $("#siting-result").innerHTML = `
      <table data-testid="siting-table"><tr><th>${t("rank")}</th><th>${t("land")}</th><th>${t("usable")}</th><th>${t("mw")}</th><th>${t("score")}</th></tr>${rows}</table>
      <div class="meta">${r.rejected.length} ${t("rejected_n")} · ${t("export")}:
        <a href="${esc(r.links.export_geojson)}">GeoJSON</a> <a href="${esc(r.links.export_gpkg)}">GPKG</a> <a href="${esc(r.links.export_csv)}">CSV</a></div>
      ${r.notice ? `<p class="tag-synthetic">${esc(r.notice[state.lang])}</p>` : ""}`;
    document.querySelectorAll("#siting-result tr[data-id]").forEach((tr) => tr.addEventListener("click", () => {
      const f = r.features.find((x) => String(x.id) === tr.dataset.id);
      if (f) { const b = bboxOf(f.geometry); fitTo(b); }
    }));
    if (r.features.length) fitTo(bboxOf({ type: "GeometryCollection", geometries: r.features.map((f) => f.geometry) }));
  } catch (e) {
    $("#siting-result").innerHTML = `<p class="error" data-testid="siting-error">${esc(e.message)}</p>`;
  } finally {
    $("#status").textContent = t("ready");
  }
}

function coordsOf(g) {
  if (g.type === "GeometryCollection") return g.geometries.flatMap(coordsOf);
  return g.type === "Polygon" ? g.coordinates.flat() : g.coordinates.flat(2);
}

function bboxOf(g) {
  const c = coordsOf(g);
  return [Math.min(...c.map((p) => p[0])), Math.min(...c.map((p) => p[1])), Math.max(...c.map((p) => p[0])), Math.max(...c.map((p) => p[1]))];
}

function centreOf(g) {
  const b = bboxOf(g);
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

// ---------------------------------------------------------------- start-up
let map;

async function main() {
  $("#status").textContent = t("loading");
  const [layers, legend, industries, style] = await Promise.all([
    fetchJSON("/v1/layers"), fetchJSON("/tiles/legend.json"), fetchJSON("/v1/industries"),
    fetchJSON(`/tiles/style.json?edition=${state.edition}`),
  ]);
  state.layers = layers.layers.concat(layers.rasters);
  state.legend = legend.items;
  state.industries = industries.industries;
  state.products = industries.products;
  $("#capacity_unit").innerHTML = industries.capacity_units.map((u) => `<option value="${esc(u)}">${esc(u)}</option>`).join("");
  for (const l of style.layers) {
    if (l.metadata && l.metadata.layer && (l.layout || {}).visibility !== "none") state.visible.add(l.metadata.layer);
  }
  document.querySelector(`input[name=edition][value="${state.edition}"]`).checked = true;

  map = new maplibregl.Map({
    container: "map", style, center: [109.5, 37.6], zoom: 5.3, hash: true,
    canvasContextAttributes: { preserveDrawingBuffer: true }, attributionControl: { compact: true },
  });
  window.zoningMap = { map, state };
  map.addControl(new maplibregl.NavigationControl(), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");

  map.on("load", () => {
    map.addSource("site", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addSource("draft", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addSource("candidates", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addLayer({ id: "candidates-fill", type: "fill", source: "candidates", paint: { "fill-color": "#1d4ed8", "fill-opacity": 0.35 } });
    map.addLayer({ id: "candidates-line", type: "line", source: "candidates", paint: { "line-color": "#1e3a8a", "line-width": 1.5 } });
    map.addLayer({ id: "site-fill", type: "fill", source: "site", paint: { "fill-color": "#0ea5e9", "fill-opacity": 0.35 } });
    map.addLayer({ id: "site-line", type: "line", source: "site", paint: { "line-color": "#0369a1", "line-width": 2.5 } });
    map.addLayer({ id: "draft-line", type: "line", source: "draft", paint: { "line-color": "#0369a1", "line-width": 2, "line-dasharray": [2, 1] } });
    map.addLayer({ id: "draft-points", type: "circle", source: "draft", filter: ["==", ["geometry-type"], "Point"], paint: { "circle-radius": 4, "circle-color": "#0369a1" } });
    setEdition(state.edition);
    applyLang();
    $("#status").textContent = t("ready");
    map.once("idle", () => { document.body.dataset.ready = "1"; });
  });
  map.on("click", (e) => {
    if (state.drawing) {
      state.vertices.push([+e.lngLat.lng.toFixed(7), +e.lngLat.lat.toFixed(7)]);
      map.getSource("draft").setData(drawnGeoJSON());
    } else {
      showHere(e.lngLat);
    }
  });
  map.on("dblclick", (e) => { if (state.drawing) { e.preventDefault(); finishDrawing(); } });

  $("#lang").addEventListener("click", () => { state.lang = state.lang === "zh" ? "en" : "zh"; applyLang(); });
  document.querySelectorAll("input[name=edition]").forEach((r) => r.addEventListener("change", (e) => setEdition(e.target.value)));
  $("#industry").addEventListener("change", renderProducts);
  $("#draw").addEventListener("click", startDrawing);
  $("#find").addEventListener("click", findSites);
  $("#finish").addEventListener("click", finishDrawing);
  $("#clear").addEventListener("click", () => {
    stopDrawing();
    showSite({ type: "FeatureCollection", features: [] });
    state.lastAssessment = null;
    $("#result").innerHTML = "";
  });
  $("#upload").addEventListener("change", (e) => { if (e.target.files[0]) onUpload(e.target.files[0]); e.target.value = ""; });
}

main().catch((e) => {
  $("#status").textContent = "";
  document.body.dataset.ready = "error";
  showError(`${t("request_failed")}: ${e.message}`);
});

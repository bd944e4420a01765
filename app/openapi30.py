"""Downgrade FastAPI's OpenAPI 3.1 document to 3.0.3 for OGC clients (the OGC API –
Features ``oas30`` conformance class and GDAL/QGIS expect 3.0)."""

from __future__ import annotations

import copy


def _schema(node):
    if isinstance(node, list):
        return [_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _schema(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        if isinstance(options, list) and any(o == {"type": "null"} for o in options):
            rest = [o for o in options if o != {"type": "null"}]
            node.pop(key)
            if len(rest) == 1 and "$ref" not in rest[0]:
                node.update(rest[0])
            else:
                node[key] = rest
            node["nullable"] = True
    t = node.get("type")
    if isinstance(t, list):
        kinds = [k for k in t if k != "null"]
        if "null" in t:
            node["nullable"] = True
        if len(kinds) == 1:
            node["type"] = kinds[0]
        else:
            node.pop("type")
            node["anyOf"] = [{"type": k} for k in kinds]
    if t == "null":
        node.pop("type")
        node["nullable"] = True
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if "examples" in node and isinstance(node["examples"], list):
        examples = node.pop("examples")
        if examples:
            node["example"] = examples[0]
    if "prefixItems" in node:
        items = node.pop("prefixItems")
        node["items"] = items[0] if len(items) == 1 else {"anyOf": items}
        node.setdefault("minItems", len(items))
    for bound, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(node.get(bound), int | float) and not isinstance(node.get(bound), bool):
            node[flag] = node.pop(bound)
            node[bound] = True
    for dropped in ("$schema", "contentMediaType", "contentEncoding", "unevaluatedProperties"):
        node.pop(dropped, None)
    if "$ref" in node and len(node) > 1:
        ref = node.pop("$ref")
        node = {"allOf": [{"$ref": ref}], **node}
    return node


def downgrade(doc: dict) -> dict:
    out = copy.deepcopy(doc)
    out["openapi"] = "3.0.3"
    comps = out.get("components", {})
    if "schemas" in comps:
        comps["schemas"] = {k: _schema(v) for k, v in comps["schemas"].items()}
    for path in out.get("paths", {}).values():
        for op in path.values():
            if not isinstance(op, dict):
                continue
            for p in op.get("parameters", []):
                if "schema" in p:
                    p["schema"] = _schema(p["schema"])
            body = op.get("requestBody", {}).get("content", {})
            for media in body.values():
                if "schema" in media:
                    media["schema"] = _schema(media["schema"])
            for resp in op.get("responses", {}).values():
                for media in resp.get("content", {}).values():
                    if "schema" in media:
                        media["schema"] = _schema(media["schema"])
    return out

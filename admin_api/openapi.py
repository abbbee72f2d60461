"""The OpenAPI 3.1 document, built from the route registry and the pydantic models, and a
browsable page rendered from it on the server (no CDN: government networks are closed)."""
from __future__ import annotations

import html
import json
import re
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .api import PREFIX, Api, Endpoint

_PARAM = re.compile(r"{(\w+)}")
REF = "#/components/schemas/{model}"


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] = []


class Error(BaseModel):
    error: ErrorBody


def _models(api: Api) -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {"Error": Error}
    for ep in api.endpoints:
        for m in (ep.body, ep.query, _item(ep.response)):
            if isinstance(m, type) and issubclass(m, BaseModel):
                seen.setdefault(m.__name__, m)
    return list(seen.values())


def _item(response: Any) -> Any:
    return typing.get_args(response)[0] if typing.get_origin(response) is list else response


def _response_schema(response: Any) -> dict[str, Any]:
    if response is None:
        return {}
    if typing.get_origin(response) is list:
        return {"type": "array", "items": {"$ref": REF.format(model=_item(response).__name__)}}
    return {"$ref": REF.format(model=response.__name__)}


def _operation(ep: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": n, "in": "path", "required": True,
         "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_.:\-]{1,100}$"}} for n in _PARAM.findall(ep.path)]
    if ep.query is not None:
        qs = schemas[ep.query.__name__]
        required = set(qs.get("required", []))
        for name, prop in qs.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required,
                           "schema": {k: v for k, v in prop.items() if k != "title"},
                           **({"description": prop["description"]} if "description" in prop else {})})
    op: dict[str, Any] = {"operationId": ep.handler.__name__, "summary": ep.summary, "tags": [ep.tag],
                          "parameters": params}
    if ep.description:
        op["description"] = ep.description
    if ep.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": REF.format(model=ep.body.__name__)}}}}
    elif ep.raw_body:
        op["requestBody"] = {"required": True, "content": {ep.raw_body: {"schema": {"type": "string"}}}}
    ok: dict[str, Any] = {"description": "OK" if ep.status != 201 else "Created"}
    if ep.status != 204:
        schema = _response_schema(ep.response) if ep.produces == "application/json" else {"type": "string"}
        ok["content"] = {ep.produces: {"schema": schema or {}}}
    err = {"description": "error", "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
    responses: dict[str, Any] = {str(ep.status): ok, "422": err}
    if ep.roles is not None:
        responses |= {"401": err, "403": err}
        op["security"] = [{"bearer": []}]
    else:
        op["security"] = []
    if params and any(p["in"] == "path" for p in params):
        responses["404"] = err
    if ep.body is not None or ep.raw_body:
        responses["415"] = err
    for status in ep.errors:
        responses[str(status)] = err
    op["responses"] = responses
    return op


def document(api: Api, *, title: str = "Hailong admin API", version: str = "1") -> dict[str, Any]:
    models = _models(api)
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schemas: dict[str, Any] = top.get("$defs", {})
    paths: dict[str, Any] = {}
    for ep in api.endpoints:
        paths.setdefault(PREFIX + ep.path, {})[ep.method.lower()] = _operation(ep, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Surveys, campaigns, questions and results of the units you administer. "
                                "Authenticate with `POST /api/v1/admin/login` or an API token: "
                                "`Authorization: Bearer <token>`."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def docs_page(doc: dict[str, Any]) -> str:
    """Every operation with its parameters and schemas, readable without JavaScript."""
    e = html.escape
    parts = [f"<!doctype html><html lang='vi'><head><meta charset='utf-8'><title>{e(doc['info']['title'])}</title>",
             "<meta name='viewport' content='width=device-width,initial-scale=1'>",
             "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}"
             "code,pre{background:#f4f4f4;border-radius:4px}pre{padding:.6em;overflow:auto;font-size:13px}"
             ".m{display:inline-block;min-width:4.5em;font-weight:bold}details{margin:.3em 0}"
             "h2{border-bottom:1px solid #ddd}</style></head><body>",
             f"<h1>{e(doc['info']['title'])}</h1><p>{e(doc['info']['description'])}</p>",
             "<p>Tài liệu máy đọc: <a href='/api/v1/openapi.json'>/api/v1/openapi.json</a> (OpenAPI 3.1).</p>"]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            by_tag.setdefault(op["tags"][0], []).append((method, path, op))
    for tag, ops in by_tag.items():
        parts.append(f"<h2>{e(tag)}</h2>")
        for method, path, op in ops:
            parts.append(f"<details><summary><span class='m'>{method.upper()}</span> <code>{e(path)}</code> — "
                         f"{e(op['summary'])}</summary>")
            if op.get("description"):
                parts.append(f"<p>{e(op['description'])}</p>")
            if op["parameters"]:
                parts.append("<ul>" + "".join(
                    f"<li><code>{e(p['name'])}</code> ({p['in']}{', required' if p['required'] else ''}): "
                    f"<code>{e(json.dumps(p['schema'], ensure_ascii=False))}</code></li>" for p in op["parameters"]) + "</ul>")
            if "requestBody" in op:
                parts.append("<p>Body:</p><pre>" + e(json.dumps(op["requestBody"]["content"], ensure_ascii=False, indent=1)) + "</pre>")
            parts.append("<p>Responses: " + ", ".join(e(k) for k in op["responses"]) + "</p></details>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in doc["components"]["schemas"].items():
        parts.append(f"<details><summary><code>{e(name)}</code></summary><pre>"
                     f"{e(json.dumps(schema, ensure_ascii=False, indent=1))}</pre></details>")
    parts.append("</body></html>")
    return "".join(parts)

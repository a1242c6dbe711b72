"""The OpenAPI document of ``/api/v1``, generated from the models the handlers use.

Each REST module lists its operations (:class:`Operation`: path, method, query model, body
model, response models per status); :func:`document` turns them into OpenAPI 3.1, with every
model's JSON schema under ``components.schemas`` (named as the interface names its objects:
``Order``, ``NewOrder``, ``Quote`` …). Nothing here is written by hand but the summaries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

REF = "#/components/schemas/{model}"


def schema_name(name: str) -> str:
    """A model's name in the document: an ``…Out`` model is the interface's object (``OrderOut`` is ``Order``:
    the Python name keeps clear of the table class it is built from)."""
    return name[:-3] if name.endswith("Out") and len(name) > 3 else name


class _Names(GenerateJsonSchema):
    def normalize_name(self, name: str) -> str:
        return schema_name(super().normalize_name(name))


@dataclass(frozen=True)
class Response:
    """One answer of an operation: a description, the JSON model (None: no body documented) and other
    media types (``{"application/vnd…sheet": {"type": "string", "format": "binary"}}``)."""

    description: str
    model: type[BaseModel] | None = None
    other: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """One route of the API, as documented."""

    method: Literal["get", "post"]
    #: below the API prefix, with ``{name}`` path parameters
    path: str
    summary: str
    responses: dict[int, Response]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    #: path parameter → its JSON schema
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)


def _parameters(op: Operation, schema: dict[str, Any]) -> list[dict[str, Any]]:
    params = [{"name": name, "in": "path", "required": True, "schema": s} for name, s in op.path_params.items()]
    for name, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k not in ("title", "description")}
        # a query parameter is absent rather than null: "string or null" documents as "string"
        options = [o for o in prop.pop("anyOf", []) if o != {"type": "null"}]
        if len(options) == 1:
            prop.update(options[0])
        elif options:
            prop["anyOf"] = options
        if "default" in prop and (prop["default"] is None or prop["default"] is False):
            del prop["default"]  # not given is not given
        param: dict[str, Any] = {"name": name, "in": "query", "schema": prop}
        if description := schema["properties"][name].get("description"):
            param["description"] = description
        params.append(param)
    return params


def _content(model: type[BaseModel] | None, other: dict[str, dict[str, Any]]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if model is not None:
        content["application/json"] = {"schema": {"$ref": REF.format(model=schema_name(model.__name__))}}
    content.update({media: {"schema": s} for media, s in other.items()})
    return content


def document(prefix: str, operations: Iterable[Operation], *, title: str = "gendan API",
             version: str = "1") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations`` under ``prefix``."""
    ops = list(operations)
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for op in ops:
        if op.body is not None:
            models.append((op.body, "validation"))
        models += [(r.model, "serialization") for r in op.responses.values() if r.model is not None]
    unique = list(dict.fromkeys(models))
    _, defs = models_json_schema(unique, ref_template=REF, schema_generator=_Names) if unique else ({}, {})
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        query_schema = op.query.model_json_schema(by_alias=True) if op.query is not None else {}
        spec: dict[str, Any] = {"summary": op.summary, "operationId": f"{op.method}_{op.path.strip('/')}"
                                .replace("/", "_").replace("{", "").replace("}", "")}
        if params := _parameters(op, query_schema):
            spec["parameters"] = params
        if op.body is not None:
            spec["requestBody"] = {"required": True, "content": _content(op.body, {})}
        spec["responses"] = {}
        for status, resp in sorted(op.responses.items()):
            answer: dict[str, Any] = {"description": resp.description}
            if content := _content(resp.model, resp.other):
                answer["content"] = content
            spec["responses"][str(status)] = answer
        paths.setdefault(prefix + op.path, {})[op.method] = spec
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": defs.get("$defs", {})},
        "security": [{"bearer": []}],
        "paths": paths,
    }

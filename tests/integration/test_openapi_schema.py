"""The API's own description is true: every operation's request body in ``/api/v1/openapi.json``
is the schema its function takes. (Components are keyed by class name, so two modules' ``ReasonIn``
once published one body for both.)"""

from __future__ import annotations

from typing import Any

import pytest
from ninja import Schema

from openinfusion.api import api

pytestmark = pytest.mark.django_db


def body_schemas() -> dict[str, type[Schema]]:
    """Operation id → the schema class its function takes as its JSON body."""
    bodies: dict[str, type[Schema]] = {}
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in operation.models:
                    if getattr(model, "__ninja_param_source__", None) != "body":
                        continue
                    (field,) = model.model_fields.values()
                    assert isinstance(field.annotation, type) and issubclass(field.annotation, Schema)
                    bodies[operation.operation_id] = field.annotation
    return bodies


def published_bodies(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    components = document["components"]["schemas"]
    published = {}
    for methods in document["paths"].values():
        for operation in methods.values():
            body = operation.get("requestBody")
            if body is None:
                continue
            ref = body["content"]["application/json"]["schema"]["$ref"]
            published[operation["operationId"]] = components[ref.rsplit("/", 1)[-1]]
    return published


def test_every_operations_published_body_is_the_schema_its_function_takes(client):
    document = client.get("/api/v1/openapi.json").json()
    published = published_bodies(document)
    bodies = body_schemas()
    assert bodies, "no operation takes a body?"
    assert set(published) == set(bodies)
    wrong = []
    for operation_id, schema in sorted(bodies.items()):
        own = schema.model_json_schema()
        shown = published[operation_id]
        if set(shown.get("properties", {})) != set(own.get("properties", {})) or set(shown.get("required", [])) != set(
            own.get("required", [])
        ):
            wrong.append(f"{operation_id}: takes {schema.__module__}.{schema.__qualname__}, shows {shown.get('title')}")
    assert not wrong, "\n".join(wrong)


def test_no_two_schemas_the_api_uses_share_a_component_name():
    seen: dict[str, type[Schema]] = {}
    clashes = []
    for schema in body_schemas().values():
        other = seen.setdefault(schema.__name__, schema)
        if other is not schema:
            clashes.append(f"{schema.__name__}: {other.__module__} and {schema.__module__}")
    assert not clashes, "\n".join(clashes)

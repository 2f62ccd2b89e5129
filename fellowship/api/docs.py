"""The readable API documentation at /api/v1/docs: our own server-side page rendered from the OpenAPI document
(no JavaScript, no CDN), linked from the profile's token section. It reads the same document as
/api/v1/openapi.json, so it cannot drift from what the API answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _
from markupsafe import Markup, escape

bp = Blueprint("api_pages", __name__, template_folder="templates")

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Parameter:
    name: str
    location: str
    required: bool
    type: Markup
    description: str


@dataclass
class Reply:
    status: str
    description: str
    content_type: str
    schema: Markup
    #: The schema the body is, to link to ("" when it is none of the named ones).
    link: str = ""


@dataclass
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: str
    needs_token: bool
    parameters: list[Parameter] = field(default_factory=list)
    responses: list[Reply] = field(default_factory=list)


@dataclass
class Tag:
    name: str
    description: str
    operations: list[Operation] = field(default_factory=list)


@dataclass
class Property:
    name: str
    type: Markup
    required: bool
    description: str
    #: The named schema the type is or lists, to link to ("" for none).
    link: str = ""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _code_words(text: str) -> Markup:
    """Words of the API itself (a type, a format, enum values): the same in every language, kept from translators."""
    return Markup('<span translate="no">{}</span>').format(text)


def _words(translated: str, **parts: Markup) -> Markup:
    """An interface phrase already in the reader's language (`_()` at the call, where Babel finds the message, with
    no arguments so it is not formatted yet) around API words (`parts`, already marked up); the phrase escaped."""
    return escape(translated) % parts


def _type_of(schema: dict[str, Any]) -> Markup:
    """A short readable type: 'integer', 'string (date-time)', 'list of Call', 'Programme', 'string: a, b, or null';
    the joining words ('list of', ', or null') in the reader's language, the API's own names kept as they are."""
    if "$ref" in schema:
        return _code_words(_ref_name(schema["$ref"]))
    if schema.get("type") == "array":
        return _words(_("list of %(type)s"), type=_type_of(schema.get("items", {})))
    text = str(schema.get("type", "any"))
    if "format" in schema:
        text += f" ({schema['format']})"
    if "enum" in schema:
        text += ": " + ", ".join(str(value) for value in schema["enum"])
    if schema.get("nullable"):
        return _words(_("%(type)s, or null"), type=_code_words(text))
    return _code_words(text)


def _link_of(schema: dict[str, Any]) -> str:
    """The named schema a type is, or is a list of, for a link to it; "" for none."""
    if schema.get("type") == "array":
        return _link_of(schema.get("items", {}))
    return _ref_name(schema["$ref"]) if "$ref" in schema else ""


def _responses(spec: dict[str, Any], responses: dict[str, Any]) -> list[Reply]:
    replies = []
    for status, response in sorted(responses.items(), key=lambda item: (item[0] == "default", item[0])):
        if "$ref" in response:
            response = spec["components"]["responses"][_ref_name(response["$ref"])]
        content: dict[str, dict[str, Any]] = response.get("content", {})
        content_type, media = next(iter(content.items()), ("", {}))
        schema: dict[str, Any] = media.get("schema", {})
        replies.append(Reply(status=status, description=response.get("description", ""), content_type=content_type,
                             schema=_type_of(schema) if schema else Markup(""), link=_link_of(schema)))
    return replies


def readable(spec: dict[str, Any]) -> tuple[list[Tag], dict[str, list[Property]]]:
    """The operations grouped by tag, and each schema's properties, from an OpenAPI 3 document."""
    tags = {tag["name"]: Tag(name=tag["name"], description=tag.get("description", "")) for tag in spec.get("tags", [])}
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            parameters = [Parameter(name=p["name"], location=p["in"], required=bool(p.get("required")),
                                    type=_type_of(p.get("schema", {})), description=p.get("description", ""))
                          for p in [*shared, *operation.get("parameters", [])]]
            found = Operation(method=method.upper(), path=path, anchor=f"{method}-{path}".replace("/", "-")
                              .replace("{", "").replace("}", ""), summary=operation.get("summary", ""),
                              description=operation.get("description", ""),
                              needs_token=bool(operation.get("security")), parameters=parameters,
                              responses=_responses(spec, operation.get("responses", {})))
            for name in operation.get("tags", ["other"]):
                tags.setdefault(name, Tag(name=name, description="")).operations.append(found)
    components: dict[str, Any] = spec.get("components", {})
    schemas = {name: [Property(name=prop, type=_type_of(definition), required=prop in schema.get("required", []),
                               description=definition.get("description", ""), link=_link_of(definition))
                      for prop, definition in schema.get("properties", {}).items()]
               for name, schema in sorted(components.get("schemas", {}).items())}
    return [tag for tag in tags.values() if tag.operations], schemas


@bp.route("/api/v1/docs")
def docs() -> Any:
    spec = current_app.extensions["fellowship.api"].spec.to_dict()
    tags, schemas = readable(spec)
    return render_template("api/docs.html", spec=spec, tags=tags, schemas=schemas)

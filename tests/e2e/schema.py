"""Validates JSON documents dockerbox sends against the Docker Engine API spec (Swagger 2.0):
by default the checked-in subset engine-api-v1.50-subset.yaml (schema_subset.py), or the
full spec named by $DOCKERBOX_ENGINE_API_SPEC.

A small validator of its own rather than jsonschema: Swagger 2.0 is not JSON Schema
(`x-nullable`, `allOf` used as struct embedding), and what matters here is stricter than
the spec's defaults:
- every key we emit must be declared: an object with `properties` and no
  `additionalProperties` is closed (Swagger leaves it open), so an invented or misspelt key
  fails instead of passing silently;
- null only where dockerd can really send it (see `_null_allowed`);
- types, enums, `required`, `minimum`/`maximum`, `minLength`/`maxLength`/`pattern`, and
  RFC 3339 for `format: dateTime`.

    spec = Spec.load()
    errors = spec.validate(document, "ContainerInspectResponse")   # [] when it conforms
    errors = spec.validate(document, spec.response("/exec/{id}/json", "get"))
"""
import os
import re

import yaml

DEFAULT_SPEC = os.environ.get(
    "DOCKERBOX_ENGINE_API_SPEC",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "engine-api-v1.50-subset.yaml"))

# Scalars and structs that dockerd sends as null although the spec does not mark them
# x-nullable: their Go fields are pointers (moby api/types). Each entry is
# "<definition or schema title>.<property>", with the Go type that makes it nullable.
DOCKERD_NULLS = {
    "Resources.MemorySwappiness": "*int64: null unless --memory-swappiness was given",
    "Resources.OomKillDisable": "*bool: null unless --oom-kill-disable was given",
    "EndpointSettings.IPAMConfig": "*EndpointIPAMConfig: null without --ip/--ip6",
    "ExecInspectResponse.ExitCode": "*int: null while the exec has not ended",
}

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")

_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


class Spec:
    def __init__(self, document):
        self.doc = document
        self.definitions = document["definitions"]

    @classmethod
    def load(cls, path=DEFAULT_SPEC):
        with open(path) as f:
            return cls(yaml.safe_load(f))

    def response(self, path, method, status=200):
        """The schema of one operation's response (inline or a $ref)."""
        return self.doc["paths"][path][method]["responses"][status]["schema"]

    def validate(self, document, schema):
        """Errors as "path: what" strings; empty when `document` conforms. `schema` is a
        definition name or a schema object."""
        if isinstance(schema, str):
            schema = {"$ref": "#/definitions/" + schema}
        errors = []
        self._check(document, schema, "$", None, errors)
        return errors

    def _resolve(self, schema):
        """Follows $refs; returns (schema, definition name of the last one followed)."""
        name = None
        seen = set()
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/definitions/") or ref in seen:
                raise ValueError(f"unsupported or circular $ref {ref}")
            seen.add(ref)
            name = ref[len("#/definitions/"):]
            schema = self.definitions[name]
        return schema, name

    def _merged(self, schema):
        """An object schema with its allOf parts folded in (Go struct embedding):
        (properties, additionalProperties, required, x-nullable)."""
        properties = dict(schema.get("properties", {}))
        additional = schema.get("additionalProperties")
        required = list(schema.get("required", []))
        nullable = schema.get("x-nullable", False)
        for part in schema.get("allOf", []):
            part, _ = self._resolve(part)
            p, a, r, _ = self._merged(part)
            properties.update(p)
            additional = additional if additional is not None else a
            required += r
        return properties, additional, required, nullable

    @staticmethod
    def _type_of(schema):
        if "type" in schema:
            return schema["type"]
        if "properties" in schema or "allOf" in schema or "additionalProperties" in schema:
            return "object"
        return None  # anything

    def _null_allowed(self, schema, type_, owner_key):
        # Go's nil slices and maps marshal as null, whatever the spec says: an array, or an
        # object that is a map (additionalProperties, no fixed properties), may be null.
        if schema.get("x-nullable"):
            return True
        if type_ == "array":
            return True
        if type_ == "object":
            properties, additional, _, _ = self._merged(schema)
            if not properties:
                return True
        return owner_key in DOCKERD_NULLS

    def _check(self, value, schema, path, owner_key, errors):
        # owner_key: "<definition>.<property>" of the property being checked, for DOCKERD_NULLS.
        ref_nullable = schema.get("x-nullable", False)
        schema, _ = self._resolve(schema)
        type_ = self._type_of(schema)
        if value is None:
            if not (ref_nullable or self._null_allowed(schema, type_, owner_key)):
                errors.append(f"{path}: null, but {type_ or 'the value'} is not nullable here")
            return
        if type_ is not None:
            if type_ not in _TYPES:
                errors.append(f"{path}: the spec uses type {type_!r}, which this validator does not know")
                return
            if not _TYPES[type_](value):
                errors.append(f"{path}: {type(value).__name__} {value!r:.60}, expected {type_}")
                return
        if "enum" in schema and value not in schema["enum"]:
            errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
        if type_ in ("integer", "number"):
            if "minimum" in schema and value < schema["minimum"]:
                errors.append(f"{path}: {value} < minimum {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                errors.append(f"{path}: {value} > maximum {schema['maximum']}")
        if type_ == "string":
            if "minLength" in schema and len(value) < schema["minLength"]:
                errors.append(f"{path}: {value!r} shorter than {schema['minLength']}")
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                errors.append(f"{path}: {value!r} longer than {schema['maxLength']}")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
            if schema.get("format") in ("dateTime", "date-time") and not _RFC3339.match(value):
                errors.append(f"{path}: {value!r} is not an RFC 3339 time")
        if type_ == "array":
            items = schema.get("items")
            if items is not None:
                for i, item in enumerate(value):
                    self._check(item, items, f"{path}[{i}]", None, errors)
        if type_ == "object":
            self._check_object(value, schema, path, errors)

    def _check_object(self, value, schema, path, errors):
        properties, additional, required, _ = self._merged(schema)
        owner = schema.get("title") or self._definition_name(schema)
        for key in required:
            if key not in value:
                errors.append(f"{path}: required key {key!r} missing")
        for key, item in value.items():
            where = f"{path}.{key}"
            if key in properties:
                self._check(item, properties[key], where, self._owner_key(schema, key, owner), errors)
            elif isinstance(additional, dict):
                self._check(item, additional, where, None, errors)
            elif additional is True or (not properties and additional is None):
                continue  # a free-form object (or an explicitly open one)
            else:
                errors.append(f"{where}: not declared in the spec")

    def _owner_key(self, schema, key, owner):
        # A property of an allOf part belongs to that part's definition (Resources.X).
        if key not in schema.get("properties", {}):
            for part in schema.get("allOf", []):
                resolved, name = self._resolve(part)
                properties, _, _, _ = self._merged(resolved)
                if key in properties:
                    return self._owner_key(resolved, key, name or owner)
        return f"{owner}.{key}"

    def _definition_name(self, schema):
        for name, definition in self.definitions.items():
            if definition is schema:
                return name
        return "?"

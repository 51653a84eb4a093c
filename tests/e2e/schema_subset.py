"""Writes engine-api-v1.50-subset.yaml: the parts of the Docker Engine API spec the schema
tests validate against (the responses of GET /containers/{id}/json, GET /exec/{id}/json,
/version and /info, and every definition they reach), without descriptions and examples.
The tests run from a bare checkout, where the full spec (../shared/docker-api) is absent.

    python3 schema_subset.py /path/to/engine-api-v1.50.yaml > engine-api-v1.50-subset.yaml
"""
import sys

import yaml

PATHS = [("/containers/{id}/json", "get"), ("/exec/{id}/json", "get"), ("/version", "get"), ("/info", "get")]
ROOTS = ["ContainerInspectResponse", "IDResponse", "SystemVersion", "SystemInfo"]
DROP = {"description", "example", "x-go-name"}

HEADER = """\
# Derived from the Docker Engine API v1.50 specification (moby/moby api/swagger.yaml),
# Copyright Docker, Inc., licensed under the Apache License, Version 2.0
# (https://www.apache.org/licenses/LICENSE-2.0). Only the schemas the tests validate
# against, with descriptions and examples removed. Regenerate with schema_subset.py.
"""


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROP or not isinstance(v, (str, dict, list))}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def refs(node, out):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            out.add(ref[len("#/definitions/"):])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def main():
    with open(sys.argv[1]) as f:
        spec = yaml.safe_load(f)
    paths = {}
    wanted = set(ROOTS)
    for path, method in PATHS:
        response = spec["paths"][path][method]["responses"][200]
        paths.setdefault(path, {})[method] = {"responses": {200: {"schema": strip(response["schema"])}}}
        refs(response["schema"], wanted)
    done = set()
    while wanted - done:
        name = sorted(wanted - done)[0]
        done.add(name)
        refs(spec["definitions"][name], wanted)
    subset = {"swagger": spec["swagger"], "info": {"version": spec["info"]["version"]}, "paths": paths,
              "definitions": {name: strip(spec["definitions"][name]) for name in sorted(done)}}
    sys.stdout.write(HEADER + yaml.safe_dump(subset, sort_keys=True, width=120))


if __name__ == "__main__":
    main()

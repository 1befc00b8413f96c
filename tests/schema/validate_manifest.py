#!/usr/bin/env python3
"""Validates the manifests loom-codegen writes against docs/manifest.schema.json.

    validate_manifest.py --schema MANIFEST_SCHEMA --futures-schema FUTURES_SCHEMA MANIFEST...

Every manifest must validate, name at least one entity, and deliberately broken copies of
the first must not validate (so the test cannot pass vacuously). Exit 0 when all hold,
1 otherwise, 77 (CTest's SKIP_RETURN_CODE) when the jsonschema module is missing.
"""

import argparse
import copy
import json
import sys

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError as e:
    print(f"validate_manifest: skipped: no usable jsonschema module ({e})", file=sys.stderr)
    sys.exit(77)


def validator(schema, futures_schema):
    try:  # jsonschema >= 4.18
        from referencing import Registry, Resource
        registry = Registry().with_resource(futures_schema["$id"], Resource.from_contents(futures_schema))
        return Draft202012Validator(schema, registry=registry)
    except ImportError:  # Debian 12's jsonschema 4.10
        resolver = jsonschema.RefResolver.from_schema(schema, store={futures_schema["$id"]: futures_schema})
        return Draft202012Validator(schema, resolver=resolver)


def broken_copies(manifest):
    def edit(f):
        m = copy.deepcopy(manifest)
        f(m)
        return m
    first = lambda m: m["entities"][0]
    yield "no version field", edit(lambda m: first(m).pop("version"))
    yield "an unknown kind", edit(lambda m: first(m).update(kind="job"))
    yield "a port without a type", edit(lambda m: first(m)["inputs"].append({"name": "x"}))
    yield "an unknown type", edit(lambda m: first(m)["outputs"].append({"name": "o9", "type": "complex"}))
    yield "a wrong format number", edit(lambda m: m.update(loom_manifest=2))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--schema", required=True)
    parser.add_argument("--futures-schema", required=True)
    parser.add_argument("manifests", nargs="+")
    args = parser.parse_args()
    with open(args.schema) as f:
        schema = json.load(f)
    with open(args.futures_schema) as f:
        futures_schema = json.load(f)
    v = validator(schema, futures_schema)
    failed = False
    manifests = []
    for path in args.manifests:
        with open(path) as f:
            manifest = json.load(f)
        manifests.append(manifest)
        errors = list(v.iter_errors(manifest))
        for e in errors:
            print(f"{path}: {'/'.join(map(str, e.path))}: {e.message}")
        if not manifest.get("entities"):
            print(f"{path}: no entity")
            errors.append("empty")
        failed |= bool(errors)
        print(f"{path}: {len(manifest.get('entities', []))} entities, {'invalid' if errors else 'valid'}")
    for what, broken in broken_copies(manifests[0]):
        if v.is_valid(broken):
            print(f"a manifest with {what} validates, but must not")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

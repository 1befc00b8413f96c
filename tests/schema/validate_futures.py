#!/usr/bin/env python3
"""Validates Loom futures files against docs/futures-file.schema.json.

    validate_futures.py --schema SCHEMA [PATH ...]
        Validates every given futures file (a directory: every futures.json under it).
        Exit 0 if all validate, 1 if any does not (each error is printed).

    validate_futures.py --schema SCHEMA --count-characters BIN --merge-sort BIN [--forms BIN]
        The CTest test "schema: futures files validate": runs the real workflow binaries
        with a store (`BIN run ... --store DIR --execution-id ID`), validates every
        futures.json they wrote, checks that together they use every binding form, and
        checks that deliberately broken documents (derived from a real one) do NOT
        validate, so that the test cannot pass vacuously.

Exit code 77 (CTest's SKIP_RETURN_CODE) when the jsonschema module is missing.
"""

import argparse
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError as e:  # python3-jsonschema not installed, or older than 4.0
    print(f"validate_futures: skipped: no usable jsonschema module ({e}); "
          "install python3-jsonschema", file=sys.stderr)
    sys.exit(SKIP)


def load_validator(schema_path):
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)  # the schema itself is well-formed
    return Draft202012Validator(schema)


def errors_of(validator, doc):
    """Every schema violation, as "at /path: message" lines (deepest cause first)."""
    lines = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        causes = error.context or []
        if causes:  # a oneOf: show the alternative that came closest
            best = jsonschema.exceptions.best_match(causes)
            lines.append(f"at {where}: {error.message[:200]} (closest: {best.message[:200]})")
        else:
            lines.append(f"at {where}: {error.message[:300]}")
    return lines


def load_object(path):
    """The JSON document in a file, as it lies on disk: a stored futures file must be the
    JSON its name says (its checksum is in PATH.sha256 beside it, in sha256sum's format,
    checked here when present; see loom/object_store.hpp)."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"loom-object "):
        raise ValueError(f"{path}: not JSON on disk (a 'loom-object' header line before the document)")
    sum_path = path + ".sha256"
    if os.path.exists(sum_path):
        with open(sum_path, "rb") as f:
            expected = f.read()[:64]
        if hashlib.sha256(data).hexdigest().encode() != expected:
            raise ValueError(f"{path}: checksum mismatch with {sum_path}")
    return json.loads(data.decode("utf-8"))


def futures_files(paths):
    found = []
    for path in paths:
        if os.path.isdir(path):
            for root, _, files in os.walk(path):
                found.extend(os.path.join(root, f) for f in files if f == "futures.json")
        else:
            found.append(path)
    return sorted(found)


def validate_files(validator, files):
    """Validates each file; returns the number that failed."""
    failed = 0
    for path in files:
        doc = load_object(path)
        problems = errors_of(validator, doc)
        if problems:
            failed += 1
            print(f"INVALID {path}")
            for p in problems:
                print(f"  {p}")
        else:
            print(f"valid   {path}")
    return failed


# --- the CTest scenario --------------------------------------------------------------

def run(command):
    """Runs a workflow binary; it must succeed and print one JSON object on stdout."""
    print("$ " + " ".join(command if len(" ".join(command)) < 300 else command[:4] + ["..."]))
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"FAILED (exit {result.returncode}): {result.stderr.strip()}")
    outputs = json.loads(result.stdout)
    print(f"  -> {result.stdout.strip()[:120]}")
    return outputs


def bindings_of(doc):
    """(binding, graph) for every binding in a futures file; graph is "" for the sub-DAG,
    else the subworkflow's name. Collection items are yielded too."""
    def walk(binding, graph):
        yield binding, graph
        if isinstance(binding, dict) and len(binding) == 1:
            (kind, value), = binding.items()
            if kind == "list" and isinstance(value, list):
                for item in value:
                    yield from walk(item, graph)
            if kind == "map" and isinstance(value, dict):
                for item in value.values():
                    yield from walk(item, graph)

    for graph, spec in [("", doc)] + sorted(doc.get("subworkflows", {}).items()):
        for node in spec.get("nodes", []):
            for binding in node.get("inputs", {}).values():
                yield from walk(binding, graph)
        for binding in spec.get("outputs", {}).values():
            yield from walk(binding, graph)


def type_forms(t, seen):
    if isinstance(t, str):
        seen.add(t)
    elif isinstance(t, dict):
        if "record" in t:
            seen.add("record")
            for field in t.get("fields", []):
                type_forms(field.get("type"), seen)
        else:
            for kind, inner in t.items():
                seen.add(kind)
                for sub in inner if kind == "tuple" else [inner]:
                    type_forms(sub, seen)


def check_layout(store, path, doc):
    """Stored literals live under the futures file's own node path, and exist."""
    problems = []
    node_dir = os.path.relpath(os.path.dirname(path), store).replace(os.sep, "/")
    for binding, graph in bindings_of(doc):
        if isinstance(binding, dict) and "stored" in binding:
            key = binding["stored"]
            folder = "literals" if not graph else "literals-" + graph
            if not key.startswith(node_dir + "/" + folder + "/"):
                problems.append(f"stored key {key!r} is not under {node_dir}/{folder}/")
            elif not os.path.isfile(os.path.join(store, key)):
                problems.append(f"stored key {key!r}: no such object in the store")
    return problems


# Deliberately broken documents, each derived from a real futures file by one change;
# every one must fail validation.
def without_version(doc):
    del doc["version"]


def other_version(doc):
    doc["version"] = 2


def unknown_binding_form(doc):
    node = doc["nodes"][0]
    name = next(iter(node["inputs"]))
    node["inputs"][name] = {"future": "dn0.o0"}


def two_binding_forms(doc):
    node = doc["nodes"][0]
    name = next(iter(node["inputs"]))
    node["inputs"][name] = {"literal": 1, "ref": "dn0.o0"}


def static_node_id_in_dynamic_graph(doc):
    doc["nodes"][0]["id"] = "n0"


def unknown_type(doc):
    entity = next(iter(doc["entities"].values()))
    entity["interface"]["inputs"][0]["type"] = {"set": "integer"}


def nested_collection(doc):
    doc["outputs"]["o0"] = {"list": [{"list": []}]}


def extra_top_level_field(doc):
    doc["comment"] = "not part of version 1"


MUTATIONS = [without_version, other_version, unknown_binding_form, two_binding_forms,
             static_node_id_in_dynamic_graph, unknown_type, nested_collection, extra_top_level_field]


def scenario(args, validator):
    store = tempfile.mkdtemp(prefix="loom-schema-")
    letters = "Supercalifragilisticexpialidocious"
    other = "Antidisestablishmentarianism"
    # 12,000 six-digit numbers: ~84 KB of JSON, over the 64 KiB inline limit, so the
    # list goes to the object store as {"stored": key}.
    big = [100000 + (i * 7919) % 900000 for i in range(12000)]
    # (execution id, command line without the store options, futures files expected)
    runs = [
        ("cc", [args.count_characters, "run", "start_wf", "--s1", letters, "--s2", other], 1),
        ("cc-verify", [args.count_characters, "run", "start_wf", "--s1", "Pear", "--s2", "Earth",
                       "--verify-futures"], 1),
        ("ms", [args.merge_sort, "run", "merge_sort", "--numbers", "[5,3,1,4,2,9,8]",
                "--threshold", "2"], 10),
        ("ms-big", [args.merge_sort, "run", "merge_sort", "--numbers", json.dumps(big, separators=(",", ":")),
                    "--threshold", "6000"], 4),
    ]
    runs = [(execution, command + ["--store", store, "--execution-id", execution], expected)
            for execution, command, expected in runs]
    if args.forms:
        runs.append(("forms", [args.forms, store, "forms", "4"], 1))
    failed = 0
    all_files = []
    for execution, command, expected_files in runs:
        outputs = run(command)
        if execution.startswith("ms") and outputs["o0"] != sorted(outputs["o0"]):
            print(f"  merge_sort did not sort: {outputs}")
            failed += 1
        files = futures_files([os.path.join(store, execution)])
        if len(files) != expected_files:
            print(f"  expected {expected_files} futures files under {execution}/, found {len(files)}")
            failed += 1
        all_files.extend(files)

    print(f"\nvalidating {len(all_files)} futures files written by the binaries:")
    failed += validate_files(validator, all_files)

    # Together the files must use every form the schema describes, or a part of the
    # schema would go untested.
    bindings, types = set(), set()
    for path in all_files:
        doc = load_object(path)
        for problem in check_layout(store, path, doc):
            print(f"LAYOUT  {path}: {problem}")
            failed += 1
        for binding, _ in bindings_of(doc):
            if isinstance(binding, dict):
                bindings.update(binding.keys())
        for entity in doc["entities"].values():
            for port in entity["interface"]["inputs"] + entity["interface"]["outputs"]:
                type_forms(port["type"], types)
    wanted_bindings = {"literal", "ref", "stored"} | ({"list", "map", "input"} if args.forms else set())
    wanted_types = {"integer", "string", "list"} | (
        {"boolean", "float", "map", "optional", "tuple", "record"} if args.forms else set())
    for what, seen, wanted in [("binding", bindings, wanted_bindings), ("type", types, wanted_types)]:
        missing = wanted - seen
        print(f"{what} forms used: {', '.join(sorted(seen))}")
        if missing:
            print(f"  MISSING {what} forms (untested by real files): {', '.join(sorted(missing))}")
            failed += 1

    print("\ndocuments that must NOT validate (one change each to a real futures file):")
    base = load_object(all_files[0])
    for mutate in MUTATIONS:
        doc = copy.deepcopy(base)
        mutate(doc)
        problems = errors_of(validator, doc)
        if problems:
            print(f"rejected {mutate.__name__}: {problems[0]}")
        else:
            print(f"ACCEPTED {mutate.__name__}: the schema should have rejected it")
            failed += 1

    if failed:
        print(f"\n{failed} problem(s); the store is kept for inspection: {store}")
        return 1
    shutil.rmtree(store, ignore_errors=True)
    print(f"\nall {len(all_files)} futures files validate; all {len(MUTATIONS)} broken documents are rejected")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schema", required=True, help="docs/futures-file.schema.json")
    parser.add_argument("--count-characters", help="the count_characters example binary")
    parser.add_argument("--merge-sort", help="the merge_sort example binary")
    parser.add_argument("--forms", help="tests/schema's futures_forms binary (every binding and type form)")
    parser.add_argument("paths", nargs="*", help="futures files, or directories to search for futures.json")
    args = parser.parse_args()

    validator = load_validator(args.schema)
    if args.count_characters or args.merge_sort:
        if not (args.count_characters and args.merge_sort):
            parser.error("--count-characters and --merge-sort go together")
        return scenario(args, validator)
    files = futures_files(args.paths)
    if not files:
        parser.error("no futures files given")
    return 1 if validate_files(validator, files) else 0


if __name__ == "__main__":
    sys.exit(main())

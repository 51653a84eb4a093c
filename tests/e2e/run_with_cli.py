"""Runs one end-to-end test module against one docker CLI variant (what ctest runs):

    python3 run_with_cli.py VARIANT MODULE      e.g.  run_with_cli.py docker20 test_cli

VARIANT is "path" (the docker CLI on the PATH, 28.2 here) or "docker20" (Debian's docker.io,
20.10, API 1.41); harness.find_cli says how each is found. When this machine has no CLI for
the variant, the run prints why and exits 77, which ctest reports as Skipped (never as a
pass), unless the variant is listed in $DOCKERBOX_E2E_REQUIRE_CLI (comma-separated):
scripts/test.sh installs docker.io and so requires docker20, and a missing one fails there.
"""
import os
import sys
import unittest

SKIPPED = 77  # SKIP_RETURN_CODE in CMakeLists.txt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    variant, module = sys.argv[1:]
    try:
        path, version = harness.find_cli(variant)
    except LookupError as why:
        required = variant in os.environ.get("DOCKERBOX_E2E_REQUIRE_CLI", "").split(",")
        print(f"{module} [{variant}]: {'FAILED, the CLI is required' if required else 'SKIPPED'}: {why}",
              flush=True)
        sys.exit(1 if required else SKIPPED)
    # Set before the module is imported, so that it sees this CLI however it refers to it.
    harness.DOCKER = path
    os.environ["DOCKERBOX_TEST_DOCKER"] = path
    print(f"{module} [{variant}]: docker CLI {path}, version {version}", flush=True)
    unittest.main(module=module, argv=[sys.argv[0], "-v"])


if __name__ == "__main__":
    main()

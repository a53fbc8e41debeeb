#!/usr/bin/env python3
"""Wire and source compatibility of protos/ against the last released API.

protos/released/dialgrid.binpb is a buf image (the compiled descriptors) of
the protos as last released to clients. `buf breaking` compares the tree
with it under the rules of protos/buf.yaml (FILE: no field, enum value,
message, RPC or file removed or renumbered, no type or name changed...).

  check_breaking.py               the check (exit 1 with buf's findings)
  check_breaking.py --self-test   a copy of protos/ with one field deleted
                                  must fail the check (so it cannot pass
                                  vacuously)
  check_breaking.py --release     writes a new baseline: only when a version
                                  is released to clients (docs/api.md)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUF = os.path.join(ROOT, "tools", "buf", "node_modules", ".bin", "buf")
BASELINE = os.path.join(ROOT, "protos", "released", "dialgrid.binpb")


def breaking(protos_dir):
    """buf breaking in `protos_dir` against the baseline: (exit code, output)."""
    r = subprocess.run([BUF, "breaking", "--against", BASELINE], cwd=protos_dir,
                       capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "protos")
        shutil.copytree(os.path.join(ROOT, "protos"), copy,
                        ignore=shutil.ignore_patterns("released", "CMakeLists.txt"))
        code, out = breaking(copy)
        if code != 0:
            print("self-test: the unchanged copy already fails:\n" + out)
            return 1
        # Delete the first scalar field of tenancy.proto's first message.
        path = os.path.join(copy, "dialgrid", "tenancy", "v1", "tenancy.proto")
        text = open(path).read()
        field = re.search(r"^\s+string \w+ = \d+;\n", text, re.M)
        if not field:
            print("self-test: no field to delete in " + path)
            return 1
        open(path, "w").write(text[:field.start()] + text[field.end():])
        code, out = breaking(copy)
        if code == 0 or "was deleted" not in out:
            print("self-test: deleting a field was not reported (exit %d):\n%s" % (code, out))
            return 1
        print("self-test: a deleted field is reported: " + out.splitlines()[0])
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--release", action="store_true")
    args = ap.parse_args()
    if not os.access(BUF, os.X_OK):
        print("buf is not installed (tools/setup.sh installs it)")
        return 1
    if args.release:
        subprocess.run([BUF, "build", "-o", BASELINE], cwd=os.path.join(ROOT, "protos"), check=True)
        print("wrote " + os.path.relpath(BASELINE, ROOT))
        return 0
    if args.self_test:
        return self_test()
    code, out = breaking(os.path.join(ROOT, "protos"))
    if code != 0:
        print("protos/ breaks the released API (protos/released/dialgrid.binpb):\n" + out)
        print("Fix the change (add a field or a v2 instead), or, if no client has this API yet, "
              "say so in the commit and run tools/check_breaking.py --release.")
        return 1
    print("protos/: no breaking change against the released API")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks that includes inside a service point inward (docs/development.md).

Layers, as STYLE.md "Inside a service" describes them:

  domain       services/<svc>/domain/**        pure logic and value types
  ports        services/<svc>/ports/**         narrow interfaces the logic needs
  application  services/<svc>/*_manager.{h,cc} and services/<svc>/application/**
               the logic, written against ports
  pacing       services/dialing/pacing/** (not its tests/)
               the pacing engine: standard library and Abseil only, so it
               runs unchanged in the simulator and the dialer
  telephony    services/dialing/telephony/** (not its tests/)
               the telephony port and the simulated carrier: no gRPC,
               Redis, Kafka or protobuf, and of the project only
               services/common/core/ and itself, so a SIP adapter or the
               simulator can use it as it is

What each layer must not include is in RULES below. An include is checked
where it is written and also through the project headers it pulls in (a
domain file that includes a services/common/ header which includes
<grpcpp/...> is reported, with the chain). Headers that are generated
(dialgrid/**/*.pb.h) or come from the system are not followed.

Existing violations that are accepted for now are listed in ALLOWED with the
reason; anything not listed fails, and an entry that no longer matches fails
too (remove it), so the list only shrinks.

Usage:
  tools/check_layering.py [--root DIR]   check the tree (default: this repository)
  tools/check_layering.py --self-test    check the checker against a synthetic
                                         tree with one violation of every rule
Exit status: 0 clean, 1 violations (or a failed self-test), 2 usage error.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap

SOURCE_EXTENSIONS = (".h", ".hh", ".hpp", ".hxx", ".inc", ".ipp", ".cc", ".cpp", ".cxx", ".c")

# --- What is forbidden ------------------------------------------------------
# Each pattern is matched against the include path as written (<...> or "..."),
# after a quoted include that names a file relative to the including file has
# been rewritten to its path from the repository root.
GRPC = re.compile(r"^(grpcpp|grpc\+\+|grpc)/|\.grpc\.pb\.h$")
HIREDIS = re.compile(r"(^|/)hiredis(/|\.h$)")
RDKAFKA = re.compile(r"(^|/)(lib)?rdkafka")
COMMON_REDIS = re.compile(r"^services/common/redis/")
REDIS_OUTBOX = re.compile(r"^services/common/events/redis_outbox\.h$")
COMMON_KAFKA = re.compile(r"^services/common/kafka/")
# The Kafka client wrappers; services/common/kafka/event_publisher.h is a
# port (an abstract publisher over the envelope) and stays allowed outside
# the domain.
KAFKA_CLIENT_WRAPPERS = re.compile(r"^services/common/kafka/kafka_(producer|consumer)\.h$")
COMMON_SERVER = re.compile(r"^services/common/server/")
ANY_OUTER = re.compile(r"^services/[^/]+/(adapters|server)/")  # includes services/common/server/
SERVICE_OUTER = re.compile(r"^services/(?!common/)[^/]+/(adapters|server)/")
PROTOBUF = re.compile(r"^google/protobuf/|\.pb\.h$")
# Any project header outside the engine itself.
NOT_PACING = re.compile(r"^(services/(?!dialing/pacing/)|protos/|dialgrid/)")
NOT_TELEPHONY = re.compile(r"^(services/(?!dialing/telephony/|common/core/)|protos/|dialgrid/)")

# (rule id, layer, what it forbids, pattern)
RULES = [
    ("domain-grpc", "domain", "gRPC", GRPC),
    ("domain-redis", "domain", "Redis (hiredis)", HIREDIS),
    ("domain-redis", "domain", "Redis client (services/common/redis/)", COMMON_REDIS),
    ("domain-redis", "domain", "the Redis outbox adapter", REDIS_OUTBOX),
    ("domain-kafka", "domain", "Kafka (librdkafka)", RDKAFKA),
    # Domain code uses none of services/common/kafka/ (not even the publisher
    # interface), so the whole directory is out.
    ("domain-kafka", "domain", "Kafka runtime (services/common/kafka/)", COMMON_KAFKA),
    ("domain-server", "domain", "the gRPC server runtime (services/common/server/)", COMMON_SERVER),
    ("domain-outer", "domain", "an adapters/ or server/ header", ANY_OUTER),
    ("ports-grpc", "ports", "gRPC", GRPC),
    ("ports-redis", "ports", "Redis (hiredis)", HIREDIS),
    ("ports-redis", "ports", "Redis client (services/common/redis/)", COMMON_REDIS),
    ("ports-redis", "ports", "the Redis outbox adapter", REDIS_OUTBOX),
    ("ports-kafka", "ports", "Kafka (librdkafka)", RDKAFKA),
    ("ports-kafka", "ports", "a Kafka client wrapper", KAFKA_CLIENT_WRAPPERS),
    ("ports-outer", "ports", "an adapters/ or server/ header", ANY_OUTER),
    ("application-grpc", "application", "gRPC", GRPC),
    ("application-redis", "application", "Redis (hiredis)", HIREDIS),
    ("application-redis", "application", "Redis client (services/common/redis/)", COMMON_REDIS),
    ("application-redis", "application", "the Redis outbox adapter", REDIS_OUTBOX),
    ("application-kafka", "application", "Kafka (librdkafka)", RDKAFKA),
    ("application-kafka", "application", "a Kafka client wrapper", KAFKA_CLIENT_WRAPPERS),
    ("application-outer", "application", "a service's adapters/ or server/ header",
     SERVICE_OUTER),
    ("pacing-grpc", "pacing", "gRPC", GRPC),
    ("pacing-redis", "pacing", "Redis (hiredis)", HIREDIS),
    ("pacing-kafka", "pacing", "Kafka (librdkafka)", RDKAFKA),
    ("pacing-protobuf", "pacing", "protobuf", PROTOBUF),
    ("pacing-project", "pacing", "a project header outside services/dialing/pacing/",
     NOT_PACING),
    ("telephony-grpc", "telephony", "gRPC", GRPC),
    ("telephony-redis", "telephony", "Redis (hiredis)", HIREDIS),
    ("telephony-kafka", "telephony", "Kafka (librdkafka)", RDKAFKA),
    ("telephony-protobuf", "telephony", "protobuf", PROTOBUF),
    ("telephony-project", "telephony",
     "a project header outside services/dialing/telephony/ and services/common/core/",
     NOT_TELEPHONY),
]

# Headers of these layers are not followed from a file of the given layer:
# their own rules include all of its rules, so they are reported where the
# include is written.
CHECKED_ON_THEIR_OWN = {
    "domain": {"domain"},
    "ports": {"ports", "domain"},
    "application": {"application", "ports", "domain"},
    "pacing": {"pacing"},
    "telephony": {"telephony"},
}

# --- Accepted existing violations -------------------------------------------
# (file from the repository root, forbidden include as reported) -> why it is
# accepted and what would remove it. Keep one commented entry per violation.
#
# Empty: the tree had no violation when this check was written (direct or
# through project headers).
ALLOWED = {
}

INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]', re.MULTILINE)


def layer_of(rel):
    """The layer a file (path from the root, '/'-separated) belongs to, or None."""
    parts = rel.split("/")
    if len(parts) < 3 or parts[0] != "services" or not rel.endswith(SOURCE_EXTENSIONS):
        return None
    if parts[1:3] == ["dialing", "pacing"] and len(parts) > 3 and parts[3] != "tests":
        return "pacing"
    if parts[1:3] == ["dialing", "telephony"] and len(parts) > 3 and parts[3] != "tests":
        return "telephony"
    if parts[2] == "domain" and len(parts) > 3:
        return "domain"
    if parts[2] == "ports" and len(parts) > 3:
        return "ports"
    if parts[2] == "application" and len(parts) > 3:
        return "application"
    if len(parts) == 3 and re.match(r"^[A-Za-z0-9_]+_manager\.[a-z]+$", parts[2]):
        return "application"
    return None


def strip_comments(text):
    """Blanks out comments (not inside string literals), keeping line breaks."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n) if j < n and text[j] == c else j
            out.append(text[i:j])
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def includes_of(path):
    """[(line, kind, path as written)] of a file's #include directives."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    text = strip_comments(text)
    result = []
    for m in INCLUDE_RE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        result.append((line, m.group(1), m.group(2).strip()))
    return result


def resolve(root, including_rel, kind, name):
    """(canonical include path, repository file it names or None)."""
    if kind == '"':
        local = os.path.normpath(os.path.join(os.path.dirname(including_rel), name))
        if not local.startswith("..") and os.path.isfile(os.path.join(root, local)):
            return local.replace(os.sep, "/"), local.replace(os.sep, "/")
    canonical = os.path.normpath(name).replace(os.sep, "/") if kind == '"' else name
    if kind == '"' and not canonical.startswith("..") and os.path.isfile(
            os.path.join(root, canonical)):
        return canonical, canonical
    return canonical, None


def source_files(root):
    services = os.path.join(root, "services")
    for dirpath, dirnames, filenames in os.walk(services):
        dirnames.sort()
        for name in sorted(filenames):
            rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
            yield rel


def check(root, allowed):
    """Returns (violations, stale allow-list entries).

    A violation is (file, line, rule id, description, forbidden include, chain),
    chain being the headers between the file and the forbidden include.
    """
    cache = {}

    def includes(rel):
        if rel not in cache:
            cache[rel] = includes_of(os.path.join(root, rel))
        return cache[rel]

    violations = []
    seen = set()
    used_allowances = set()
    for rel in source_files(root):
        layer = layer_of(rel)
        if layer is None:
            continue
        rules = [r for r in RULES if r[1] == layer]
        for line, kind, name in includes(rel):
            canonical, target = resolve(root, rel, kind, name)
            # Walk from this include through project headers, breadth first,
            # remembering the chain that reached each header.
            queue = [(canonical, target, ())]
            visited = set()
            while queue:
                inc, tgt, chain = queue.pop(0)
                matched = False
                for rule_id, _, what, pattern in rules:
                    if pattern.search(inc):
                        matched = True
                        key = (rel, inc)
                        if key in allowed:
                            used_allowances.add(key)
                            break
                        dedup = (rel, line, rule_id, inc)
                        if dedup not in seen:
                            seen.add(dedup)
                            violations.append((rel, line, rule_id, what, inc, chain))
                        break
                # A forbidden header is reported once, not also for what it
                # includes. A header of a layer whose rules are at least as
                # strict is checked on its own; any other project header is
                # followed.
                if (matched or tgt is None or tgt in visited or
                        layer_of(tgt) in CHECKED_ON_THEIR_OWN[layer]):
                    continue
                visited.add(tgt)
                for sub_line, sub_kind, sub_name in includes(tgt):
                    sub_canonical, sub_target = resolve(root, tgt, sub_kind, sub_name)
                    queue.append((sub_canonical, sub_target,
                                  chain + ("%s:%d" % (tgt, sub_line),)))
    stale = sorted(set(allowed) - used_allowances)
    return violations, stale


def report(violations, stale, out):
    for rel, line, rule_id, what, inc, chain in violations:
        via = (" (via %s)" % " -> ".join(chain)) if chain else ""
        layer = rule_id.split("-")[0]
        article = "an" if layer[0] in "aeiou" else "a"
        out.write('%s:%d: error: [%s] %s %s file must not include %s: "%s"%s\n' %
                  (rel, line, rule_id, article, layer, what, inc, via))
    for rel, inc in stale:
        out.write('tools/check_layering.py: error: ALLOWED entry (%r, %r) no longer matches '
                  'any include: remove it\n' % (rel, inc))


def run(root, allowed, out):
    violations, stale = check(root, allowed)
    report(violations, stale, out)
    if violations or stale:
        out.write("layering: %d violation(s), %d stale allow-list entr%s "
                  "(rules: tools/check_layering.py, STYLE.md 'Inside a service')\n" %
                  (len(violations), len(stale), "y" if len(stale) == 1 else "ies"))
        return 1
    return 0


# --- Self-test --------------------------------------------------------------
# A synthetic tree with one violation of every rule (file, line, rule id); the
# check must report exactly these, nothing in the clean files, and exit 1.
SELF_TEST_FILES = {
    "services/common/core/leaky.h": """\
        #pragma once
        #include <grpcpp/channel.h>
        """,
    "services/common/core/clean.h": """\
        #pragma once
        #include "absl/status/status.h"
        """,
    "services/common/kafka/event_publisher.h": "#pragma once\n",
    "services/common/kafka/kafka_producer.h": "#pragma once\n",
    "services/common/redis/redis_client.h": "#pragma once\n",
    "services/common/events/redis_outbox.h": "#pragma once\n",
    "services/common/server/rpc.h": "#pragma once\n",
    "services/demo/adapters/redis_store.h": "#pragma once\n",
    "services/demo/server/demo_service.h": "#pragma once\n",
    "services/demo/domain/clean.cc": """\
        #include "services/demo/domain/clean.h"
        // #include <grpcpp/grpcpp.h>
        /* #include <hiredis/hiredis.h>
           #include "services/demo/adapters/redis_store.h" */
        #include "absl/strings/str_cat.h"
        #include "dialgrid/demo/v1/demo.pb.h"
        #include "services/common/core/clean.h"
        """,
    "services/demo/domain/clean.h": "#pragma once\n#include <string>\n",
    "services/demo/domain/bad.h": """\
        #pragma once
        #include <string>
        #include <grpcpp/grpcpp.h>
        #include "dialgrid/demo/v1/demo.grpc.pb.h"
        #include <hiredis/hiredis.h>
        #include "services/common/redis/redis_client.h"
        #include "services/common/events/redis_outbox.h"
        #include <librdkafka/rdkafkacpp.h>
        #include "services/common/kafka/event_publisher.h"
        #include "services/common/server/rpc.h"
        #include "services/demo/adapters/redis_store.h"
        #include "../server/demo_service.h"
          #  include "services/common/core/leaky.h"
        """,
    "services/demo/ports/clean_store.h": """\
        #pragma once
        #include "services/common/kafka/event_publisher.h"
        #include "services/demo/domain/clean.h"
        """,
    "services/demo/ports/bad_store.h": """\
        #pragma once
        #include <grpc/grpc.h>
        #include "hiredis.h"
        #include "services/common/redis/redis_client.h"
        #include "rdkafka.h"
        #include "services/common/kafka/kafka_producer.h"
        #include "services/demo/adapters/redis_store.h"
        #include "services/common/server/rpc.h"
        #include "services/common/core/leaky.h"
        """,
    "services/demo/demo_manager.h": """\
        #pragma once
        #include "services/common/kafka/event_publisher.h"
        #include "services/demo/ports/clean_store.h"
        #include "services/demo/domain/clean.h"
        """,
    "services/demo/demo_manager.cc": """\
        #include "services/demo/demo_manager.h"
        #include <grpcpp/grpcpp.h>
        #include <hiredis/hiredis.h>
        #include "services/common/redis/redis_client.h"
        #include <librdkafka/rdkafkacpp.h>
        #include "services/demo/server/demo_service.h"
        """,
    "services/demo/application/importer.cc": """\
        #include "services/demo/demo_manager.h"
        #include "services/common/events/redis_outbox.h"
        #include "services/common/kafka/kafka_producer.h"
        #include "services/common/core/leaky.h"
        """,
    "services/dialing/pacing/pacer.h": """\
        #pragma once
        #include <vector>
        #include "absl/types/span.h"
        #include "services/dialing/pacing/estimators.h"
        """,
    "services/dialing/pacing/estimators.h": "#pragma once\n#include <array>\n",
    "services/dialing/pacing/bad.cc": """\
        #include "services/dialing/pacing/pacer.h"
        #include <grpcpp/grpcpp.h>
        #include <hiredis/hiredis.h>
        #include <librdkafka/rdkafkacpp.h>
        #include <google/protobuf/message.h>
        #include "dialgrid/demo/v1/demo.pb.h"
        #include "services/demo/domain/clean.h"
        """,
    "services/dialing/pacing/tests/pacer_test.cc": "#include <gtest/gtest.h>\n",
    "services/dialing/telephony/port.h": """\
        #pragma once
        #include "absl/status/status.h"
        #include "services/common/core/clock.h"
        """,
    "services/dialing/telephony/bad.cc": """\
        #include "services/dialing/telephony/port.h"
        #include <grpcpp/grpcpp.h>
        #include <hiredis/hiredis.h>
        #include <librdkafka/rdkafkacpp.h>
        #include <google/protobuf/message.h>
        #include "services/demo/domain/clean.h"
        """,
    "services/dialing/telephony/tests/port_test.cc": "#include <grpcpp/grpcpp.h>\n",
    # Outside every checked layer: anything goes.
    "services/demo/adapters/redis_store.cc": "#include <hiredis/hiredis.h>\n",
    "services/demo/main.cc": "#include <grpcpp/grpcpp.h>\n",
    "services/demo/tests/demo_test.cc": "#include <hiredis/hiredis.h>\n",
}

SELF_TEST_EXPECTED = {
    ("services/demo/domain/bad.h", 3, "domain-grpc"),
    ("services/demo/domain/bad.h", 4, "domain-grpc"),
    ("services/demo/domain/bad.h", 5, "domain-redis"),
    ("services/demo/domain/bad.h", 6, "domain-redis"),
    ("services/demo/domain/bad.h", 7, "domain-redis"),
    ("services/demo/domain/bad.h", 8, "domain-kafka"),
    ("services/demo/domain/bad.h", 9, "domain-kafka"),
    ("services/demo/domain/bad.h", 10, "domain-server"),
    ("services/demo/domain/bad.h", 11, "domain-outer"),
    ("services/demo/domain/bad.h", 12, "domain-outer"),
    ("services/demo/domain/bad.h", 13, "domain-grpc"),  # through leaky.h
    ("services/demo/ports/bad_store.h", 2, "ports-grpc"),
    ("services/demo/ports/bad_store.h", 3, "ports-redis"),
    ("services/demo/ports/bad_store.h", 4, "ports-redis"),
    ("services/demo/ports/bad_store.h", 5, "ports-kafka"),
    ("services/demo/ports/bad_store.h", 6, "ports-kafka"),
    ("services/demo/ports/bad_store.h", 7, "ports-outer"),
    ("services/demo/ports/bad_store.h", 8, "ports-outer"),
    ("services/demo/ports/bad_store.h", 9, "ports-grpc"),  # through leaky.h
    ("services/demo/demo_manager.cc", 2, "application-grpc"),
    ("services/demo/demo_manager.cc", 3, "application-redis"),
    ("services/demo/demo_manager.cc", 4, "application-redis"),
    ("services/demo/demo_manager.cc", 5, "application-kafka"),
    ("services/demo/demo_manager.cc", 6, "application-outer"),
    ("services/demo/application/importer.cc", 2, "application-redis"),
    ("services/demo/application/importer.cc", 3, "application-kafka"),
    ("services/demo/application/importer.cc", 4, "application-grpc"),  # through leaky.h
    ("services/dialing/pacing/bad.cc", 2, "pacing-grpc"),
    ("services/dialing/pacing/bad.cc", 3, "pacing-redis"),
    ("services/dialing/pacing/bad.cc", 4, "pacing-kafka"),
    ("services/dialing/pacing/bad.cc", 5, "pacing-protobuf"),
    ("services/dialing/pacing/bad.cc", 6, "pacing-protobuf"),
    ("services/dialing/pacing/bad.cc", 7, "pacing-project"),
    ("services/dialing/telephony/bad.cc", 2, "telephony-grpc"),
    ("services/dialing/telephony/bad.cc", 3, "telephony-redis"),
    ("services/dialing/telephony/bad.cc", 4, "telephony-kafka"),
    ("services/dialing/telephony/bad.cc", 5, "telephony-protobuf"),
    ("services/dialing/telephony/bad.cc", 6, "telephony-project"),
}


def self_test():
    failures = []

    def expect(condition, message):
        if not condition:
            failures.append(message)

    with tempfile.TemporaryDirectory(prefix="check_layering.") as root:
        for rel, text in SELF_TEST_FILES.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(text))

        # Every rule fires where expected, nothing else does.
        violations, stale = check(root, {})
        got = {(v[0], v[1], v[2]) for v in violations}
        for missing in sorted(SELF_TEST_EXPECTED - got):
            failures.append("not reported: %s:%d [%s]" % missing)
        for extra in sorted(got - SELF_TEST_EXPECTED):
            failures.append("reported but not a violation: %s:%d [%s]" % extra)
        expect(not stale, "stale allowances reported without an allow-list")
        expect({r[0] for r in RULES} <= {e[2] for e in SELF_TEST_EXPECTED},
               "a rule without a case in the self-test")
        transitive = [v for v in violations if v[0] == "services/demo/domain/bad.h" and v[1] == 13]
        expect(transitive and transitive[0][5] == ("services/common/core/leaky.h:2",),
               "the chain of a violation through a header is not reported: %r" % transitive)

        # The command line fails on the tree, naming file:line and the rule.
        cli = subprocess.run([sys.executable, os.path.abspath(__file__), "--root", root],
                             capture_output=True, text=True)
        expect(cli.returncode == 1, "exit status %d on a violating tree" % cli.returncode)
        expect("services/demo/domain/bad.h:3: error: [domain-grpc]" in cli.stdout,
               "file:line and rule missing from the output:\n" + cli.stdout)

        # An allowance hides exactly its violation; one that matches nothing is stale.
        allowed = {("services/demo/domain/bad.h", "grpcpp/grpcpp.h"): "self-test",
                   ("services/demo/domain/gone.h", "grpcpp/grpcpp.h"): "self-test"}
        violations, stale = check(root, allowed)
        got_allowed = {(v[0], v[1], v[2]) for v in violations}
        expect(got_allowed == SELF_TEST_EXPECTED - {("services/demo/domain/bad.h", 3,
                                                      "domain-grpc")},
               "an allowance hid more or less than its violation")
        expect(stale == [("services/demo/domain/gone.h", "grpcpp/grpcpp.h")],
               "a stale allowance was not reported: %r" % stale)

        # With the violating files gone the tree is clean and the exit status 0.
        for rel in ("services/demo/domain/bad.h", "services/demo/ports/bad_store.h",
                    "services/demo/demo_manager.cc", "services/demo/application/importer.cc",
                    "services/dialing/pacing/bad.cc", "services/dialing/telephony/bad.cc"):
            os.remove(os.path.join(root, rel))
        violations, stale = check(root, {})
        expect(not violations, "violations in a clean tree: %r" % violations)
        cli = subprocess.run([sys.executable, os.path.abspath(__file__), "--root", root],
                             capture_output=True, text=True)
        expect(cli.returncode == 0, "exit status %d on a clean tree:\n%s" %
               (cli.returncode, cli.stdout + cli.stderr))

    for failure in failures:
        print("check_layering self-test: FAIL: " + failure)
    if failures:
        return 1
    print("check_layering self-test: %d violations found in the synthetic tree as expected; "
          "clean tree passes" % len(SELF_TEST_EXPECTED))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), help="repository root (default: this repository)")
    parser.add_argument("--self-test", action="store_true",
                        help="run the checker against a synthetic violating tree")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if not os.path.isdir(os.path.join(args.root, "services")):
        sys.stderr.write("check_layering: no services/ under %s\n" % args.root)
        return 2
    status = run(args.root, ALLOWED, sys.stdout)
    if status == 0:
        checked = sum(1 for rel in source_files(args.root) if layer_of(rel))
        print("layering: %d domain/ports/application/pacing files checked, no violation" % checked)
    return status


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Prints dialgrid-sim --json output as the Markdown tables of
docs/performance.md ("Pacing engine and simulator").

  tools/simulator/markdown_table.py results.json"""
import json
import sys


def short(name):
    if name.startswith("power k="):
        return "power"
    return {"B0 clairvoyant": "B0", "B1 clairvoyant+machines": "B1"}.get(name, name)


def main():
    with open(sys.argv[1]) as f:
        data = json.load(f)
    cases = sorted(data["cases"],
                   key=lambda c: (c["agents"], c["live_answer_probability"], c["amd"]))
    print("| case | progressive | VICIdial adapt | best fixed ratio (hindsight) | engine | B1 | B0 |")
    print("|---|---|---|---|---|---|---|")
    for c in cases:
        cells = {}
        for p in c["policies"]:
            s = short(p["policy"])
            occ = 100 * p["occupancy"]
            worst = 100 * p["abandon_worst_day"]
            if s in ("B0", "B1"):
                cells[s] = "%.1f" % occ
            elif s == "power":
                if p["policy"].startswith("power (no"):
                    cells[s] = "none compliant"
                else:
                    cells[s] = "k=%s: %.1f (%.2f)" % (p["policy"].split("=")[1].split()[0], occ, worst)
            else:
                cells[s] = "%.1f (%.2f)%s" % (occ, worst,
                                              " **%d days > cap**" % p["days_over_cap"]
                                              if p["days_over_cap"] else "")
        print("| %s | %s |" % (c["scenario"], " | ".join(
            cells.get(k, "-") for k in ("progressive", "vicidial-adapt", "power", "engine", "B1",
                                        "B0"))))
    print()
    print("| case | engine − best fixed ratio (points) | engine abandon all days % | engine "
          "wait mean / p95 s | engine contacts/agent-h | engine lines/agent | engine µs/decision (wall[ / CPU]) |")
    print("|---|---|---|---|---|---|---|")
    for c in cases:
        ps = {short(p["policy"]): p for p in c["policies"]}
        e = ps.get("engine")
        if not e:
            continue
        power = ps.get("power")
        gap = "%+.1f" % (100 * (e["occupancy"] - power["occupancy"])) if power and \
            not power["policy"].startswith("power (no") else "-"
        print("| %s | %s | %.2f | %.1f / %.1f | %.2f | %.2f | %s |" % (
            c["scenario"], gap, 100 * e["abandon"], e["wait_mean_s"], e["wait_p95_s"],
            e["contacts_per_agent_hour"], e["lines_per_agent"],
            ("%.1f / %.1f" % (e["ns_per_decision"] / 1000, e["cpu_ns_per_decision"] / 1000)
             if "cpu_ns_per_decision" in e else
             "%.1f" % (e["ns_per_decision"] / 1000) if "ns_per_decision" in e else "-")))
    return 0


if __name__ == "__main__":
    sys.exit(main())

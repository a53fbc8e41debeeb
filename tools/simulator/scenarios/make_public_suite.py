#!/usr/bin/env python3
"""Writes the public suite (issue 16): 5/10/25/50/100 agents x 10/20/30 % live
answers x AMD off/on, into scenarios/public/. The files are checked in; run
this only to change the suite, and say so in docs/performance.md."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def scenario(agents, live, amd):
    return {
        "name": "n%d-live%d-amd%s" % (agents, round(live * 100), "on" if amd else "off"),
        "description": "public suite: pacing.md 1.6/1.8 defaults",
        "agents": agents,
        "shift_hours": 8,
        "days_per_seed": 10,
        "tuning_seeds": [101, 102],
        "reporting_seeds": [1, 2, 3],
        "outcomes": {"human": live, "machine": 0.20, "busy_failed": 0.15},
        "times": {
            "setup": {"type": "uniform", "min": 1, "max": 3},
            "human_ring": {"type": "lognormal", "mean": 8, "sd": 4},
            "machine_ring": {"type": "normal", "mean": 18, "sd": 2, "min": 12, "max": 24},
            "fail": {"type": "uniform", "min": 2, "max": 8},
            "talk": {"type": "lognormal", "mean": 150, "sd": 150},
            "wrap": {"type": "gamma", "mean": 30, "sd": 15},
        },
        "no_answer_timeout_s": 25,
        "machine_handling": {"talk": {"type": "constant", "value": 8},
                             "wrap": {"type": "constant", "value": 5}},
        "amd": {"enabled": amd, "decision_delay_s": 2.0, "greeting_s": 1.0,
                "false_positive": 0.01, "false_negative": 0.10},
        "tick_s": 1,
        "max_lines_per_agent": 3.0,
        "abandon_cap": 0.03,
        "grace_s": 2.0,
    }


def main():
    out = os.path.join(HERE, "public")
    os.makedirs(out, exist_ok=True)
    for agents in (5, 10, 25, 50, 100):
        for live in (0.10, 0.20, 0.30):
            for amd in (False, True):
                s = scenario(agents, live, amd)
                with open(os.path.join(out, s["name"] + ".json"), "w") as f:
                    json.dump(s, f, indent=2)
                    f.write("\n")


if __name__ == "__main__":
    main()

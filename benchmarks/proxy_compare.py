"""Side by side: set-ups of the survey under the same load, runs interleaved, medians shown.

    .venv/bin/python benchmarks/proxy_compare.py --backend postgres --runs 3 --seconds 15 \\
        --setups nginx:1,nginx:2

Each set-up is ``PROXY:INSTANCES`` as in ``benchmarks/web_load.py --proxy PROXY --instances
INSTANCES`` (``none:1``: gunicorn alone; ``nginx:1``: nginx in front of one instance;
``nginx:2``: nginx in front of two, docs/deploy.md). The runs go round-robin over the set-ups
(A B A B A B), so that a change in the shared machine's load falls on all of them alike; each
run is a full web_load run (fresh database, servers started and stopped, export checked).
Other options are passed on to web_load.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import web_load  # noqa: E402

COLUMNS = ("views", "submits", "completed", "p99_get", "p99_post", "server_cpu_ms",
           "nginx_cores", "others")


def parse_setups(text: str) -> list[tuple[str, int]]:
    setups = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        proxy, _, instances = part.partition(":")
        if proxy not in ("none", "nginx") or instances not in ("1", "2") or (
                proxy == "none" and instances == "2"):
            raise SystemExit(f"--setups: {part!r} is not one of none:1, nginx:1, nginx:2")
        setups.append((proxy, int(instances)))
    return setups


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--setups", default="nginx:1,nginx:2", help="PROXY:INSTANCES, comma list")
    p.add_argument("--runs", type=int, default=3, help="runs per set-up (default 3)")
    p.add_argument("--backend", default="postgres", help="sqlite or postgres (default postgres)")
    args, rest = p.parse_known_args(argv)
    setups = parse_setups(args.setups)
    results: dict[tuple[str, int], list[dict]] = {s: [] for s in setups}
    failed = False
    print(f"proxy_compare: {args.runs} runs of {args.setups} on {args.backend}, "
          f"load average {os.getloadavg()[0]:.2f} before the runs")
    for run in range(args.runs):
        for proxy, instances in setups:
            print(f"\n## run {run + 1}/{args.runs}: --proxy {proxy} --instances {instances}")
            wl_args = [*rest, "--backend", args.backend, "--proxy", proxy,
                       "--instances", str(instances)]
            options = web_load.parse_args(wl_args)
            result = web_load.run_backend(args.backend, options)
            if result is None:
                return 1
            failed |= not (result["consistent"] and result["errors"] == 0)
            results[(proxy, instances)].append(result)
    load = os.getloadavg()
    print(f"\nmedians of {args.runs} runs, {args.backend} (load average after: "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    print("  set-up                        views/s  submits/s  done/s  p99 GET/POST ms  "
          "server CPU/req  nginx  other CPU  runs (views/s)")
    for rows in results.values():
        med = {c: statistics.median(r[c] for r in rows) for c in COLUMNS}
        runs = " ".join(f"{r['views']:.0f}" for r in rows)
        print(f"  {rows[0]['setup']:<29}{med['views']:8.1f}{med['submits']:11.1f}"
              f"{med['completed']:8.1f}{med['p99_get']:10.0f}/{med['p99_post']:<6.0f}"
              f"{med['server_cpu_ms']:11.2f} ms{med['nginx_cores']:7.2f}"
              f"{med['others']:8.2f}     {runs}")
    print("FAIL: errors or a database check failed (see above)" if failed else
          "PASS: every run without errors, completed responses in the database = clients'")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

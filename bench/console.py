"""Console benchmarks: list pages of 10,000 objects and the live tail at 500 events/s, each beside the raw API.

`python -m bench.console [--quick] [--json PATH]`

Starts a live `manage.py serve` on SQLite (tests.support.server.ServerProcess: Daphne, TLS), creates 10,000
ConfigMaps in one namespace, logs a ServiceAccount bound to cluster-admin in to the console and then measures, in
the same run and interleaved request by request:

- **list page**: `GET /console/resources/core/v1/configmaps/?namespace=…&limit=N[&continue=…]` (the whole HTML
  page: session, discovery, namespace access, the Table LIST, the template) beside the raw API request it makes,
  `GET /api/v1/namespaces/…/configmaps?limit=N[&continue=…]` asking for a Table, with the same user's token.
  First page and a middle page (the continue token of item 5,000), limit 50 and 500.
- **live tail**: delivery latency of creates paced at 500/s through /console/ws/watch beside a raw Table watch
  of the same namespace open at the same time (bench/console_live.py).

Results are ours/raw ratios with verdict `info` (issue 7 sets no numeric target); a failed request, a page with
the wrong row count or a lost event makes a row FAIL. The exit code is 0. docs/benchmarks.md "Console" explains
the numbers.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
import orjson

from bench.console_live import Burst, describe, one_burst, pooled
from bench.console_side import TABLE_ACCEPT, Target, admin, admin_session, create_many, log_in, user_token
from bench.measure import Result, format_line, percentile
from bench.storage import load_average, machine_facts, print_summary
from tests.support.server import ServerProcess

NAMESPACE = "bench"
OBJECTS = 10_000
MIDDLE = 5_000
PAGE = "/console/resources/core/v1/configmaps/"
ROW = re.compile(rb"<tr data-uid=")
NAN = float("nan")


@dataclass(frozen=True, slots=True)
class Profile:
    list_reps: int = 40  # per side and case (limit 500: half)
    bursts: int = 3
    rate: float = 500.0
    seconds: float = 3.0


FULL = Profile()
QUICK = Profile(list_reps=10, bursts=1, seconds=2.0)


async def timed(fetch: object) -> float:
    started = time.perf_counter()
    await fetch  # type: ignore[misc]
    return time.perf_counter() - started


async def console_page(user: aiohttp.ClientSession, limit: int, token: str) -> None:
    params = {"namespace": NAMESPACE, "limit": str(limit)} | ({"continue": token} if token else {})
    async with user.get(PAGE, params=params, allow_redirects=False) as answer:
        body = await answer.read()
    if answer.status != 200 or len(ROW.findall(body)) != limit:
        raise RuntimeError(f"console page: HTTP {answer.status}, {len(ROW.findall(body))} rows of {limit}")


async def raw_table(user: aiohttp.ClientSession, bearer: str, limit: int, token: str) -> None:
    params = {"limit": str(limit)} | ({"continue": token} if token else {})
    headers = {"Accept": TABLE_ACCEPT, "Authorization": f"Bearer {bearer}"}
    async with user.get(f"/api/v1/namespaces/{NAMESPACE}/configmaps", params=params, headers=headers) as answer:
        body = await answer.read()
    if answer.status != 200 or len(orjson.loads(body)["rows"]) != limit:
        raise RuntimeError(f"raw Table LIST: HTTP {answer.status} {body[:200]!r}")


async def list_case(user: aiohttp.ClientSession, bearer: str, limit: int, token: str, reps: int,
                    name: str) -> list[Result]:
    ours: list[float] = []
    raw: list[float] = []
    errors: list[str] = []
    for rep in range(reps + 2):  # two warm-up pairs
        pair = [("ours", console_page(user, limit, token)), ("raw", raw_table(user, bearer, limit, token))]
        for side, fetch in pair if rep % 2 else reversed(pair):  # alternate which side goes first
            try:
                seconds = await timed(fetch)
            except Exception as error:  # A benchmark counts failures instead of stopping at the first.
                errors.append(f"{side} {error!r}")
                continue
            if rep >= 2:
                (ours if side == "ours" else raw).append(seconds)
    failures = f"{len(errors)} errors ({errors[0]})" if errors else ""
    rows = []
    for stat, fraction in (("p50", 0.5), ("p99", 0.99)):
        ours_ms, raw_ms = percentile(ours, fraction) * 1e3, percentile(raw, fraction) * 1e3
        detail = (f"{len(ours)}+{len(raw)} requests; ours min {min(ours, default=NAN) * 1e3:.1f} max "
                  f"{max(ours, default=NAN) * 1e3:.1f} ms; raw min {min(raw, default=NAN) * 1e3:.1f} max "
                  f"{max(raw, default=NAN) * 1e3:.1f} ms")
        rows.append(row(f"list page {name}", f"ms {stat}", ours_ms, raw_ms, detail, failures))
    return rows


def row(workload: str, unit: str, ours: float, raw: float, detail: str, failures: str) -> Result:
    result = Result("sqlite", workload, unit, ours, raw, "-", "FAIL" if failures else "info",
                    f"{failures}; {detail}" if failures else detail)
    print(format_line(result), flush=True)
    return result


async def run(profile: Profile, data_dir: Path) -> list[Result]:
    with ServerProcess(data_dir / "server") as server:
        cert, key = server.admin_credentials()
        target = Target(server.url, str(server.ca_file), str(cert), str(key))
        async with admin_session(target) as session:
            await admin(session, "POST", "/api/v1/namespaces",
                        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}, 201)
            bearer = await user_token(session, NAMESPACE, "console-bench")
            started = time.perf_counter()
            await create_many(session, NAMESPACE, [f"cm-{index:05d}" for index in range(OBJECTS)])
            print(f"created {OBJECTS} ConfigMaps in {time.perf_counter() - started:.1f} s", flush=True)
            middle = (await admin(session, "GET", f"/api/v1/namespaces/{NAMESPACE}/configmaps?limit={MIDDLE}"))[
                "metadata"]["continue"]
            user = await log_in(target, bearer)
            results: list[Result] = []
            try:
                for limit in (50, 500):
                    reps = profile.list_reps if limit == 50 else max(5, profile.list_reps // 2)
                    results += await list_case(user, bearer, limit, "", reps, f"first, limit {limit}")
                    results += await list_case(user, bearer, limit, middle, reps, f"middle, limit {limit}")
                bursts: list[Burst] = []
                errors = ""
                for rep in range(profile.bursts):
                    try:
                        bursts.append(await one_burst(target, session, user, bearer, f"live-{rep}", profile.rate,
                                                      profile.seconds))
                    except Exception as error:  # A benchmark reports every failure instead of stopping.
                        errors = f"ERROR {error!r}"
                results += live_rows(bursts, errors, profile)
            finally:
                await user.close()
    return results


def live_rows(bursts: list[Burst], errors: str, profile: Profile) -> list[Result]:
    lost = sum(burst.missing for burst in bursts) + sum(burst.writer["errors"] for burst in bursts)
    failures = "; ".join(part for part in (errors, f"{lost} events lost or writes failed" if lost else "") if part)
    name = f"live tail ({profile.rate:.0f}/s)"
    if not bursts:
        return [row(name, "ms p50", NAN, NAN, "", failures or "no burst completed")]
    detail = describe(bursts)
    return [row(name, f"ms {stat}", pooled(bursts, "console", fraction), pooled(bursts, "raw", fraction), detail,
                failures) for stat, fraction in (("p50", 0.5), ("p99", 0.99))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and one burst: about 1 min")
    parser.add_argument("--json", type=Path, help="also write the facts and results to this JSON file")
    arguments = parser.parse_args(argv)
    profile = QUICK if arguments.quick else FULL
    facts = machine_facts() | {"aiohttp": aiohttp.__version__}
    print("\n".join(f"{name}: {value}" for name, value in facts.items()) + f"\nprofile: {profile}", flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-console-") as data_dir:
        try:
            results = asyncio.run(run(profile, Path(data_dir)))
        except Exception as error:  # The server could not start or the dataset could not be made: say so.
            results = [row("start", "-", NAN, NAN, "", f"ERROR {error!r}")]
    facts["load average at end"] = load_average()
    print_summary(results, facts, time.perf_counter() - started)
    if arguments.json:
        rows = [asdict(result) | {"ratio": result.ratio} for result in results]
        arguments.json.write_text(json.dumps({"facts": facts, "profile": asdict(profile), "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

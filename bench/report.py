"""Figures and the Markdown report of a bench run (bench/results/<date>-<size>-<db>.md)."""
from __future__ import annotations

import json
from pathlib import Path

TARGET_P95_MS = 100
TARGET_DASHBOARD_MS = 20
TARGET_DEEP_RATIO = 1.5
TARGET_RSS_MB = 150
TARGET_RSS_GROWTH = 0.10
TARGET_HIT_RATIO = 0.90
TARGET_LIST_SHARE = 0.2
# #17: list pages' saturation throughput as a share of hello world's (SQLite; PostgreSQL),
# stress throughput against the peak's, app CPU per request in hello-world requests
TARGET_LIST_SHARE_17 = {"sqlite": 0.15, "postgresql": 0.12}
TARGET_STRESS_OF_PEAK = 0.95
TARGET_CPU_HELLOS = 8


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def page_figures(stats, seconds: float | None) -> dict:
    lat = stats.latencies
    calls = stats.cache_hits + stats.cache_misses
    return {
        "requests": len(lat),
        "rps": round(len(lat) / seconds, 1) if seconds else None,
        "p50": round(percentile(lat, 50), 1), "p95": round(percentile(lat, 95), 1),
        "p99": round(percentile(lat, 99), 1), "max": round(max(lat), 1) if lat else 0,
        "server_p50": round(percentile(stats.server_ms, 50), 1),
        "errors": stats.errors,
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "queries_mean": round(sum(stats.queries) / len(stats.queries), 1)
        if stats.queries else None,
        "queries_max": max(stats.queries) if stats.queries else None,
        "cache_hits": stats.cache_hits, "cache_misses": stats.cache_misses,
        "cache_hit_ratio": round(stats.cache_hits / calls, 3) if calls else None,
    }


def merge_figures(all_stats, seconds: float) -> dict:
    from load import PageStats

    merged = PageStats()
    for s in all_stats:
        merged.latencies += s.latencies
        merged.server_ms += s.server_ms
        merged.queries += s.queries
        merged.cache_hits += s.cache_hits
        merged.cache_misses += s.cache_misses
        merged.errors += s.errors
        for k, v in s.statuses.items():
            merged.statuses[k] += v
    return page_figures(merged, seconds)


def _fmt(value, suffix="") -> str:
    if value is None:
        return "–"
    return f"{value}{suffix}"


def targets(result: dict) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, note, met) rows."""
    rows = []
    sc = result["scenarios"]
    if "peak" in sc:
        pages = {k: v for k, v in sc["peak"]["pages"].items() if k != "ALL"}
        worst = max(pages.items(), key=lambda kv: kv[1]["p95"])
        rows.append((f"p95 < {TARGET_P95_MS} ms for every page at {sc['peak']['users']} users",
                     f"worst: {worst[0]} {worst[1]['p95']} ms",
                     "client-side, includes queueing", worst[1]["p95"] < TARGET_P95_MS))
    if "stress" in sc:
        errors = sc["stress"]["pages"]["ALL"]["errors"]
        rows.append((f"0 errors at {sc['stress']['users']} users", str(errors), "",
                     errors == 0))
    if "stress" in sc and "peak" in sc:
        peak, stress = sc["peak"]["pages"]["ALL"]["rps"], sc["stress"]["pages"]["ALL"]["rps"]
        rows.append((f"stress throughput >= {TARGET_STRESS_OF_PEAK:.0%} of the peak's (#17)",
                     f"{stress} vs {peak} req/s = {stress / peak:.2f}", "",
                     stress >= TARGET_STRESS_OF_PEAK * peak))
    if "overload" in sc and "peak" in sc:
        over, peak = sc["overload"]["pages"]["ALL"], sc["peak"]["pages"]["ALL"]
        shed = over["statuses"].get("503", 0)
        rows.append((f"overload ({sc['overload']['users']} users): throughput stays near the "
                     "peak's, late requests shed with 503 (#17)",
                     f"{over['rps']} req/s ({over['rps'] / peak['rps']:.2f} of peak), "
                     f"{shed} shed, other errors {over['errors'] - shed}, p50 {over['p50']} ms",
                     "503 = waited past REQUEST_QUEUE_BUDGET_MS", over["errors"] == shed))
    warm = result["scaling"]
    dash = sc.get("normal", {}).get("pages", {}).get("dashboard")
    if dash:
        rows.append((f"dashboard < {TARGET_DASHBOARD_MS} ms warm",
                     f"server p50 {dash['server_p50']} ms, client p50 {dash['p50']} ms "
                     f"(normal load)", "", dash["server_p50"] < TARGET_DASHBOARD_MS))
        ratio = dash["cache_hit_ratio"]
        rows.append((f"dashboard cache hit ratio >= {TARGET_HIT_RATIO:.0%}",
                     _fmt(ratio), "normal scenario", ratio is not None
                     and ratio >= TARGET_HIT_RATIO))
    page1 = warm.get("page 1")
    for label, fig in warm.items():
        if label == "page 1" or not page1:
            continue
        ratio = fig["p50"] / page1["p50"] if page1["p50"] else None
        rows.append((f"{label} within {TARGET_DEEP_RATIO}x of page 1",
                     f"{fig['p50']} ms vs {page1['p50']} ms = {ratio:.2f}x",
                     "sequential, p50", ratio is not None and ratio <= TARGET_DEEP_RATIO))
    rss = max(result["rss_final"]["max_mb"],
              *(s["rss_end"]["max_mb"] for s in sc.values()))
    rows.append((f"worker RSS < {TARGET_RSS_MB} MB", f"max {rss} MB", "",
                 rss < TARGET_RSS_MB))
    if "soak" in sc:
        soak = sc["soak"]
        start, end = soak["rss_start"]["mean_mb"], soak["rss_end"]["mean_mb"]
        growth = (end - start) / start if start else 0
        note = ("workers were recycled (max_requests) during the soak"
                if soak["workers_recycled"] else "same workers start to end")
        rows.append((f"RSS growth < {TARGET_RSS_GROWTH:.0%} over the soak",
                     f"{start} -> {end} MB mean ({growth:+.1%})", note,
                     growth < TARGET_RSS_GROWTH))
    sat = result["saturation"]
    if "hello world" in sat and "list pages" in sat:
        share = sat["list pages"]["rps"] / sat["hello world"]["rps"]
        rows.append((f"list throughput >= 1/5 of hello world",
                     f"{sat['list pages']['rps']} vs {sat['hello world']['rps']} req/s "
                     f"= {share:.2f}", "16 connections, no think time",
                     share >= TARGET_LIST_SHARE))
        goal = TARGET_LIST_SHARE_17.get(result["db"])
        if goal:
            rows.append((f"list throughput >= {goal} of hello world (#17)", f"{share:.2f}",
                         "", share >= goal))
            wide = next((f for label, f in sat.items()
                         if label.startswith("list pages, ")), None)
            if wide:  # the list pages on the hello world's worker count
                same = wide["rps"] / sat["hello world"]["rps"]
                rows.append((f"list throughput on the hello world's workers >= {goal} of "
                             "hello world (#17)", f"{wide['rps']} req/s = {same:.2f}",
                             f"{wide.get('workers')} workers each", same >= goal))
        hello_cpu = sat["hello world"].get("app_cpu_ms_per_request")
        mix_cpu = sc.get("peak", {}).get("app_cpu_ms_per_request")
        if hello_cpu and mix_cpu:
            rows.append((f"app CPU per request in the mix <= {TARGET_CPU_HELLOS}x hello world's "
                         "(#17)", f"{mix_cpu} vs {hello_cpu} ms = {mix_cpu / hello_cpu:.1f}x",
                         "peak scenario; hello world at saturation",
                         mix_cpu <= TARGET_CPU_HELLOS * hello_cpu))
    return rows


def markdown(result: dict) -> str:
    r = result
    out = [f"# Bench: size {r['size']} on {r['db']}" + (" with Redis" if r["redis"] else "")
           + f" — {r['date']}", ""]
    out += [f"- Machine: {r['machine']['cpus']} CPUs, {r['machine']['memory_gb']} GB, "
            f"Python {r['machine']['python']}. The load generator (bench/load.py, one "
            "asyncio process) runs on the same 2 cores and competes with the app: its own "
            "CPU share is given per scenario.",
            f"- gunicorn: gunicorn.conf.py ({r['gunicorn']['workers']} workers x "
            f"{r['gunicorn']['threads']} threads, gthread, max_requests "
            f"{r['gunicorn']['max_requests']}), ERP_ENV=production, plain HTTP on loopback"
            + (f"; the hello world on {r['gunicorn']['hello_workers']} workers (2 x CPUs + 1, "
               "whatever the database)" if r["gunicorn"].get("hello_workers") else "") + ".",
            f"- Data: `seed-bench --size {r['size']} --seed {r['seed']}` "
            + (f"loaded in {r['load']['seed_s']} s (migrations {r['load']['migrate_s']} s); "
               if r["load"].get("seed_s") is not None else
               f"copied from {r['load']['seeded_from']} (seeded beforehand); ")
            + f"{r['load']['orders']:,} sales orders.",
            f"- Scenarios {'full length' if r['full'] else 'shortened (BENCH_FULL=1 for full length)'}; "
            "users wait a think time between pages; latencies are client side.", ""]
    out += ["## Targets (#8)", "", "| target | measured | note | met |", "|---|---|---|---|"]
    for name, measured, note, met in targets(r):
        out.append(f"| {name} | {measured} | {note} | {'yes' if met else 'NO'} |")
    out.append("")
    for name, sc in r["scenarios"].items():
        gen = sc["generator"]
        out += [f"## Scenario {name}: {sc['users']} users, {sc['seconds']:.0f} s",
                "", f"Worker RSS {sc['rss_start']['mean_mb']} -> {sc['rss_end']['mean_mb']} MB "
                f"mean, max {sc['rss_end']['max_mb']} MB"
                + (" (workers recycled)" if sc["workers_recycled"] else "")
                + f"; load generator CPU {gen['generator_cpu_share']:.0%} of one core; "
                f"app CPU {sc.get('app_cpu_ms_per_request', '–')} ms per request (workers' "
                f"CPU time / requests); machine load average {sc.get('loadavg', '–')} "
                "(start, end; other jobs were running on the 2 cores).", "",
                "| page | req | req/s | p50 ms | p95 ms | p99 ms | server p50 ms | errors "
                "| queries/req | cache hit ratio |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for page, f in sc["pages"].items():
            out.append(f"| {page} | {f['requests']} | {f['rps']} | {f['p50']} | {f['p95']} | "
                       f"{f['p99']} | {f['server_p50']} | {f['errors']} | "
                       f"{_fmt(f['queries_mean'])} | {_fmt(f['cache_hit_ratio'])} |")
        out.append("")
    out += ["## Deep pages (sequential requests, warm)", "",
            "| page | p50 ms | p95 ms | server p50 ms | queries |", "|---|---|---|---|---|"]
    for label, f in r["scaling"].items():
        out.append(f"| {label} | {f['p50']} | {f['p95']} | {f['server_p50']} | "
                   f"{_fmt(f['queries_mean'])} |")
    out += ["", "## Saturation (16 connections, no think time)", "",
            "Cores: the workers' CPU seconds over the run's wall time, in all and per worker "
            "(each keep-alive connection stays with the worker that accepted it).", "",
            "| app | req/s | p50 ms | p95 ms | errors | app CPU ms/request | cores (per worker) "
            "| generator CPU |", "|---|---|---|---|---|---|---|---|"]
    for label, f in r["saturation"].items():
        per = " + ".join(f"{cores}" for cores in (f.get("worker_cores") or {}).values())
        out.append(f"| {label} | {f['rps']} | {f['p50']} | {f['p95']} | {f['errors']} | "
                   f"{_fmt(f.get('app_cpu_ms_per_request'))} | "
                   f"{_fmt(f.get('app_cores'))}{f' ({per})' if per else ''} | "
                   f"{f['generator']['generator_cpu_share']:.0%} |")
    out.append("")
    return "\n".join(out)


def write_scaling(results: Path) -> None:
    """bench/results/scaling.md: page 1 vs deep pages for every size and database run."""
    rows = []
    for path in sorted(results.glob("*.json")):
        r = json.loads(path.read_text())
        for label, f in r["scaling"].items():
            rows.append(f"| {r['size']} | {r['db']} | {r['load']['orders']:,} | {label} | "
                        f"{f['p50']} | {f['p95']} | {f['server_p50']} | {path.stem} |")
    text = ["# Scaling: sales order list, page 1 vs deep pages", "",
            "Sequential warm requests (30 each). Deep page = 10% into the list (page 500 of "
            "5,000 at size l); last page = the end of the list.", "",
            "| size | db | orders | page | p50 ms | p95 ms | server p50 ms | run |",
            "|---|---|---|---|---|---|---|---|", *rows, ""]
    (results / "scaling.md").write_text("\n".join(text))

"""Python function calls per request of each page of bench/profile.py (cProfile's count over
20 warm requests), and of a hello-world request: deterministic, unlike CPU time on a shared
machine, so two versions of the code compare exactly (it counts the interpreter's work,
not C code such as SQLite or a socket).

    .venv/bin/python bench/calls.py /tmp/prof-m.sqlite3
"""
from __future__ import annotations

import sys
from pathlib import Path

# bench/profile.py would shadow the standard library's `profile`, which cProfile imports
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import cProfile  # noqa: E402
import pstats  # noqa: E402
import runpy  # noqa: E402

N = 20


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    database = sys.argv[1]
    sys.argv = [str(HERE / "profile.py"), database]
    prof = runpy.run_path(str(HERE / "profile.py"), run_name="bench_profile")
    app = prof["build_app"](database)
    cookie_name, cookies, ids = prof["login_cookies"](app)
    clients = prof["Clients"](app, cookie_name, cookies)
    confirmations = prof["Confirmations"](clients, ids)
    confirm = prof["CONFIRM"]

    def hit(path: str):
        return confirmations.confirm() if path == confirm else clients.get(path)

    def calls(request, path: str = "") -> float:
        for _ in range(10):  # warm
            request(path)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(N):
            request(path)
        profiler.disable()
        return pstats.Stats(profiler).total_calls / N

    print("page\tPython calls per request")
    for page in prof["PAGES"]:
        path = page.format(**ids)
        if path == confirm:
            confirmations.prepare(N + 10)
        shown = "/sales/orders/<id>" if "orders/" in path and path != confirm else path
        print(f"{shown}\t{calls(hit, path):.0f}", flush=True)
    hello = prof["hello_client"]()
    print(f"hello world\t{calls(lambda _: hello.get('/')):.0f}")


if __name__ == "__main__":
    main()

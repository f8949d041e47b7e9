"""Where a request's CPU goes, layer by layer (`bench/profile.py --layers`).

Wraps the app's layers with timers that keep *exclusive* thread CPU time (a layer's time
minus the layers called inside it), so the rows add up to the whole request:

- each before_request / after_request / teardown hook, by name (CSRF, the limiter, the
  session lifetime check with its user loader, Talisman, monitoring ...);
- the session cookie (open and save), the view's own code, Jinja rendering, SQLAlchemy
  (statement building, compilation, ORM loading) and the database driver (cursor execute
  and fetch: SQLite runs in this process), cache reads and writes (Redis or files);
- "WSGI and Flask": what is left of the request (routing, request and response objects,
  contexts, signals).

Thread CPU (`time.thread_time`) is used, not wall time, so other work on the machine
hardly changes the figures; the wrappers themselves cost about 1 us each.
"""
from __future__ import annotations

import functools
import time
from collections import defaultdict

from sqlalchemy import event

clock = time.thread_time


class Layers:
    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.stack: list[list] = []  # [layer, start, child time]
        self.round_trips = 0  # to Redis (see instrument)

    def enter(self, layer: str) -> None:
        self.stack.append([layer, clock(), 0.0])

    def leave(self) -> None:
        layer, start, children = self.stack.pop()
        spent = clock() - start
        self.totals[layer] += spent - children
        if self.stack:
            self.stack[-1][2] += spent

    def wrap(self, layer: str, func):
        @functools.wraps(func)
        def timed(*args, **kwargs):
            self.enter(layer)
            try:
                return func(*args, **kwargs)
            finally:
                self.leave()
        return timed

    def patch(self, owner, name: str, layer: str) -> None:
        setattr(owner, name, self.wrap(layer, getattr(owner, name)))


def hook_name(func) -> str:
    func = getattr(func, "func", func)  # functools.partial (the limiter's header hook)
    module = func.__module__.split(".")[0]
    return f"{module}: {func.__name__.strip('_')}"


def instrument(app) -> Layers:
    """Put the timers into `app` (call once, after create_app)."""
    import flask.templating
    from flask_caching import Cache
    from sqlalchemy.orm import Session

    from erp.extensions import db

    layers = Layers()
    for kind, table in (("before", app.before_request_funcs),
                        ("after", app.after_request_funcs),
                        ("teardown", app.teardown_request_funcs)):
        for key, funcs in table.items():
            table[key] = [layers.wrap(f"{kind} {hook_name(f)}", f) for f in funcs]
    original_wsgi = app.wsgi_app
    app.wsgi_app = layers.wrap("WSGI and Flask", original_wsgi)
    layers.patch(app, "dispatch_request", "view code")
    layers.patch(app.session_interface, "open_session", "session cookie")
    layers.patch(app.session_interface, "save_session", "session cookie")
    flask.templating._render = layers.wrap("Jinja rendering", flask.templating._render)
    for name in ("execute", "get", "scalars", "scalar"):
        layers.patch(Session, name, "SQLAlchemy")
    for name in ("get", "get_many", "set", "set_many"):
        layers.patch(Cache, name, "cache")
    # the session's user: the loader's query and the session-version check (erp.auth),
    # timed apart from the hook that first asks for current_user
    from erp.extensions import login_manager

    login_manager._user_callback = layers.wrap("login: user loader",
                                               login_manager._user_callback)
    # round trips to Redis made by this process (a pipeline is one)
    from redis.connection import AbstractConnection

    send = AbstractConnection.send_packed_command

    def counted(connection, command, check_health=True):
        layers.round_trips += 1
        return send(connection, command, check_health)

    AbstractConnection.send_packed_command = counted

    with app.app_context():
        engine = db.engine
    # a request's first statement checks a connection out of the pool (pre-ping, the
    # pool's and monitoring's checkout events, SQLite's per-connection set-up)
    layers.patch(type(engine.pool), "connect", "connection checkout")

    @event.listens_for(engine, "before_cursor_execute")
    def before(*_):
        layers.enter("database (cursor execute)")

    @event.listens_for(engine, "after_cursor_execute")
    def after(*_):
        layers.leave()

    return layers


def report(layers: Layers, requests: int) -> list[tuple[str, float]]:
    """(layer, CPU ms per request), largest first."""
    rows = [(name, total * 1000 / requests) for name, total in layers.totals.items()]
    return sorted(rows, key=lambda row: -row[1])

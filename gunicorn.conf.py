"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`. Each value can be overridden
from the environment (GUNICORN_WORKERS or WEB_CONCURRENCY, GUNICORN_THREADS,
GUNICORN_TIMEOUT, PORT, MALLOC_ARENA_MAX)."""
import ctypes
import gc
import multiprocessing
import os
import shutil

from gunicorn.glogging import Logger

bind = f"127.0.0.1:{os.environ.get('PORT', '5000')}"

M_ARENA_MAX = -8  # glibc's malloc.h
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """At most `arenas` glibc malloc arenas per process, set in the master before it loads
    the app and forks (the workers inherit it): glibc gives each thread that meets a busy
    arena one of its own, up to 8 per core, and a worker's threads kept ~5 MB more each
    (#17, bench/results/2026-12-03-profile.md, "Session 9"). The same as MALLOC_ARENA_MAX=2 in the
    service's environment, without depending on the deployment; MALLOC_ARENA_MAX, when
    set, wins (glibc reads it itself). False where the C library is not glibc."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        return bool(ctypes.CDLL(None).mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # musl, macOS: no mallopt
        return False


limit_malloc_arenas()


def default_workers(database_url: str | None, cpus: int) -> int:
    """2 on the embedded SQLite default (`make run`, a demo: one writer at a time anyway,
    each worker about 100 MB), else 2 x cores + 1 (PostgreSQL in production)."""
    if not database_url or database_url.startswith("sqlite"):
        return 2
    return cpus * 2 + 1


workers = int(os.environ.get("GUNICORN_WORKERS") or os.environ.get("WEB_CONCURRENCY")
              or default_workers(os.environ.get("DATABASE_URL"), multiprocessing.cpu_count()))
# gunicorn's gthread worker, stamping when a request entered the queue (erp/overload.py sheds
# the ones that waited longer than REQUEST_QUEUE_BUDGET_MS)
worker_class = "erp.gunicorn_worker.QueueStampingWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200  # workers recycle at different times: memory stays bounded
preload_app = True
accesslog = "-"
errorlog = "-"
# %(M)s: the response time in milliseconds.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

QUIET_PREFIXES = ("/static/",)  # fingerprinted files: nginx serves them in production


class AccessLogWithoutStatic(Logger):
    """The access log without static files (a page brings half a dozen of them, which
    buried the requests that matter); a static file's error still shows in the error log."""

    def access(self, resp, req, environ, request_time):
        quiet = environ.get("PATH_INFO", "").startswith(QUIET_PREFIXES)
        if quiet and (getattr(resp, "status_code", None) or 0) < 400:
            return
        super().access(resp, req, environ, request_time)


logger_class = AccessLogWithoutStatic

_prom_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _prom_dir:  # a fresh folder at each start: figures of dead workers go
    shutil.rmtree(_prom_dir, ignore_errors=True)
    os.makedirs(_prom_dir)


def tune_gc():
    """Freeze the preloaded app's objects out of the garbage collector's reach, and let
    the youngest generation grow larger before a collection: a page allocates thousands
    of short-lived objects that reference counting frees anyway, and each full collection
    would otherwise walk the ~150,000 objects of the loaded app (about 0.2 ms per request
    measured with bench/profile.py). The frozen objects also stay shared with the master
    instead of being copied into each worker when the collector touches them."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(5000, 10, 10)


def when_ready(server):  # in the master, after preload_app and before the first fork
    tune_gc()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

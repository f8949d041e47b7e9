"""gunicorn's threaded worker, stamping when each request entered the thread pool's queue
(`erp.queued_at` in the WSGI environ), so the app can shed requests that waited too long
(erp/overload.py). gunicorn.conf.py names it as the worker class."""
from __future__ import annotations

import threading
import time

from gunicorn.workers.gthread import ThreadWorker

from erp.overload import QUEUED_AT


class QueueStampingWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stamp = threading.local()  # the stamp of the connection this thread handles

    def load_wsgi(self):
        super().load_wsgi()
        app, stamp = self.wsgi, self._stamp

        def stamped(environ, start_response):
            environ[QUEUED_AT] = getattr(stamp, "queued_at", None)
            return app(environ, start_response)

        self.wsgi = stamped

    def enqueue_req(self, conn):
        conn.erp_queued_at = time.time()
        super().enqueue_req(conn)

    def handle(self, conn):
        self._stamp.queued_at = getattr(conn, "erp_queued_at", None)
        return super().handle(conn)

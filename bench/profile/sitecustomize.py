"""Bench only (``intake_bench.py --count-statements``): count SQL statements per process.

Put on PYTHONPATH of the service's processes, it registers an SQLAlchemy listener that counts
every statement by its first words and table, and writes the counts to
``$CIVIL_BENCH_STATEMENTS_DIR/<pid>.json`` every few seconds and at exit. Never used by the
product.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import sys
import threading
import time
from collections import Counter

_OUT = os.environ.get("CIVIL_BENCH_STATEMENTS_DIR")

if _OUT:
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    _shape = re.compile(r"\s+")

    def _key(statement: str) -> str:
        words = _shape.sub(" ", statement.strip()).split(" ")
        verb = words[0].upper()
        table = ""
        for marker in ("FROM", "INTO", "UPDATE"):
            if marker in (w.upper() for w in words):
                index = [w.upper() for w in words].index(marker)
                if index + 1 < len(words):
                    table = words[index + 1].strip('"(')
                    break
        if verb == "UPDATE":
            table = words[1] if len(words) > 1 else ""
        return f"{verb} {table}".strip()

    def _dump() -> None:
        with lock:
            data = {"argv": sys.argv[:3], "counts": dict(counts)}
        path = os.path.join(_OUT, f"{os.getpid()}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(data, f)
        os.replace(path + ".tmp", path)

    def _install() -> None:
        try:
            from sqlalchemy import event
            from sqlalchemy.engine import Engine
        except ImportError:
            return

        @event.listens_for(Engine, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):
            with lock:
                counts[_key(statement)] += 1

        @event.listens_for(Engine, "commit")
        def _commit(conn):
            with lock:
                counts["COMMIT"] += 1

        def _loop() -> None:
            while True:
                time.sleep(2)
                if counts:
                    _dump()

        def _child() -> None:
            # A forked child (gunicorn worker, prefork process) counts its own statements.
            globals()["lock"] = threading.Lock()
            counts.clear()
            threading.Thread(target=_loop, daemon=True).start()

        threading.Thread(target=_loop, daemon=True).start()
        os.register_at_fork(after_in_child=_child)
        atexit.register(lambda: counts and _dump())

    _install()

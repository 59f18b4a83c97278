"""export-all and import-all on a demo program of a given scale: time, size, memory.

    .venv/bin/python benchmarks/backup.py [--scale demo|california|national]
    .venv/bin/python benchmarks/backup.py --smoke   # `make test`: the demo, counts checked
    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/backup.py --scale national

With TEST_DATABASE_URL the databases are fresh PostgreSQL schemas (dropped afterwards);
otherwise SQLite files. Each step runs in its own process, so its peak memory (max RSS)
is its own. The baseline, measured in the same run on the same data: the naive way,
every table read into one in-memory document and written with one json.dump, then
read back with json.load and inserted with plain executemany (no streaming, no checks).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mentorship import create_app  # noqa: E402
from mentorship.extensions import db  # noqa: E402
from mentorship.services import backup  # noqa: E402
from tests.conftest import app_settings  # noqa: E402
from tests.databases import fresh_database  # noqa: E402


def _app(url: str):
    return create_app(app_settings(url, 25))


def _report(queue, started: float, **figures) -> None:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"seconds": time.perf_counter() - started, "peak_mb": peak_mb, **figures})


def ours_export(queue, url: str, path: str) -> None:
    with _app(url).app_context():
        started = time.perf_counter()
        counts = backup.write_backup(path)
        _report(queue, started, rows=sum(counts.values()))


def ours_import(queue, url: str, path: str) -> None:
    with _app(url).app_context():
        started = time.perf_counter()
        counts = backup.read_backup(path)
        _report(queue, started, rows=sum(counts.values()))


def naive_export(queue, url: str, path: str) -> None:
    with _app(url).app_context(), db.engine.connect() as connection:
        started = time.perf_counter()
        document = {}
        for table in backup.tables():
            rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns))
            document[table.name] = [dict(row._mapping) for row in rows]
        Path(path).write_text(json.dumps(document, default=str))
        _report(queue, started)


def naive_import(queue, url: str, path: str) -> None:
    with _app(url).app_context(), db.engine.begin() as connection:
        started = time.perf_counter()
        document = json.loads(Path(path).read_text())
        for table in backup.tables():
            if table.name in backup.REFERENCE_TABLES:
                connection.execute(table.delete())
            decoders = {c.key: backup._decoder(c) for c in table.columns}
            rows = [
                {k: (decoders[k](v) if v is not None and decoders[k] else v) for k, v in r.items()}
                for r in document[table.name]
            ]
            deferred = [c.name for c in table.columns if c.name == "parent_id"]
            for row in rows:  # self-references: this baseline simply skips them
                row.update(dict.fromkeys(deferred))
            if rows:
                connection.execute(table.insert(), rows)
        _report(queue, started)


def in_child(function, *args) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=function, args=(queue, *args))
    process.start()
    result = queue.get()
    process.join()
    return result


def migrated(url: str) -> None:
    with _app(url).app_context():
        upgrade()
        db.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=["demo", "california", "national"], default="demo")
    parser.add_argument("--smoke", action="store_true", help="the demo (the smallest scale)")
    args = parser.parse_args()
    scale = "demo" if args.smoke else args.scale
    with (
        tempfile.TemporaryDirectory() as folder,
        fresh_database(Path(folder)) as source,
        fresh_database(Path(folder)) as target,
        fresh_database(Path(folder)) as naive_target,
    ):
        for url in (source, target, naive_target):
            migrated(url)
        app = _app(source)
        with app.app_context():
            started = time.perf_counter()
            if scale == "demo":
                from mentorship import demo

                demo.seed_demo()
            else:
                from mentorship.demo import scale as demo_scale

                demo_scale.seed(scale)
            db.session.commit()
            print(f"{scale} program loaded in {time.perf_counter() - started:.1f} s")
            db.engine.dispose()

        path = str(Path(folder) / "backup.json")
        naive_path = str(Path(folder) / "naive.json")
        results = {
            "export-all": in_child(ours_export, source, path),
            "import-all": in_child(ours_import, target, path),
            "baseline export": in_child(naive_export, source, naive_path),
            "baseline import": in_child(naive_import, naive_target, naive_path),
        }
        rows = results["export-all"]["rows"]
        size, naive_size = (Path(p).stat().st_size / 2**20 for p in (path, naive_path))
        print(f"{rows:,} rows on {sa.make_url(source).get_backend_name()}")
        print(f"file: {size:.1f} MiB (baseline {naive_size:.1f} MiB)")
        for name, figures in results.items():
            print(
                f"{name:<16} {figures['seconds']:7.1f} s  {rows / figures['seconds']:9,.0f} rows/s"
                f"  peak memory {figures['peak_mb']:7.0f} MB"
            )
        # The restored database holds what the source held, table by table.
        source_rows, target_rows = (table_counts(url) for url in (source, target))
        ok = rows == results["import-all"]["rows"] == sum(source_rows.values()) > 0
        ok = ok and source_rows == target_rows
        print("count check:", "OK" if ok else f"MISMATCH {source_rows} != {target_rows}")
        return 0 if ok else 1


def table_counts(url: str) -> dict[str, int]:
    with _app(url).app_context():
        counts = {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in backup.tables()
        }
        db.engine.dispose()
    return counts


if __name__ == "__main__":
    sys.exit(main())

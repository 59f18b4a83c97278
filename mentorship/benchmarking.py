"""Probes for `benchmarks/pages.py`, on only with BENCHMARK_PROBES=1 (never in production).

- every response says how many SQL statements it ran (`X-SQL-Statements`);
- `/_floor?bytes=N` renders the base layout around N bytes of text without touching
  the database: what a page costs the framework alone, measured in the same run.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, g, render_template_string, request

from .extensions import db

FLOOR_TEMPLATE = """{% extends "base.html" %}{% block title %}Floor{% endblock %}
{% block content %}<h1>Floor</h1><p>{{ filler }}</p>{% endblock %}"""


def register(app: Flask) -> None:
    if not app.config.get("BENCHMARK_PROBES"):
        return

    def count(*_args) -> None:
        if "sql_statements" in g:
            g.sql_statements += 1

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)

    @app.before_request
    def start_counting() -> None:
        g.sql_statements = 0

    @app.after_request
    def report_count(response):
        response.headers["X-SQL-Statements"] = str(g.get("sql_statements", 0))
        return response

    @app.get("/_floor")
    def floor():
        size = min(max(request.args.get("bytes", 1000, type=int), 0), 5_000_000)
        return render_template_string(FLOOR_TEMPLATE, filler="x" * size)

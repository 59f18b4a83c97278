"""The mentor–pilot library program: create_app builds the web application."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import benchmarking, caching, security
from .config import check_settings, load_settings
from .extensions import csrf, db, limiter, login_manager, migrate


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_settings(app.instance_path))
    app.config.update(config or {})
    check_settings(app.config)
    if app.config.get("TESTING"):
        from .services.auth import use_fast_hashing_for_tests

        use_fast_hashing_for_tests()
    logging.basicConfig(level=logging.INFO)

    trust_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_errors(app)
    security.register(app)
    register_template_helpers(app)
    register_commands(app)
    benchmarking.register(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_HOPS proxies, the client's address and scheme come from them."""
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (the schema must be known before use)
    from .models.base import render_migration_item
    from .services.auth import load_user_from_cookie

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_item=render_migration_item)
    csrf.init_app(app)
    limiter.init_app(app)
    caching.configure(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user_from_cookie)


def _migrations_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "migrations"


def register_blueprints(app: Flask) -> None:
    from .blueprints.api import bp as api_bp
    from .blueprints.api_tokens import bp as api_tokens_bp
    from .blueprints.audit import bp as audit_bp
    from .blueprints.auth import bp as auth_bp
    from .blueprints.calendar import bp as calendar_bp
    from .blueprints.case_studies import bp as case_studies_bp
    from .blueprints.checkins import bp as checkins_bp
    from .blueprints.cohorts import bp as cohorts_bp
    from .blueprints.districts import bp as districts_bp
    from .blueprints.help import bp as help_bp
    from .blueprints.home import bp as home_bp
    from .blueprints.imports import bp as imports_bp
    from .blueprints.legislative import bp as legislative_bp
    from .blueprints.libraries import bp as libraries_bp
    from .blueprints.pairing import bp as pairing_bp
    from .blueprints.partnerships import bp as partnerships_bp
    from .blueprints.people import bp as people_bp
    from .blueprints.reminders import bp as reminders_bp
    from .blueprints.rollup import bp as rollup_bp
    from .blueprints.timeline import bp as timeline_bp
    from .blueprints.toolkit import bp as toolkit_bp

    for blueprint in (
        home_bp,
        auth_bp,
        libraries_bp,
        districts_bp,
        cohorts_bp,
        people_bp,
        audit_bp,
        pairing_bp,
        partnerships_bp,
        timeline_bp,
        toolkit_bp,
        help_bp,
        checkins_bp,
        reminders_bp,
        imports_bp,
        calendar_bp,
        case_studies_bp,
        api_bp,
        api_tokens_bp,
        rollup_bp,
        legislative_bp,
    ):
        app.register_blueprint(blueprint)


def register_errors(app: Flask) -> None:
    from .blueprints.errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from .templating import register

    register(app)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)

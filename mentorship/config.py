"""Settings, read from the environment once when the app is created.

Production (the default) refuses to start without a SECRET_KEY and sends cookies only
over HTTPS. `MENTORSHIP_ENV=development` (what `make run` sets) keeps a generated key in
`instance/` and allows plain http on 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _development_secret(instance_path: Path) -> str:
    """A key kept in instance/ so sessions survive a restart of `make run`."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_settings(instance_path: str) -> dict:
    env = os.environ.get("MENTORSHIP_ENV", "production").lower()
    development = env == "development"
    instance = Path(instance_path)
    default_db = f"sqlite:///{instance / 'mentorship.sqlite'}"

    secret_key = os.environ.get("SECRET_KEY") or (
        _development_secret(instance) if development else None
    )
    return {
        "ENV_NAME": env,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or default_db,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "TIME_ZONE": os.environ.get("TIME_ZONE", "America/Los_Angeles"),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000"),
        # Mail: with no MAIL_SERVER, messages are written to the log instead of sent.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        # Empty: "Student Success Initiative <no-reply@BASE_URL's host>" (mail.default_sender).
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", ""),
        "MAIL_LANGUAGE": os.environ.get("MAIL_LANGUAGE", "en"),  # the HTML part's lang
        "MAIL_TIMEOUT": _int("MAIL_TIMEOUT", 10),
        "PASSWORD_LINK_MAX_AGE": _int("PASSWORD_LINK_MAX_AGE", 72 * 3600),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", not development),
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", not development),
        "SESSION_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PER_PAGE": _int("PER_PAGE", 25),
        # The toolkit's Markdown files (the single source; edits go through the repository).
        "TOOLKIT_DIR": os.environ.get(
            "TOOLKIT_DIR", str(Path(__file__).resolve().parent.parent / "toolkit_content")
        ),
        # The Help guide, edited through the repository like the toolkit.
        "HELP_DIR": os.environ.get(
            "HELP_DIR", str(Path(__file__).resolve().parent.parent / "help_content")
        ),
        # Counts must be shared by every gunicorn worker: production refuses memory://.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "mentorship"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # A refusal says when to try again (Retry-After) and what the limit is.
        "RATELIMIT_HEADERS_ENABLED": True,
        # How many proxies in front of the app set X-Forwarded-For/-Proto/-Host (1 behind
        # one nginx or load balancer). 0 trusts none: behind a proxy every request would
        # seem to come from the proxy, and the limits per address would count everyone
        # together. Never more than the proxies you run: the header can be forged.
        "TRUSTED_PROXY_HOPS": _int("TRUSTED_PROXY_HOPS", 0),
        # Sign-in and "forgot password" attempts from one address (any account) ...
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # ... and for one account (from any address): slows guessing spread over many hosts.
        "LOGIN_ACCOUNT_RATE_LIMIT": os.environ.get(
            "LOGIN_ACCOUNT_RATE_LIMIT", "5 per minute; 30 per hour"
        ),
        # Any request body; larger ones get the 413 page. The CSV import has its own limit
        # (a 2 MB file, services/importing.py), which its pages allow for themselves.
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 1024 * 1024),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # Reminders (services/reminders.py): days before / after, and the weekly digest
        # (weekday 0 = Monday, hour in TIME_ZONE). Texts: REMINDER_TEXTS in a config file.
        "REMINDER_CHECKIN_DUE_DAYS": _int("REMINDER_CHECKIN_DUE_DAYS", 3),
        "REMINDER_CHECKIN_OVERDUE_DAYS": _int("REMINDER_CHECKIN_OVERDUE_DAYS", 7),
        "REMINDER_MILESTONE_DUE_DAYS": _int("REMINDER_MILESTONE_DUE_DAYS", 14),
        "REMINDER_MILESTONE_LATE_TIMES": _int("REMINDER_MILESTONE_LATE_TIMES", 4),
        "REMINDER_AGREEMENT_DAYS": [
            int(days) for days in os.environ.get("REMINDER_AGREEMENT_DAYS", "90,30").split(",")
        ],
        "REMINDER_DIGEST_WEEKDAY": _int("REMINDER_DIGEST_WEEKDAY", 0),
        "REMINDER_DIGEST_HOUR": _int("REMINDER_DIGEST_HOUR", 8),
        "REMINDER_MAX_AGE_DAYS": _int("REMINDER_MAX_AGE_DAYS", 7),
        # Delivery (services/outbox.py).
        "OUTBOX_MAX_ATTEMPTS": _int("OUTBOX_MAX_ATTEMPTS", 5),
        "OUTBOX_RETRY_SECONDS": _int("OUTBOX_RETRY_SECONDS", 60),
        # A claim not refreshed this long is taken over: its sender died (a live sender
        # refreshes its claim with every group of messages).
        "OUTBOX_CLAIM_TIMEOUT": _int("OUTBOX_CLAIM_TIMEOUT", 300),
        # Rows a sender claims at a time (each group of OUTBOX_CONNECTIONS refreshes them).
        "OUTBOX_CLAIM_BATCH": _int("OUTBOX_CLAIM_BATCH", 1000),
        # Times an unconfirmed message (no reply to its final dot) is sent again with the
        # same Message-ID: 0 never repeats a message (it is shown to staff instead).
        "OUTBOX_RESEND_UNCONFIRMED": _int("OUTBOX_RESEND_UNCONFIRMED", 0),
        # SMTP connections per sender: one commit records a message in flight on each.
        "OUTBOX_CONNECTIONS": _int("OUTBOX_CONNECTIONS", 16),
        # When a pilot needs attention or is at risk (see services/risk.py).
        "ROLLUP_CACHE_SECONDS": _int("ROLLUP_CACHE_SECONDS", 60),
        # Share the computed figures between web processes (Redis); empty: per process.
        "ROLLUP_CACHE_URL": os.environ.get("ROLLUP_CACHE_URL", ""),
        "BENCHMARK_PROBES": _bool("BENCHMARK_PROBES", False),  # benchmarks/pages.py only
        "RISK_LATE_RISK_DAYS": _int("RISK_LATE_RISK_DAYS", 30),
        "RISK_QUIET_ATTENTION_DAYS": _int("RISK_QUIET_ATTENTION_DAYS", 60),
        "RISK_QUIET_RISK_DAYS": _int("RISK_QUIET_RISK_DAYS", 90),
        "RISK_END_WINDOW_MONTHS": _int("RISK_END_WINDOW_MONTHS", 2),
        "RISK_CHECKIN_OVERDUE_RISK_DAYS": _int("RISK_CHECKIN_OVERDUE_RISK_DAYS", 30),
        "RISK_NO_CHECKIN_ATTENTION_DAYS": _int("RISK_NO_CHECKIN_ATTENTION_DAYS", 45),
        "RISK_NO_CHECKIN_RISK_DAYS": _int("RISK_NO_CHECKIN_RISK_DAYS", 60),
        # No active pairing this long after the start (or the last pairing's end): the
        # kick-off with the mentor is due in month 1, and an unpaired pilot should fare
        # no better than a paired one with no check-in (RISK_NO_CHECKIN_*).
        "RISK_UNPAIRED_ATTENTION_DAYS": _int("RISK_UNPAIRED_ATTENTION_DAYS", 30),
        "RISK_UNPAIRED_RISK_DAYS": _int("RISK_UNPAIRED_RISK_DAYS", 60),
        # Days a step given to a running pilot (a published plan change, a district added
        # with a past first contact) has before it is due (services/milestones.py).
        "STEP_GRACE_DAYS": _int("STEP_GRACE_DAYS", 30),
    }


class UnsafeConfiguration(RuntimeError):
    """Raised at start-up when production settings are missing or unsafe."""


MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_DISTINCT = 10
# Long enough, but published: Flask's documentation prints this one, and it is copied
# into many projects. (Shorter placeholders, "dev", "change-me", fail on length.)
KNOWN_SECRET_KEYS = {"192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf"}


def check_settings(config: dict) -> None:
    if config.get("TESTING"):
        return
    if not config.get("SECRET_KEY"):
        raise UnsafeConfiguration(
            "SECRET_KEY is not set. Set it in the environment (or MENTORSHIP_ENV=development)."
        )
    # A key copied from an example, or short enough to guess, lets anyone sign a session
    # cookie or a set-password link for any account.
    key = str(config["SECRET_KEY"])
    if config.get("ENV_NAME") != "development" and (
        len(key) < MIN_SECRET_KEY_LENGTH
        or key.strip().lower() in KNOWN_SECRET_KEYS
        # 32 of the same character (or "abab…") is long but guessable: a random key of
        # that length has far more distinct characters.
        or len(set(key)) < MIN_SECRET_KEY_DISTINCT
    ):
        raise UnsafeConfiguration(
            f"SECRET_KEY is an example value or shorter than {MIN_SECRET_KEY_LENGTH} "
            'characters. Make one with: python -c "import secrets; print(secrets.token_hex(32))"'
        )
    # Each gunicorn worker would count on its own: N workers allow N times the limit.
    if (
        config.get("ENV_NAME") != "development"
        and config.get("RATELIMIT_ENABLED", True)
        and str(config.get("RATELIMIT_STORAGE_URI", "memory://")).startswith("memory://")
    ):
        raise UnsafeConfiguration(
            "RATELIMIT_STORAGE_URI is memory://, which each worker keeps apart. Set it to the "
            "shared Redis, e.g. redis://127.0.0.1:6379 (or MENTORSHIP_ENV=development)."
        )
    # Mail "from localhost" is refused or marked as spam by most receivers.
    if config.get("ENV_NAME") != "development" and config.get("MAIL_SERVER"):
        import ipaddress

        from .mail import default_sender, sender_domain

        domain = sender_domain(default_sender(config)).lower().strip("[]")
        try:
            ipaddress.ip_address(domain)
            is_address = True
        except ValueError:
            is_address = False
        if (
            domain == "localhost"
            or domain.endswith(".localhost")
            or "." not in domain
            or is_address
        ):
            raise UnsafeConfiguration(
                f"Mail would be sent from {default_sender(config)!r}. Set MAIL_DEFAULT_SENDER "
                "(or BASE_URL) to the site's own domain (or MENTORSHIP_ENV=development)."
            )

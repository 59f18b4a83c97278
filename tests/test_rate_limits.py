"""Sign-in abuse: attempts are counted per address and per account, in the Redis store
that every gunicorn worker shares (the real server at 127.0.0.1:6379, as in CI).

Each run writes under its own key prefix and deletes its keys afterwards, so runs side
by side (SQLite, PostgreSQL, other people's) never see each other's counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

from mentorship import create_app
from mentorship.config import UnsafeConfiguration
from mentorship.extensions import db
from tests.conftest import Browserless, app_settings
from tests.helpers import PASSWORD, make_user

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
# The storage's own prefix (not RATELIMIT_KEY_PREFIX, which the one Limiter object of a
# process keeps from the first app that set it): every key this run writes starts so.
RUN_PREFIX = f"mentorship-test-{uuid.uuid4().hex[:12]}"
REDIS_SETTINGS = {
    "RATELIMIT_STORAGE_URI": REDIS_URL,
    "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": RUN_PREFIX},
}


@pytest.fixture(scope="module")
def store():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(
            f"Redis at {REDIS_URL} is not reachable ({error}). The rate-limit tests need it: "
            "start it with `redis-server --daemonize yes --port 6379 --save ''`."
        )
    yield client
    keys = list(client.scan_iter(f"{RUN_PREFIX}*"))
    if keys:
        client.delete(*keys)
    client.close()


def _settings(app, smtp_server, **limits) -> dict:
    return {
        **app_settings(app.config["SQLALCHEMY_DATABASE_URI"], smtp_server.port),
        **REDIS_SETTINGS,
        "RATELIMIT_ENABLED": True,
        **limits,
    }


@pytest.fixture
def limited(app, smtp_server, store, request):
    """An app (one "worker") with the limits the test asks for, counting in Redis."""
    limits = getattr(request, "param", {})
    worker = create_app(_settings(app, smtp_server, **limits))
    yield worker
    with worker.app_context():
        db.engine.dispose()


# A second worker is a second process, as gunicorn's are: its own Limiter, its own memory.
WORKER = """
import json, sys
from mentorship import create_app
from tests.conftest import Browserless
settings, attempts = json.loads(sys.argv[1]), json.loads(sys.argv[2])
client = Browserless(create_app(settings).test_client())
print(json.dumps([
    client.submit(path, {"email": email, "password": "wrong password"},
                  environ_base={"REMOTE_ADDR": address}).status_code
    for path, email, address in attempts
]))
"""


def other_worker(settings: dict, attempts: list[tuple[str, str, str]]) -> list[int]:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps(settings), json.dumps(attempts)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def attempt(client, email: str, address: str, path: str = "/login"):
    return client.submit(
        path, {"email": email, "password": "wrong password"}, environ_base={"REMOTE_ADDR": address}
    )


ADDRESS_LIMIT = {"LOGIN_RATE_LIMIT": "3 per minute", "LOGIN_ACCOUNT_RATE_LIMIT": "100 per minute"}
ACCOUNT_LIMIT = {"LOGIN_RATE_LIMIT": "100 per minute", "LOGIN_ACCOUNT_RATE_LIMIT": "3 per minute"}


@pytest.mark.parametrize("limited", [ADDRESS_LIMIT], indirect=True)
def test_two_workers_share_one_count_in_redis(limited, app, smtp_server):
    client = Browserless(limited.test_client())
    here = [attempt(client, f"guess{n}@t.example", "10.0.0.1").status_code for n in (1, 2)]
    there = other_worker(
        _settings(app, smtp_server, **ADDRESS_LIMIT),
        [("/login", "guess3@t.example", "10.0.0.1"), ("/login", "guess4@t.example", "10.0.0.1")],
    )
    assert here + there == [400, 400, 400, 429]
    # And back in the first worker: still refused, with the layout's page.
    refused = attempt(client, "guess5@t.example", "10.0.0.1")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "Too many attempts" in page and "Skip to main content" in page
    # Another address is not affected.
    assert attempt(client, "guess6@t.example", "10.0.0.2").status_code == 400


@pytest.mark.parametrize("limited", [ACCOUNT_LIMIT], indirect=True)
def test_typing_someones_email_over_and_over_cannot_lock_them_out_from_elsewhere(
    limited, app, store
):
    with app.app_context():
        make_user("staff", email="dana@plp.example")
    client = Browserless(limited.test_client())
    spellings = ["dana@plp.example", "Dana@PLP.example", " DANA@plp.example "]
    statuses = [attempt(client, email, "10.1.0.1").status_code for email in spellings]
    assert statuses == [400, 400, 400]
    # From that address, the account is slowed: even the right password waits, and the
    # refusal says how long (Retry-After, in seconds).
    blocked = client.submit(
        "/login",
        {"email": "dana@plp.example", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.1.0.1"},
    )
    assert blocked.status_code == 429 and "Too many attempts" in blocked.get_data(as_text=True)
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    # Dana, from her own desk, signs in at once; another account from the typist's
    # address is fine too, and so is asking for a link.
    dana = Browserless(limited.test_client())
    signed_in = dana.submit(
        "/login",
        {"email": "dana@plp.example", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.1.0.2"},
    )
    assert signed_in.status_code == 302
    assert attempt(client, "someone.else@plp.example", "10.1.0.1").status_code == 400
    reset = attempt(client, "dana@plp.example", "10.1.0.1", path="/forgot-password")
    assert reset.status_code == 302
    # The store holds digests, never the address itself.
    keys = [key.decode() for key in store.scan_iter(f"{RUN_PREFIX}*")]
    assert keys and not any("dana" in key.lower() or "@" in key for key in keys)


PROXIED = {**ADDRESS_LIMIT, "TRUSTED_PROXY_HOPS": 1}


@pytest.mark.parametrize("limited", [PROXIED], indirect=True)
def test_behind_the_https_proxy_each_person_counts_apart(limited):
    """Every request reaches the app from the proxy's address; with TRUSTED_PROXY_HOPS=1
    the client's address comes from X-Forwarded-For, so one person's typos lock out
    only that person."""
    client = Browserless(limited.test_client())

    def through_proxy(email: str, client_address: str):
        return client.submit(
            "/login",
            {"email": email, "password": "wrong password"},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
            headers={"X-Forwarded-For": client_address},
        )

    statuses = [through_proxy(f"g{n}@t.example", "203.0.113.5").status_code for n in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert through_proxy("someone@t.example", "198.51.100.7").status_code == 400


@pytest.mark.parametrize("limited", [ADDRESS_LIMIT], indirect=True)
def test_one_address_is_limited_across_accounts_on_both_pages(limited):
    client = Browserless(limited.test_client())
    statuses = [attempt(client, f"user{n}@t.example", "10.2.0.1").status_code for n in range(4)]
    assert statuses == [400, 400, 400, 429]
    resets = [
        attempt(client, f"user{n}@t.example", "10.2.0.1", "/forgot-password").status_code
        for n in range(4)
    ]
    assert resets == [302, 302, 302, 429]


@pytest.mark.parametrize("limited", [ACCOUNT_LIMIT], indirect=True)
def test_forgot_password_is_limited_per_account_too(limited, app, mailbox):
    with app.app_context():
        make_user("mentor", email="grace@library.example")
    client = Browserless(limited.test_client())
    statuses = []
    for _ in range(4):
        response = attempt(client, "grace@library.example", "10.3.0.1", "/forgot-password")
        statuses.append(response.status_code)
        response.close()  # the server closes it: the email goes then
    assert statuses == [302, 302, 302, 429]
    assert len(mailbox.messages) == 3  # nobody's inbox is flooded


def test_production_refuses_an_in_memory_rate_limit_store(monkeypatch):
    monkeypatch.setenv("MENTORSHIP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-key-0123456789-abcdefghij")
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    with pytest.raises(UnsafeConfiguration, match="RATELIMIT_STORAGE_URI"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    with pytest.raises(UnsafeConfiguration, match="RATELIMIT_STORAGE_URI"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    # Development (one process) may count in memory.
    monkeypatch.setenv("MENTORSHIP_ENV", "development")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"]

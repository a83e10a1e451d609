"""A run reuses a running API instead of starting one: `make server`'s, or the server a
previous run kept (checked without starting any server)."""

import json

from prefect.settings import PREFECT_API_URL, temporary_settings

from flows import _api, _kept_api


def test_a_running_local_server_is_used_and_left_running(monkeypatch):
    monkeypatch.setenv("PDEFORGE_LOCAL_API", "http://127.0.0.1:4200/api")
    monkeypatch.setattr(_api, "_healthy", lambda url, timeout=2.0: url.endswith(":4200/api"))
    monkeypatch.setattr(_api.RunAPI, "start", lambda self: (_ for _ in ()).throw(
        AssertionError("started a server")))
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        _api.start_api_early()
        with _api.shared_prefect_api() as url:
            assert url == "http://127.0.0.1:4200/api"


def test_the_kept_server_of_an_earlier_run_is_reused(monkeypatch, tmp_path):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    (tmp_path / "pdeforge-api.json").write_text(json.dumps({"url": "http://k/api", "pid": 1}))
    monkeypatch.setattr(_kept_api, "_start", lambda *a: (_ for _ in ()).throw(
        AssertionError("started a server")))
    with _kept_api.kept_api(lambda url: url == "http://k/api") as url:
        assert url == "http://k/api"


def test_idle_minutes_zero_keeps_no_server(monkeypatch):
    monkeypatch.setenv("PDEFORGE_API_IDLE_MINUTES", "0")
    assert _kept_api.idle_minutes() == 0
    monkeypatch.setenv("PDEFORGE_API_IDLE_MINUTES", "2.5")
    assert _kept_api.idle_minutes() == 2.5

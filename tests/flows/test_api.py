"""One Prefect API per run: started by the flow process when none is configured, used by
every Dask worker process, and stopped when the run ends."""

import httpx
import pytest
from prefect import flow, task
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows._api import shared_prefect_api
from flows.runners import local_cluster_runner


@task
def api_seen_by_the_worker() -> str:
    import os

    return f"{PREFECT_API_URL.value()} pid {os.getpid()}"


@flow
def probe() -> str:
    return api_seen_by_the_worker.submit().result()


def test_a_run_without_a_server_starts_one_api_that_workers_use_and_stops_it():
    import os

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert not PREFECT_API_URL.value()
        with shared_prefect_api() as url:
            assert httpx.get(f"{url}/health", timeout=10).status_code == 200
            seen = probe.with_options(task_runner=local_cluster_runner(1))()
            assert seen.startswith(f"{url} pid ") and seen != f"{url} pid {os.getpid()}"
        with pytest.raises(httpx.ConnectError):  # nothing left running after the run
            httpx.get(f"{url}/health", timeout=10)


def test_a_configured_api_is_used_as_it_is(prefect_harness):
    configured = PREFECT_API_URL.value()
    with shared_prefect_api() as url:
        assert url == configured
    assert httpx.get(f"{configured}/health", timeout=10).status_code == 200

"""The writer lock: one holder process at a time, released by the kernel even on SIGKILL."""

import os
import signal
import subprocess
import sys

import pytest

import storage

HOLD = """
import sys, time, storage
with storage.writer_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(600)
"""


def _holder(url: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_process_is_refused_until_the_holder_is_killed(tmp_path):
    url = str(tmp_path / "d.zarr")
    proc = _holder(url)
    try:
        with pytest.raises(storage.StorageError, match=f"pid {proc.pid}"), \
                storage.writer_lock(url):
            pass
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with storage.writer_lock(url):  # the kernel dropped the killed holder's lock
        assert storage.lock_path(url).read_text().strip() == str(os.getpid())
    assert not (tmp_path / "d.zarr").exists()  # locking never touches the store


def test_reentrant_in_the_holding_process_and_released_after(tmp_path):
    url = f"file://{tmp_path / 'd.zarr'}"
    with storage.writer_lock(url), storage.writer_lock(url):
        pass
    proc = subprocess.run([sys.executable, "-c", HOLD.replace("time.sleep(600)", ""), url],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "held", proc.stderr


def test_other_url_schemes_have_no_os_lock():
    assert storage.lock_path("memory://x.zarr") is None
    with storage.writer_lock("memory://x.zarr"), storage.writer_lock("memory://x.zarr"):
        pass


def test_the_lock_file_is_removed_on_release(tmp_path):
    url = str(tmp_path / "d.zarr")
    with storage.writer_lock(url):
        assert storage.lock_path(url).is_file()
    assert not storage.lock_path(url).exists()
    with storage.writer_lock(url):  # taken again on a fresh file
        assert storage.lock_path(url).read_text().strip() == str(os.getpid())
    assert list(tmp_path.iterdir()) == []

"""Whole-file writes (checkpoints, bandit states, exports) replace the old file or nothing."""

import pytest

from storage import atomic_path


def test_a_finished_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "deep" / "state.json"
    with atomic_path(target) as partial:
        partial.write_text("first")
        assert partial.parent == target.parent and partial != target and not target.exists()
    with atomic_path(target) as partial:
        partial.write_text("second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def test_a_failed_write_keeps_the_old_file_whole(tmp_path):
    target = tmp_path / "model.pt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="killed"), atomic_path(target) as partial:
        partial.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]

"""The one safe writer (firmware.atomicfile): never through a planted link, its own mode whatever the umask."""

from __future__ import annotations

import os
import stat

import pytest

from firmware.atomicfile import UnsafeTarget, atomic_writer, make_dirs, write_atomic


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def plant_victim(path, data=b"root:x:0:0\n" * 10, file_mode=0o640):
    path.write_bytes(data)
    os.chmod(path, file_mode)
    return data


def test_a_symlink_at_the_target_name_is_refused_and_what_it_points_to_untouched(tmp_path):
    victim = tmp_path / "victim"
    data = plant_victim(victim)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "kassa.toml").symlink_to(victim)
    with pytest.raises(UnsafeTarget, match="symbolic link"):
        write_atomic(tmp_path / "out" / "kassa.toml", b"new", 0o644)
    assert victim.read_bytes() == data and mode(victim) == 0o640  # the old writer chmodded it 0644
    assert os.path.islink(tmp_path / "out" / "kassa.toml")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["kassa.toml"]  # no temp file left


def test_a_directory_or_fifo_at_the_target_name_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "f")
    for name in ("d", "f"):
        with pytest.raises(UnsafeTarget, match="not a regular file"):
            write_atomic(tmp_path / name, b"x")


def test_links_at_any_temp_name_the_old_writer_used_are_never_followed(tmp_path):
    victim = tmp_path / "victim"
    data = plant_victim(victim)
    target = tmp_path / "clerks.json"
    (tmp_path / f".clerks.json.tmp-{os.getpid()}").symlink_to(victim)
    (tmp_path / "clerks.json.tmp").symlink_to(victim)
    write_atomic(target, b"{}")
    assert target.read_bytes() == b"{}" and victim.read_bytes() == data and mode(victim) == 0o640


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_the_mode_is_set_on_the_fd_whatever_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "secret", b"s")
        write_atomic(tmp_path / "public", b"p", 0o644)
        made = make_dirs(tmp_path / "a" / "b", 0o700, 0o755)
    finally:
        os.umask(old)
    assert (mode(tmp_path / "secret"), mode(tmp_path / "public")) == (0o600, 0o644)
    assert made == [tmp_path / "a", tmp_path / "a" / "b"]
    assert (mode(tmp_path / "a"), mode(tmp_path / "a" / "b")) == (0o755, 0o700)


def test_make_dirs_leaves_an_existing_directory_as_it_was(tmp_path):
    (tmp_path / "held").mkdir()
    os.chmod(tmp_path / "held", 0o751)
    assert make_dirs(tmp_path / "held", 0o700) == [] and mode(tmp_path / "held") == 0o751


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "catalog.json"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_writer(target) as out:
            out.write(b"half")
            raise RuntimeError("power cut stand-in")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["catalog.json"]


def test_the_owner_is_set_before_the_file_gets_its_name(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("fchown to another user needs root (CI and the appliance run as root)")
    write_atomic(tmp_path / "broker.pass", b"pw", owner=(65534, 65534))
    st = os.stat(tmp_path / "broker.pass")
    assert (st.st_uid, st.st_gid, mode(tmp_path / "broker.pass")) == (65534, 65534, 0o600)


def test_one_implementation_for_the_register_and_the_fleet():
    """The fleet may import only firmware.contract, so the writer lives there; the register's path is the same code."""
    import firmware.atomicfile as register_path
    import firmware.contract.atomicfile as contract_path

    for name in contract_path.__all__:
        assert getattr(register_path, name) is getattr(contract_path, name), name

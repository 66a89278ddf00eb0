"""The device's item picture cache (firmware/image_cache.py, docs/item-images.md): the byte limit under a flood,
LRU by last use, torn and swapped files, planted links, and the index across a restart."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from firmware.image_cache import INDEX, ImageCache, Verdict, image_problem, picture_size
from tests.support.pictures import picture, ref, sha

KIB = 1024


def cache_of(tmp_path, limit=100 * KIB, **kw):
    return ImageCache(tmp_path / "images", limit, **kw)


def put(cache, data, kind="image/png"):
    return cache.put(sha(data), data, {sha(data): ref(data, kind)})


def test_a_named_picture_is_kept_and_read_back_whole(tmp_path):
    cache = cache_of(tmp_path)
    data = picture(40, 30, seed=1)
    assert put(cache, data) is Verdict.KEPT
    assert put(cache, data) is Verdict.ALREADY
    assert cache.read(sha(data)) == data and cache.held == len(data)
    jpeg = picture(40, 30, seed=2, kind="jpeg")
    assert put(cache, jpeg, "image/jpeg") is Verdict.KEPT
    assert oct(os.stat(tmp_path / "images" / f"{sha(data)}.img").st_mode & 0o777) == "0o600"


def test_what_the_catalog_does_not_vouch_for_is_dropped(tmp_path):
    cache = cache_of(tmp_path)
    data = picture(40, 30, seed=1)
    assert cache.put(sha(data), data, {}) is Verdict.NOT_NAMED
    other = picture(40, 30, seed=2)
    assert cache.put(sha(data), other, {sha(data): ref(data)}) is Verdict.BAD_HASH  # bytes swapped in transit
    assert cache.put(sha(data), data[:-1], {sha(data): ref(data)}) is Verdict.BAD_HASH  # cut short
    text = b"not a picture at all" * 10
    assert cache.put(sha(text), text, {sha(text): ref(text)}) is Verdict.NOT_AN_IMAGE
    assert put(cache, data, "image/jpeg") is Verdict.NOT_AN_IMAGE  # the catalog says JPEG, the bytes say PNG
    huge = picture(1100, 10, seed=3, noise=False)  # wider than 1024 px: a decoding bomb's shape
    assert put(cache, huge) is Verdict.NOT_AN_IMAGE
    assert cache.held == 0 and os.listdir(tmp_path / "images") == [INDEX]


def test_a_picture_over_the_per_picture_or_the_whole_limit_is_refused(tmp_path):
    small = cache_of(tmp_path, limit=10 * KIB)
    big = picture(80, 80, seed=1)  # about 19 KiB of noise
    assert put(small, big) is Verdict.TOO_BIG and small.held == 0
    blob = b"\x89PNG\r\n\x1a\n" + bytes(300 * KIB)
    assert image_problem(blob, sha(blob), ref(blob)) is Verdict.TOO_BIG


def test_the_least_recently_used_picture_goes_first(tmp_path):
    pics = [picture(50, 50, seed=i) for i in range(4)]  # about 7.5 KiB each
    cache = cache_of(tmp_path, limit=3 * len(pics[0]) + 100)
    for data in pics[:3]:
        assert put(cache, data) is Verdict.KEPT
    assert cache.read(sha(pics[0])) == pics[0]  # used: now the most recent
    assert put(cache, pics[3]) is Verdict.KEPT
    assert cache.order() == [sha(pics[2]), sha(pics[0]), sha(pics[3])]  # pics[1] was the least recently used
    assert cache.read(sha(pics[1])) is None and not (tmp_path / "images" / f"{sha(pics[1])}.img").exists()


@pytest.mark.slow  # 25 floods of up to 40 pictures
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(8, 90), min_size=1, max_size=40), limit_kib=st.integers(4, 60),
       reads=st.lists(st.integers(0, 39), max_size=20))
def test_the_bytes_held_never_pass_the_limit_under_a_flood(tmp_path_factory, sizes, limit_kib, reads):
    directory = tmp_path_factory.mktemp("flood")
    cache = ImageCache(directory / "images", limit_kib * KIB)
    kept = []
    for i, side in enumerate(sizes):
        data = picture(side, side, seed=i)
        verdict = put(cache, data)
        assert verdict in (Verdict.KEPT, Verdict.TOO_BIG)
        if verdict is Verdict.KEPT:
            kept.append(sha(data))
        for r in reads:
            if r < len(kept):
                cache.read(kept[r])
        on_disk = sum(os.path.getsize(directory / "images" / n) for n in os.listdir(directory / "images")
                      if n.endswith(".img"))
        assert cache.held == on_disk <= cache.limit
    cache.flush()  # (reads are written at most every flush_every seconds, and at shutdown)
    assert ImageCache(directory / "images", limit_kib * KIB).order() == cache.order()  # and after a restart


def test_a_restart_keeps_the_pictures_and_their_use_order(tmp_path):
    pics = [picture(30, 30, seed=i) for i in range(3)]
    cache = cache_of(tmp_path)
    for data in pics:
        put(cache, data)
    cache.read(sha(pics[0]))
    cache.flush()
    again = cache_of(tmp_path)
    assert again.order() == [sha(pics[1]), sha(pics[2]), sha(pics[0])]
    assert again.read(sha(pics[1])) == pics[1] and again.held == sum(map(len, pics))
    again.flush()  # at shutdown: the use order [2, 0, 1]
    lower = cache_of(tmp_path, limit=len(pics[0]) * 2 + 10)  # the shop lowered the limit: oldest go at start
    assert lower.held <= lower.limit and lower.order() == [sha(pics[0]), sha(pics[1])]


def test_a_lost_index_adopts_whole_pictures_and_removes_the_rest(tmp_path):
    data = picture(30, 30, seed=1)
    cache = cache_of(tmp_path)
    put(cache, data)
    folder = tmp_path / "images"
    (folder / INDEX).unlink()
    (folder / ".x.img.5a5a.tmp").write_bytes(b"half a write")  # a power cut during a write
    (folder / f"{'e' * 64}.img").write_bytes(data)  # bytes that do not hash to the name
    again = cache_of(tmp_path)
    assert again.order() == [sha(data)] and again.read(sha(data)) == data
    assert sorted(os.listdir(folder)) == sorted([INDEX, f"{sha(data)}.img"])


def test_a_torn_or_swapped_file_is_detected_by_its_hash_and_dropped(tmp_path):
    pics = [picture(30, 30, seed=i) for i in range(2)]
    cache = cache_of(tmp_path)
    for data in pics:
        put(cache, data)
    folder = tmp_path / "images"
    with open(folder / f"{sha(pics[0])}.img", "r+b") as f:  # a torn write: the tail is zeros
        f.seek(len(pics[0]) // 2)
        f.write(bytes(len(pics[0]) - len(pics[0]) // 2))
    (folder / f"{sha(pics[1])}.img").write_bytes(b"x" * len(pics[1]))  # same size, other bytes
    assert cache.read(sha(pics[0])) is None and cache.read(sha(pics[1])) is None
    assert cache.held == 0 and cache.order() == []
    assert not (folder / f"{sha(pics[0])}.img").exists()
    assert put(cache, pics[0]) is Verdict.KEPT  # it comes again with the next retained copy


def test_a_symlink_planted_in_the_cache_is_never_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"do not read or overwrite me")
    data = picture(30, 30, seed=1)
    cache = cache_of(tmp_path)
    put(cache, data)
    link = tmp_path / "images" / f"{sha(data)}.img"
    link.unlink()
    link.symlink_to(secret)
    assert cache.read(sha(data)) is None  # O_NOFOLLOW: refused, dropped
    assert not link.is_symlink() and secret.read_bytes() == b"do not read or overwrite me"
    other = picture(30, 30, seed=2)
    planted = tmp_path / "images" / f"{sha(other)}.img"
    planted.symlink_to(secret)  # planted before the picture arrives
    assert put(cache, other) is Verdict.REFUSED  # the atomic writer refuses to replace a link
    assert secret.read_bytes() == b"do not read or overwrite me"
    again = cache_of(tmp_path)  # at open the plant goes too
    assert not planted.is_symlink() and secret.exists()
    assert put(again, other) is Verdict.KEPT


def test_a_link_planted_as_the_cache_directory_turns_pictures_off(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "images").symlink_to(target, target_is_directory=True)
    cache = cache_of(tmp_path)
    data = picture(30, 30, seed=1)
    assert not cache.usable and put(cache, data) is Verdict.REFUSED and cache.read(sha(data)) is None
    assert os.listdir(target) == []


def test_picture_headers_are_read_without_decoding():
    assert picture_size(picture(37, 21, seed=1)) == ("image/png", 37, 21)
    assert picture_size(picture(37, 21, seed=1, kind="jpeg")) == ("image/jpeg", 37, 21)
    assert picture_size(b"GIF89a....") is None and picture_size(b"\xff\xd8\xff") is None


@pytest.mark.parametrize("limit", [0])
def test_a_zero_limit_keeps_nothing(tmp_path, limit):
    cache = cache_of(tmp_path, limit=limit)
    assert put(cache, picture(10, 10, seed=1)) is Verdict.TOO_BIG and cache.held == 0


def test_the_cache_limit_is_a_shop_setting_in_whole_mib_64_by_default():
    from firmware.config import parse_config
    from firmware.errors import ConfigError

    base = {"device": {"store": "S001", "register": "R1", "data_dir": "/tmp/kassa-config-test"}}
    assert parse_config(base).shop.image_cache_mb == 64
    assert parse_config({**base, "shop": {"image_cache_mb": 0}}).shop.image_cache_mb == 0
    for bad in (-1, 5000, "64", 1.5):
        with pytest.raises(ConfigError, match="shop.image_cache_mb"):
            parse_config({**base, "shop": {"image_cache_mb": bad}}, "kassa.toml")

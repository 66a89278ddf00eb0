"""Item pictures attacked (firmware/image_cache.py, firmware/sync/images.py; docs/item-images.md): bytes that do
not match their hash, a PNG header claiming 100000 x 100000 px, a flood of pictures no catalog names, links
planted in the cache directory. Each defence holds: nothing wrong is kept, read or followed."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib

from firmware.contract.images import image_topic
from firmware.domain.catalog import ImageRef
from firmware.image_cache import ImageCache, Verdict
from firmware.sync.images import ImageSync


def png(width: int, height: int, salt: bytes = b"") -> bytes:
    """A PNG signature and IHDR chunk claiming width x height px (enough for the header check), then `salt`."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
            + salt)


def ref_of(data: bytes, kind: str = "image/png") -> tuple[str, ImageRef]:
    sha = hashlib.sha256(data).hexdigest()
    return sha, ImageRef(sha, len(data), kind)


def test_bytes_that_do_not_hash_to_their_name_are_never_kept(tmp_path):
    cache = ImageCache(tmp_path / "images", 1 << 20)
    good = png(64, 64)
    sha, ref = ref_of(good)
    swapped = png(64, 65)  # same size, other bytes, under the good one's name
    assert len(swapped) == len(good)
    assert cache.put(sha, swapped, {sha: ref}) is Verdict.BAD_HASH
    assert sha not in cache and not (tmp_path / "images" / f"{sha}.img").exists()
    assert cache.put(sha, good, {sha: ref}) is Verdict.KEPT and cache.read(sha) == good


def test_a_png_claiming_100000_px_a_side_is_refused_even_when_the_catalog_names_it(tmp_path):
    cache = ImageCache(tmp_path / "images", 1 << 20)
    for width, height in ((100_000, 100_000), (1025, 10), (10, 1025), (0, 10)):
        data = png(width, height)
        sha, ref = ref_of(data)
        assert cache.put(sha, data, {sha: ref}) is Verdict.NOT_AN_IMAGE, (width, height)
    assert cache.held == 0 and os.listdir(tmp_path / "images") == ["index.json"]


def test_a_flood_of_10000_retained_pictures_no_catalog_names_stores_nothing(tmp_path):
    cache = ImageCache(tmp_path / "images", 1 << 20)
    sync = ImageSync(cache, "S001", "kassa/v1", stored_catalog=None)
    for n in range(10_000):
        data = png(16, 16, n.to_bytes(4, "big"))
        assert sync.on_message(image_topic("S001", hashlib.sha256(data).hexdigest()), data) is Verdict.NOT_NAMED
    assert (sync.received, sync.kept, cache.held) == (10_000, 0, 0)
    assert os.listdir(tmp_path / "images") == ["index.json"]
    # another store's picture on a topic this till does not own is not even looked at
    data = png(16, 16)
    assert sync.on_message(image_topic("S002", hashlib.sha256(data).hexdigest()), data) is None


def test_a_link_planted_in_the_cache_is_never_followed_and_its_target_never_touched(tmp_path):
    directory = tmp_path / "images"
    cache = ImageCache(directory, 1 << 20)
    data = png(32, 32)
    sha, ref = ref_of(data)
    assert cache.put(sha, data, {sha: ref}) is Verdict.KEPT
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not a picture")
    # a held picture swapped for a link to another file: the read refuses it and removes the link only
    os.unlink(directory / f"{sha}.img")
    os.symlink(secret, directory / f"{sha}.img")
    assert cache.read(sha) is None and sha not in cache
    assert not os.path.lexists(directory / f"{sha}.img") and secret.read_bytes() == b"not a picture"
    # a link planted under a picture's name while the till was off: dropped at start, target untouched
    other = png(33, 33)
    other_sha, other_ref = ref_of(other)
    (tmp_path / "elsewhere.img").write_bytes(other)
    os.symlink(tmp_path / "elsewhere.img", directory / f"{other_sha}.img")
    os.unlink(directory / "index.json")
    os.symlink(secret, directory / "index.json")
    again = ImageCache(directory, 1 << 20)
    assert again.usable and other_sha not in again
    assert not os.path.lexists(directory / f"{other_sha}.img")
    assert (tmp_path / "elsewhere.img").read_bytes() == other and secret.read_bytes() == b"not a picture"
    # writing the picture for real replaces nothing outside the directory
    assert again.put(other_sha, other, {other_sha: other_ref}) is Verdict.KEPT
    assert not os.path.islink(directory / f"{other_sha}.img") and not os.path.islink(directory / "index.json")


def test_the_cache_directory_itself_planted_as_a_link_turns_pictures_off(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "images")
    cache = ImageCache(tmp_path / "images", 1 << 20)
    data = png(8, 8)
    sha, ref = ref_of(data)
    assert not cache.usable and cache.put(sha, data, {sha: ref}) is Verdict.REFUSED
    assert os.listdir(real) == []

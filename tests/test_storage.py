"""Production static files: hashed names everywhere, DSFR files byte for byte."""

import base64
import gzip
import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

import brotli
from dsfr import checksums
from dsfr.constants import DsfrStaticAssets
from whitenoise.compress import Compressor

from catalogue.storage import CompressOnceCompressor

INTEGRITY = {
    DsfrStaticAssets.DSFR_CSS: checksums.INTEGRITY_CSS,
    DsfrStaticAssets.DSFR_UTILITY_CSS: checksums.INTEGRITY_UTILITY_CSS,
    DsfrStaticAssets.DSFR_MODULE_JS: checksums.INTEGRITY_JS_MODULE,
    DsfrStaticAssets.DSFR_NOMODULE_JS: checksums.INTEGRITY_JS_NOMODULE,
}


def manifest(root) -> dict:
    return json.loads((root / "staticfiles.json").read_text())["paths"]


def sri(path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def test_served_dsfr_files_match_the_integrity_hashes_the_tags_print(collected_static):
    paths = manifest(collected_static)
    for name, integrity in INTEGRITY.items():
        hashed = paths[name]
        assert hashed != name  # still a hashed, cacheable name
        assert sri(collected_static / hashed) == integrity, name


def test_files_the_dsfr_stylesheet_references_are_collected(collected_static):
    css = collected_static / manifest(collected_static)[DsfrStaticAssets.DSFR_CSS]
    references = {
        ref
        for ref in re.findall(r"url\(([^)\"']+)\)", css.read_text())
        if not ref.startswith("data:")
    }
    assert any(ref.endswith(".woff2") for ref in references)
    assert any(ref.endswith(".svg") for ref in references)
    missing = [ref for ref in references if not (css.parent / ref.split("#")[0]).resolve().exists()]
    assert missing == []


def test_other_stylesheets_still_point_to_hashed_names(collected_static):
    paths = manifest(collected_static)
    css = (collected_static / paths["admin/css/base.css"]).read_text()
    # The admin's base.css draws its icons through url(): rewritten to hashed names.
    referenced = re.findall(r"url\(\"?([^)\"]+)\"?\)", css)
    assert referenced
    assert all(re.search(r"\.[0-9a-f]{12}\.", ref) for ref in referenced if "data:" not in ref)


def test_every_compressed_file_holds_its_own_file(collected_static):
    """Compressed once per content, written under several names: each copy still decodes to
    the bytes of the file it stands beside."""
    compressed = list(collected_static.rglob("*.br")) + list(collected_static.rglob("*.gz"))
    assert len(compressed) > 1000
    assert any(path.name.startswith("dsfr.min.") for path in compressed)
    for path in compressed:
        original = path.with_suffix("")
        decode = brotli.decompress if path.suffix == ".br" else gzip.decompress
        assert decode(path.read_bytes()) == original.read_bytes(), path
        assert path.stat().st_mtime == original.stat().st_mtime, path


def test_identical_contents_are_compressed_once_with_whitenoise_s_bytes(tmp_path):
    text = b"body { color: #000091; }\n" * 200
    files = {
        "plain": (tmp_path / "site.css", text),
        "hashed": (tmp_path / "site.0123456789ab.css", text),
        "other": (tmp_path / "other.css", text + b"/* another file */\n"),
        "random": (tmp_path / "noise.js", os.urandom(4096)),
    }
    for path, data in files.values():
        path.write_bytes(data)
    compressor = CompressOnceCompressor(quiet=True)
    encoded = []
    compress_brotli = compressor.compress_brotli
    compressor.compress_brotli = lambda data: encoded.append(data) or compress_brotli(data)
    with ThreadPoolExecutor(max_workers=4) as pool:
        written = dict(
            zip(
                files,
                pool.map(compressor.compress, [str(path) for path, _ in files.values()]),
                strict=True,
            )
        )

    # The plain and hashed copies were encoded once between them.
    assert sorted(encoded, key=len) == sorted(
        [text, files["other"][1], files["random"][1]], key=len
    )
    assert written["random"] == []  # random bytes do not compress: nothing is written
    reference = Compressor(quiet=True)
    for name in ("plain", "hashed", "other"):
        path, data = files[name]
        assert written[name] == [f"{path}.br", f"{path}.gz"]
        # Byte for byte what WhiteNoise's own compressor writes.
        assert (tmp_path / f"{path.name}.br").read_bytes() == reference.compress_brotli(data)
        assert (tmp_path / f"{path.name}.gz").read_bytes() == reference.compress_gzip(data)

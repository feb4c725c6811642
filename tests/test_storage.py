"""Production static files: hashed names everywhere, DSFR files byte for byte."""

import base64
import hashlib
import json
import re

from dsfr import checksums
from dsfr.constants import DsfrStaticAssets

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

"""Production static files: hashed names, compressed copies, vendored DSFR files left intact.

Why: django-dsfr's `{% dsfr_css %}` and `{% dsfr_js %}` tags print Subresource Integrity hashes
(`integrity="sha384-…"`) of the DSFR files as published. The manifest storage rewrites every
`url()` of a stylesheet to point at hashed names, so the collected `dsfr.min.css` no longer
matches its hash and the browser refuses it: every page was unstyled with DEBUG off.

Of the possible fixes this one keeps the most guarantees: the browser still checks the
published hashes (a tampered or truncated file is refused), files keep their hashed, cacheable
names, and nothing is computed per request. Dropping the integrity attributes would lose the
check; computing hashes from the collected files at render time would read files per process
and vouch for whatever was collected. The price: icons and fonts referenced from inside the DSFR
stylesheets are loaded by their plain names (collectstatic keeps those copies next to the
hashed ones), which WhiteNoise serves with a short cache lifetime instead of "immutable".

WhiteNoise compresses both the plain and the hashed copy of every file, and most pairs hold the
same bytes: `CompressOnceCompressor` compresses each distinct content once per collectstatic
and writes the same `.br` and `.gz` files for both names. Brotli at its highest quality is
nearly all of collectstatic's time, which every deployment, `dev.py start` and CI pay.
"""

import hashlib
import os
import threading
from concurrent.futures import Future

from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage


class CompressOnceCompressor(Compressor):
    """WhiteNoise's compressor, with its choices (Brotli, then gzip, each kept only when it
    pays), that encodes each distinct content once; thread-safe, as collectstatic compresses
    from a thread pool. One instance lives for one collectstatic run."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        # Content digest → future of its (Brotli bytes or None, gzip bytes or None).
        self._encoded: dict[bytes, Future] = {}

    def compress(self, path):
        with open(path, "rb") as source:
            stat_result = os.fstat(source.fileno())
            data = source.read()
        key = hashlib.sha256(data).digest()
        with self._lock:
            future = self._encoded.get(key)
            first = future is None
            if first:
                future = self._encoded[key] = Future()
        if first:
            # The thread that saw the content first encodes it; the others wait for its result
            # rather than encoding the same bytes at the same time.
            try:
                future.set_result(self._encode(path, data))
            except BaseException as error:
                future.set_exception(error)
                raise
        brotli_data, gzip_data = future.result()
        written = []
        for encoded, suffix in ((brotli_data, ".br"), (gzip_data, ".gz")):
            if encoded is not None:
                written.append(self.write_data(path, encoded, suffix, stat_result))
        return written

    def _encode(self, path, data: bytes) -> tuple[bytes | None, bytes | None]:
        size = len(data)
        brotli_data = gzip_data = None
        if self.use_brotli:
            brotli_data = self.compress_brotli(data)
            if not self.is_compressed_effectively("Brotli", path, size, brotli_data):
                # Where Brotli does not pay, gzip would not either: WhiteNoise's own rule.
                return None, None
        if self.use_gzip:
            gzip_data = self.compress_gzip(data)
            if not self.is_compressed_effectively("Gzip", path, size, gzip_data):
                gzip_data = None
        return brotli_data, gzip_data


def _leave_reference(matchobj) -> str:
    return matchobj.group(0)


class IntactVendorStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """CompressedManifestStaticFilesStorage that never rewrites the content of vendored files."""

    # Files whose bytes must stay those their integrity hashes were computed from.
    intact_prefixes = ("dsfr/dist/",)

    def url_converter(self, name, hashed_files, template=None):
        if name.startswith(self.intact_prefixes):
            # The file is still saved under a hashed name, computed from unchanged content.
            return _leave_reference
        return super().url_converter(name, hashed_files, template)

    def create_compressor(self, **kwargs):
        return CompressOnceCompressor(**kwargs)

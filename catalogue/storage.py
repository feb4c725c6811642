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
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


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

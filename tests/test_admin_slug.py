"""The admin's prefilled slug spells a name as the server's `text.slug` does: Django's URLify run
with the catalogue's wrapper (static/js/admin-slug.js) under Node, when Node is installed."""

import json
import shutil
import subprocess
from pathlib import Path

import django
import pytest
from django.conf import settings
from django.urls import reverse

from cooperations.text import slug

URLIFY = Path(django.__file__).parent / "contrib/admin/static/admin/js/urlify.js"
WRAPPER = Path(settings.BASE_DIR) / "static" / "js" / "admin-slug.js"
NAMES = [
    "Contrat de réciprocité Toulouse Métropole – Cœur et Coteaux du Comminges",
    "ŒUVRE commune d'Iroise",
    "Ex æquo : Nantes—Saint-Nazaire",
    "Pôle métropolitain Loire‑Bretagne",
]

SCRIPT = """
const fs = require('fs');
const vm = require('vm');
const [urlify, wrapper, names, wrapped] = JSON.parse(process.argv[1]);
const context = {};
context.window = context;
vm.createContext(context);
vm.runInContext(fs.readFileSync(urlify, 'utf8'), context);
if (wrapped) vm.runInContext(fs.readFileSync(wrapper, 'utf8'), context);
console.log(JSON.stringify(names.map((name) => context.URLify(name, 200, false))));
"""


def prefilled(wrapped: bool = True) -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js absent : le préremplissage n'est vérifié que dans un navigateur.")
    arguments = json.dumps([str(URLIFY), str(WRAPPER), NAMES, wrapped])
    result = subprocess.run(
        [node, "-e", SCRIPT, arguments], capture_output=True, text=True, check=True, timeout=30
    )
    return json.loads(result.stdout)


def test_the_prefilled_slug_is_the_servers_slug():
    assert prefilled() == [slug(name) for name in NAMES]
    # Django's own function alone drops the « œ » of « Cœur ».
    assert "-cur-et-coteaux-" in prefilled(wrapped=False)[0]


def test_the_admin_forms_load_the_wrapper_after_djangos_function(admin_client):
    for name in ("admin:cooperations_cooperation_add", "admin:cooperations_theme_add"):
        page = admin_client.get(reverse(name)).content.decode()
        assert page.index("admin/js/urlify.js") < page.index("js/admin-slug.js"), name

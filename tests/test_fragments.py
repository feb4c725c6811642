"""The fragment cache of the templates: kept per key, per script prefix and per compiled
template; escaped by the engine; bounded."""

import pytest
from django.urls import set_script_prefix
from jinja2 import Environment

from catalogue import fragments
from catalogue.fragments import FragmentCache

SOURCE = "{% cache key %}<p>{{ text }}</p>{% endcache %}"


@pytest.fixture
def env():
    # Autoescape on, as Django's backend sets it for the public pages.
    return Environment(extensions=[FragmentCache], autoescape=True)


@pytest.fixture(autouse=True)
def root_prefix():
    set_script_prefix("/")
    yield
    set_script_prefix("/")


def test_a_fragment_is_rendered_once_per_key(env):
    template = env.from_string(SOURCE)
    assert template.render(key=1, text="un") == "<p>un</p>"
    # Same key: the kept output, whatever the other values (the key must hold them all).
    assert template.render(key=1, text="deux") == "<p>un</p>"
    assert template.render(key=2, text="deux") == "<p>deux</p>"


def test_a_template_compiled_again_renders_again(env):
    env.from_string(SOURCE).render(key=1, text="avant")
    # A template changed (an override, an auto-reload, a deploy) is compiled again: its new
    # code makes new keys. The same source again compiles to equal code, and to the same output.
    assert env.from_string(SOURCE).render(key=1, text="après") == "<p>avant</p>"
    changed = SOURCE.replace("<p>", '<p class="neuf">')
    assert env.from_string(changed).render(key=1, text="après") == '<p class="neuf">après</p>'


def test_each_script_prefix_has_its_own_fragments(env):
    template = env.from_string("{% cache key %}{{ prefix() }}{% endcache %}")
    from django.urls import get_script_prefix

    assert template.render(key=1, prefix=get_script_prefix) == "/"
    set_script_prefix("/catalogue/")
    assert template.render(key=1, prefix=get_script_prefix) == "/catalogue/"


def test_kept_output_is_the_engines_escaped_markup(env):
    template = env.from_string(SOURCE + "{{ outside }}")
    hostile = "<script>alert(1)</script>"
    assert template.render(key=1, text=hostile, outside="&") == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>&amp;"
    )
    # Served from the cache, it is neither escaped twice nor unescaped.
    assert template.render(key=1, text="", outside="") == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )


def test_the_cache_is_bounded_oldest_out_first(env, monkeypatch):
    monkeypatch.setattr(fragments, "MAX_FRAGMENTS", 2)
    template = env.from_string(SOURCE)
    for key in (1, 2, 3):
        template.render(key=key, text=f"v{key}")
    # 1 was the least recently used: gone, rendered again; 3 is still kept.
    assert template.render(key=1, text="nouveau") == "<p>nouveau</p>"
    assert template.render(key=3, text="nouveau") == "<p>v3</p>"


def test_the_cache_is_bounded_in_characters_too(env, monkeypatch):
    monkeypatch.setattr(fragments, "MAX_FRAGMENT_CHARACTERS", 20)
    template = env.from_string(SOURCE)
    for key in (1, 2, 3):
        template.render(key=key, text="x" * 5)  # 12 characters each
    # Only the last one fits.
    assert template.render(key=2, text="nouveau") == "<p>nouveau</p>"
    assert template.render(key=3, text="nouveau") == "<p>nouveau</p>"
    assert template.render(key=2, text="encore") == "<p>encore</p>"


def test_a_list_row_shows_a_staff_edit_at_once(client, admin_client, db):
    from cooperations.models import Cooperation

    from .conftest import make_cooperation, make_metropole

    metropole = make_metropole("Brest Métropole", code="242900314")
    make_cooperation("Pacte des ports", slug="pacte", metropoles=[metropole])
    make_cooperation("Pacte des îles", slug="iles", metropoles=[metropole])
    assert "Pacte des ports" in client.get("/cooperations/").content.decode()
    cooperation = Cooperation.objects.get(slug="pacte")
    cooperation.name = "Pacte des ports et des rades"
    cooperation.save()
    # The row's values are part of its key: the kept markup of the old name is never served.
    assert "Pacte des ports et des rades" in client.get("/cooperations/").content.decode()
    assert "Pacte des ports et des rades" in admin_client.get("/cooperations/").content.decode()

"""The public page cache: anonymous visitors share a page until the catalogue changes."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache

from cooperations.models import Cooperation

from .conftest import make_cooperation


@pytest.fixture
def page_cache(settings):
    settings.PUBLIC_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def test_anonymous_visitors_get_the_cached_page_without_its_queries(
    client, page_cache, cooperation, django_assert_max_num_queries
):
    first = client.get("/cooperations/")
    with django_assert_max_num_queries(1):  # the catalogue version only
        second = client.get("/cooperations/")
    assert second.content == first.content


def test_a_write_with_history_shows_at_the_next_request(client, page_cache, cooperation):
    assert cooperation.name in client.get("/cooperations/").content.decode()
    cooperation.name = "Coopération renommée"
    cooperation.save()
    page = client.get("/cooperations/").content.decode()
    assert "Coopération renommée" in page


def test_a_new_cooperation_shows_at_the_next_request(client, page_cache, cooperation):
    client.get("/cooperations/")
    make_cooperation("Nouvelle coopération du littoral", metropoles=[])
    assert "Nouvelle coopération du littoral" in client.get("/cooperations/").content.decode()


def test_staff_and_exports_are_never_served_from_the_cache(
    client, page_cache, cooperation, django_assert_max_num_queries
):
    client.get("/cooperations/?format=csv")
    client.force_login(User.objects.create_user("agent", is_staff=True))
    client.get("/cooperations/")
    Cooperation.objects.filter(pk=cooperation.pk).update(name="Renommée sans historique")
    assert "Renommée sans historique" in client.get("/cooperations/").content.decode()
    csv = b"".join(client.get("/cooperations/?format=csv").streaming_content)
    assert "Renommée sans historique" in csv.decode("utf-8-sig")


def test_cache_off_when_the_delay_is_zero(client, settings, cooperation):
    settings.PUBLIC_CACHE_SECONDS = 0
    client.get("/cooperations/")
    Cooperation.objects.filter(pk=cooperation.pk).update(name="Renommée sans historique")
    assert "Renommée sans historique" in client.get("/cooperations/").content.decode()


def test_each_host_gets_its_own_permalinks(client, page_cache, cooperation, settings):
    settings.ALLOWED_HOSTS = ["catalogue.example.fr", "miroir.example.fr"]
    url = cooperation.get_absolute_url()
    first = client.get(url, HTTP_HOST="catalogue.example.fr").content.decode()
    second = client.get(url, HTTP_HOST="miroir.example.fr").content.decode()
    assert "http://catalogue.example.fr/" in first
    assert "http://miroir.example.fr/" in second
    assert "catalogue.example.fr" not in second

"""Error pages in a real browser: the site's layout, accessible like every other page."""

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_not_found_page_is_in_the_site_layout_and_passes_axe(live_server, page):
    response = page.goto(f"{live_server.url}/cooperations/retiree-du-catalogue/")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Page introuvable"
    assert page.get_by_role("link", name="Toutes les coopérations").first.is_visible()
    results = Axe().run(page)
    violations = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
    ]
    assert violations == []

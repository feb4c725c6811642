"""A métropole's network on a phone, in a real browser: the partners' table scrolls sideways in
its focusable box with its first column fixed, names and figures stay at a readable size."""

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# The first cell's distance from its scrolling box's left edge, and the box's scroll.
POSITIONS = """box => ({
    first: box.querySelector('tbody th').getBoundingClientRect().left
        - box.getBoundingClientRect().left,
    second: box.querySelector('tbody td').getBoundingClientRect().left
        - box.getBoundingClientRect().left,
    scroll: box.scrollLeft,
    overflow: box.scrollWidth - box.clientWidth,
})"""

# The smallest font size, in CSS pixels as drawn, of any text of the network section (SVG text
# scaled by its picture's ratio of drawn width to viewBox width).
SMALLEST_TEXT = """section => {
    let smallest = Infinity;
    for (const el of section.querySelectorAll('*')) {
        const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
        if (!own || !el.getClientRects().length) continue;
        let size = parseFloat(getComputedStyle(el).fontSize);
        if (el instanceof SVGElement && el.ownerSVGElement) {
            const svg = el.ownerSVGElement;
            size *= svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        }
        smallest = Math.min(smallest, size);
    }
    return smallest;
}"""


def test_on_a_phone_the_network_table_scrolls_by_keyboard_with_its_first_column_fixed(
    site, browser
):
    base, catalogue = site
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = context.new_page()
    page.goto(base + catalogue.brest.get_absolute_url())
    box = page.get_by_role("region", name="Tableau : partenaires de Brest Métropole", exact=True)
    start = box.evaluate(POSITIONS)
    assert start["overflow"] > 0 and start["scroll"] == 0
    # The page itself never scrolls sideways: only the table's box does.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box.focus()
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("box => box.scrollLeft > 0", arg=box.element_handle(), timeout=5_000)
    moved = box.evaluate(POSITIONS)
    assert moved["second"] < start["second"]  # the other columns moved under it…
    assert abs(moved["first"] - start["first"]) < 1  # …the first one stayed
    assert page.locator("#reseau").evaluate(SMALLEST_TEXT) >= 12
    context.close()

"""The page comparison of benchmarks/compare_pages.py on hand-written pages (no worktree)."""

from benchmarks import compare_pages

PAGE = (
    "<html><head><title>Catalogue</title><style>p { color: red }</style></head><body>"
    "<nav><a href='/'>Accueil</a></nav>"
    "<main><h1>Une  coopération</h1><p>Signée le\u00a0<b>2024-05-01T10:00:00+02:00</b>"
    " par <a href='/t/'>Brest</a></p><script>var x = 1;</script></main>"
    "<footer>Données</footer></body></html>"
)


def test_page_text_keeps_the_main_content_apart_from_the_layout():
    main, layout = compare_pages.page_text(PAGE)
    assert main == ["Une coopération", "Signée le <date> par Brest"]
    assert layout == ["Catalogue", "Accueil", "Données"]


def test_a_page_without_main_element_is_all_content():
    main, layout = compare_pages.page_text("<div>Un</div><div>Deux</div>")
    assert (main, layout) == (["Un", "Deux"], [])


def test_same_text_in_other_markup_is_identical_and_a_changed_line_is_shown():
    other = PAGE.replace("<b>", "<span>").replace("</b>", "</span>").replace("  ", " ")
    old = {"record": ["/c/x/", 200, PAGE]}
    rows = compare_pages.compare(old, {"record": ["/c/x/", 200, other]})
    assert rows[0]["diff"] == [] and rows[0]["layout"] == []

    changed = PAGE.replace("Brest", "Rennes")
    rows = compare_pages.compare(old, {"record": ["/c/x/", 200, changed]})
    assert "-Signée le <date> par Brest" in rows[0]["diff"]
    assert "+Signée le <date> par Rennes" in rows[0]["diff"]
    assert rows[0]["layout"] == []


def test_feed_summaries_are_read_as_text():
    summary = "&lt;p&gt;Un &lt;b&gt;résumé&lt;/b&gt;&lt;/p&gt;"
    feed = f"<feed><entry><summary>{summary}</summary></entry></feed>"
    assert compare_pages.feed_text(feed) == ["Un résumé"]

"""The staff client of the drill and the several-servers test: what a browser would post."""

from benchmarks.http_client import form_fields

FORM = """
<form id="autre"><input name="ailleurs" value="x"></form>
<form method="post" id="cooperation_form">
  <input type="hidden" name="csrfmiddlewaretoken" value="jeton">
  <input type="text" name="name" value="Contrat &amp; pacte">
  <input type="checkbox" name="is_published" checked>
  <input type="checkbox" name="plus_value_scale">
  <input type="radio" name="status" value="active" checked>
  <input type="radio" name="status" value="terminee">
  <select name="legal_form"><option value="">---</option>
  <option value="3" selected>Charte</option></select>
  <select name="kind"><option value="CC">CC</option><option value="CA">CA</option></select>
  <select name="themes" multiple><option value="1" selected>A</option><option value="2">B</option>
  <option value="4" selected>C</option></select>
  <textarea name="summary">
Première ligne</textarea>
  <input type="submit" name="_save" value="Enregistrer">
  <input type="file" name="piece">
</form>
"""


def test_form_fields_are_those_a_browser_sends():
    assert form_fields(FORM, "cooperation_form") == [
        ("csrfmiddlewaretoken", "jeton"),
        ("name", "Contrat & pacte"),
        ("is_published", "on"),
        ("status", "active"),
        ("legal_form", "3"),
        ("kind", "CC"),
        ("themes", "1"),
        ("themes", "4"),
        ("summary", "Première ligne"),
    ]


def test_an_absent_form_has_no_fields():
    assert form_fields(FORM, "territory_form") == []

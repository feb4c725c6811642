"""What the catalogue publishes, beside its HTML pages: one module per way out.

- `exports` and `spreadsheets`: the list exports in CSV, XLSX and ODS, and the writing of every
  spreadsheet file (formula escaping included), shared with the admin, the statistics and the
  comparison.
- `open_data` and `open_data_views`: the open-data package (CSV files, their schemas, the DCAT
  description, the ZIP) and its « Données » page and file downloads.
- `api` and `api_v1`: the JSON payloads of the pages, and the versioned API `/api/v1/`
  (django-ninja) with its OpenAPI description.
- `feeds`: the Atom feeds of the lists.

None of these modules imports a view (tests/test_templates.py checks it). This file imports
nothing: importing one module loads only what that module needs.
"""

"""The catalogue's benchmarks: `python manage.py benchmark` (see the README, « Benchmarks »).

- `runner`: the orchestration the command calls — one subprocess per engine and data set, the
  HTTP load under gunicorn with `wrk`, the Markdown report.
- `worker`: what runs inside each subprocess, against its own database: build the data set,
  then time pages, exports and imports in-process with Django's test client, and choose the
  load test's URLs.
- `load_urls`: the load test's rotating list views and their wrk script.
- `report`: benchmarks/REPORT.md and the verdict of each target.
- `churn`: the staff writes of the write-churn rounds, in a process of their own.
- `settings`: production settings plus what an in-process, plain-HTTP benchmark needs.

Not a Django app: it owns no model. Results and data sets go under benchmarks/out/ (ignored by
git); the report, benchmarks/REPORT.md, is committed.
"""

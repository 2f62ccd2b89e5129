# Fellowship: `make run` to try it, `make test` to prove it.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
## The suite runs with bytecode caches written (ignored by git) even where PYTHONDONTWRITEBYTECODE is set: without them
## pytest rewrites the asserts of its 450-odd modules on every run (15-20 s) and each worker or web process the tests
## start compiles the app again (about 1 s each).
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/pytest

.PHONY: install run test lint test-sqlite test-fast proof clean screenshots translations translations-compile

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

install: $(VENV)/.installed

## The Nu HTML checker (vnu.jar, pinned in package.json / package-lock.json) for the accessibility crawl; it runs on
## Debian's Java (the package's own Java download is not used: --ignore-scripts).
VNU_JAR := node_modules/vnu-jar/build/dist/vnu.jar
$(VNU_JAR): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

node_modules: $(VNU_JAR)
.PHONY: node_modules

## Create the virtualenv, migrate, load demo data, start web + worker + beat + mail sink.
## `make run PORT=8000` serves on another port; the demo's emails (queued by seed-demo) link to that port too.
PORT ?= 5000
run: install translations-compile
	$(BIN)/flask db upgrade
	PORT=$(PORT) $(BIN)/flask seed-demo
	PORT=$(PORT) $(BIN)/flask dev

## Start over with a fresh demo (after an update, a demo database from an older version may not load): removes the
## embedded demo database, its uploads and caught emails from instance/ (or FELLOWSHIP_INSTANCE), asking nothing;
## then `make run` migrates and loads the demo again. A DATABASE_URL database (PostgreSQL) is left alone.
DEMO_INSTANCE := $(or $(FELLOWSHIP_INSTANCE),instance)
.PHONY: demo-reset
demo-reset:
	rm -f $(DEMO_INSTANCE)/fellowship.db $(DEMO_INSTANCE)/fellowship.db-journal $(DEMO_INSTANCE)/fellowship.db-wal \
		$(DEMO_INSTANCE)/fellowship.db-shm $(DEMO_INSTANCE)/celerybeat-schedule*
	rm -rf $(DEMO_INSTANCE)/uploads $(DEMO_INSTANCE)/mail
	@if [ -n "$$DATABASE_URL" ]; then echo "DATABASE_URL is set: that database was not touched."; fi
	@echo "The demo is removed: \`make run\` starts a fresh one."

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy fellowship

## Lint, types, then the whole suite on throwaway PostgreSQL + Redis (or TEST_DATABASE_URL / TEST_REDIS_URL).
test: lint translations-compile $(VNU_JAR)
	$(PYTEST)

## The suite once more on SQLite, the embedded default. The multi-host rehearsal is deselected (-m "not rehearsal"),
## not skipped: two hosts cannot share a SQLite file, so it proves nothing there; `make test` runs it on PostgreSQL.
test-sqlite: install translations-compile $(VNU_JAR)
	@mkdir -p instance
	rm -f instance/test-suite.db
	TEST_DATABASE_URL=sqlite:///$(CURDIR)/instance/test-suite.db $(PYTEST) -m "not rehearsal"

## The multi-host rehearsal alone (docs/multi-host.md): two gunicorn instances and two Celery workers, each in a folder
## of its own, on one throwaway PostgreSQL, Redis and SeaweedFS (S3); also part of `make test`.
.PHONY: rehearsal
rehearsal: install translations-compile
	$(PYTEST) tests/rehearsal -m rehearsal

## The promises, with figures: fault drills (queued, delivered, duplicated, lost), the authorization matrix,
## hostile input and security headers. The same tests run in `make test`, which prints the same summary.
proof: install
	$(PYTEST) tests/faults tests/security

## Everything but the browser tests, the worker tests, the fault drills and the multi-host rehearsal, for a quick loop.
test-fast: install
	$(PYTEST) -m "not browser and not worker and not faults and not rehearsal"

## Catalogs (TRANSLATING.md): extract every marked string (Python, templates, emails) into messages.pot and merge it
## into each language's messages.po; translators then fill in the msgstr lines. No fuzzy matching: among two thousand
## short messages it pairs unrelated ones ("Career country" with "Create account") and mismatched placeholders.
CATALOGS := fellowship/translations
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --project=Fellowship --copyright-holder=Fellowship \
		--msgid-bugs-address=translations@fellowship.example --sort-by-file -o $(CATALOGS)/messages.pot .
	$(BIN)/pybabel update -i $(CATALOGS)/messages.pot -d $(CATALOGS) --no-fuzzy-matching

## The compiled catalogs (.mo, not committed) the app reads; prints how much of each language is translated.
translations-compile: install
	$(BIN)/pybabel compile --statistics -d $(CATALOGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts node_modules

## Full-page screenshots of every page of every role at 1280 and 390 px, from the accessibility crawl, in
## test-artifacts/screenshots/ (<role>--<page>--<desktop|phone>.png).
screenshots: install $(VNU_JAR)
	rm -rf test-artifacts/screenshots
	SCREENSHOTS=1 $(BIN)/pytest tests/browser/test_accessibility_crawl.py -q -k opens

## The daily follow-up job's time and peak memory at 10,000 and 100,000 alumni (throwaway PostgreSQL + Redis).
.PHONY: bench-followups
bench-followups: install
	$(BIN)/python -m bench.followups

## Pages at 5,000 and 50,000 applications under gunicorn: req/s, latency, SQL queries, growth, the pages in ja and ar
## against en (issue 16), the ranking over 3 stages and its first view after a score change (issue 15); one PASS/FAIL
## table at the end; exits non-zero if a measured request answers anything but 200 (BENCH_SIZES, BENCH_SECONDS,
## BENCH_REPEATS).
.PHONY: bench
bench: install
	$(BIN)/python -m bench.pages

## Issue 15 alone: the ranking over 3 stages at 5,000 and 50,000 applications beside /healthz, and its first view
## after a score change (same variables as bench).
.PHONY: bench-stages
bench-stages: install
	$(BIN)/python -m bench.stages

## The deadline surge: 500 applicants log in, save every section, upload two documents and submit, 16 at a time, on a
## call holding 50,000 applications, beside a bare write (SURGE_EXISTING, SURGE_APPLICANTS, SURGE_CLIENTS).
.PHONY: bench-surge
bench-surge: install
	$(BIN)/python -m bench.surge

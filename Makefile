# The two commands a newcomer runs: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_HOME := .demo/home
DEMO_OUT := .demo/report
# The sample data describes the world of mid-November 2026; pin the report date so the demo
# shows the same picture on any day it is run.
DEMO_AS_OF := 2026-11-15

.PHONY: install tools demo test lint typecheck unit bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: install
	rm -rf .demo
	$(BIN)/netgarden --home $(DEMO_HOME) init
	cp data/sample/networks.toml data/sample/overrides.toml $(DEMO_HOME)/
	$(BIN)/netgarden --home $(DEMO_HOME) import data/sample/contacts.vcf \
		data/sample/Connections.csv data/sample/google.csv data/sample/interactions.csv \
		data/sample/mail.mbox data/sample/meetings.ics
	# LinkedIn rows without an e-mail cannot be merged by address: list the likely duplicates,
	# then accept them (a real user reviews the list first, or merges pairs one by one).
	$(BIN)/netgarden --home $(DEMO_HOME) suggestions --accept
	$(BIN)/netgarden --home $(DEMO_HOME) classify
	# The review loop: the people no rule places, with the evidence to decide, in a spreadsheet
	# file; then a file of decisions a user filled in (some networks, some ignored, most blank).
	$(BIN)/netgarden --home $(DEMO_HOME) review export --as-of $(DEMO_AS_OF) --out $(DEMO_OUT)/review.csv
	$(BIN)/netgarden --home $(DEMO_HOME) review apply data/sample/review-decisions.csv
	# People met only by mail or in meetings: the two-way ones are in the report below.
	$(BIN)/netgarden --home $(DEMO_HOME) contacts --discovered
	$(BIN)/netgarden --home $(DEMO_HOME) report --as-of $(DEMO_AS_OF) --out $(DEMO_OUT)
	$(BIN)/netgarden --home $(DEMO_HOME) report --as-of $(DEMO_AS_OF) --format html --out $(DEMO_OUT)
	$(BIN)/netgarden --home $(DEMO_HOME) report --as-of $(DEMO_AS_OF) --format table
	# Monday morning: whom to contact this week, what you offer them and the next step.
	$(BIN)/netgarden --home $(DEMO_HOME) next --as-of $(DEMO_AS_OF) --network clients

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# What the tests drive for real: tmux, the terminal `triage` is tested in, and Debian's
# chromium, which renders the HTML report.
tools:
	@command -v tmux >/dev/null || { echo "installing tmux (the triage tests type into it)"; \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) sh -c \
		'apt-get update -qq && apt-get install -y -qq tmux' >/dev/null; }
	@command -v chromium >/dev/null || { echo "installing chromium (it renders the HTML report)"; \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) sh -c \
		'apt-get update -qq && apt-get install -y -qq chromium' >/dev/null; }

unit: install tools
	$(BIN)/pytest -q

test: lint typecheck unit

bench: install
	$(BIN)/python bench/bench_vcard_import.py
	$(BIN)/python bench/bench_mbox_import.py
	$(BIN)/python bench/bench_gmail_sync.py
	$(BIN)/python bench/bench_outlook_sync.py
	$(BIN)/python bench/bench_people_scale.py

clean:
	rm -rf $(VENV) .demo .mypy_cache .ruff_cache .pytest_cache bench/out

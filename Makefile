# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install db flows bench clean rasa rasa-venv rasa-serve rasa-clean bench-rasa audit

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

db: install
	$(BIN)/hailong db upgrade
	$(BIN)/hailong flows load
	$(BIN)/hailong kb import nlu_data/kb/seed.jsonl

run: db
	$(BIN)/hailong run

test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# known vulnerabilities in the installed dependencies (pip-audit); see scripts/audit
audit: install
	$(BIN)/python scripts/audit

bench: install
	$(BIN)/python bench/chat_load.py

# issue F: mixed open-loop load, Hailong (PostgreSQL + Redis) against the Rasa 3.6 comparison bot
# (bench/rasa_bot/, trained and served from .venv-rasa), same machine, same steps; ~30 minutes.
# BENCH_ARGS passes options, e.g. BENCH_ARGS="--workers 1 --duration 10".
bench-rasa: install rasa-venv
	$(BIN)/python bench/compare_rasa.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

# --- Rasa NLU backend (optional: HAILONG_NLU_BACKEND=rasa; the built-in backend is the default) ---
# Rasa 3.6 needs Python 3.10 (scripts/find_python310 finds one) and pins old libraries
# (tensorflow 2.12, SQLAlchemy 1.4, packaging 20), so it gets its own venv and never enters .venv.
# That venv is ~2.7 GB and takes ~3 minutes to install, so it lives OUTSIDE the checkout, in
# ${XDG_CACHE_HOME:-~/.cache}/hailong/venv-rasa-3.6.21, and .venv-rasa is a symlink to it: CI
# runs every time on a fresh clone of the same machine and must not reinstall tensorflow each
# run. A stamp in the venv (hash of rasa_components/requirements.txt) makes a changed pin
# re-run pip. Trained models are cached there too, named by the hash of what training reads
# (nlu_data/nlu.yml, config.yml, domain.yml, rasa_components/, the pins): unchanged data is not
# retrained, and var/rasa/models/ holds the one `rasa run` serves. RASA_VENV=.venv-rasa keeps
# the venv in the checkout instead; RASA_CACHE moves the cache. Issue F reuses this venv.
rasa-venv:
	scripts/rasa_build --venv

rasa:
	scripts/rasa_build

# in the foreground on 127.0.0.1:$(RASA_PORT); then HAILONG_NLU_BACKEND=rasa HAILONG_RASA_URL=http://127.0.0.1:$(RASA_PORT)
RASA_PORT ?= 5005
rasa-serve: rasa
	scripts/rasa_serve --port $(RASA_PORT)

# the local link and models; the cached venv and models stay (rm -r ~/.cache/hailong for those)
rasa-clean:
	rm -rf .venv-rasa var/rasa

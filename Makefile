# Two commands do all the set-up on a fresh machine:  `make run`  and  `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PORT    ?= 8501
DB      ?= data/tags.duckdb

# Debian packages: tests need ffmpeg (formats beyond libsndfile's) and Chromium (end-to-end);
# building the training corpus needs the renderers and soundfonts.
APT_TEST   := ffmpeg chromium chromium-driver
APT_CORPUS := fluidsynth fluid-soundfont-gm timgm6mb-soundfont espeak-ng sox sonic-pi-samples

.PHONY: run demo test test-slow lint corpus model bench clean

$(BIN)/.installed: requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .  # so `import core` works under `streamlit run`
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

run: $(BIN)/.installed demo
	TAGGER_DB=$(DB) $(BIN)/streamlit run app/main.py --server.port $(PORT) --server.headless true

# The demo sounds (data/demo: CC0, see CREDITS.md), tagged by models/default, into a store that
# holds no sounds yet; a store that has some is left alone. Fails clearly when no model is there.
demo: $(BIN)/.installed
	$(BIN)/python -m core feed --source folder:data/demo --db $(DB) --if-empty

test: $(BIN)/.installed-dev
	scripts/apt-install.sh $(APT_TEST) $(APT_CORPUS)
	$(BIN)/python -m pytest

test-slow: $(BIN)/.installed-dev
	scripts/apt-install.sh $(APT_TEST) $(APT_CORPUS)
	$(BIN)/python -m pytest -m slow

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check core app pages tests

clean:
	rm -rf $(VENV) .pytest_cache test-output

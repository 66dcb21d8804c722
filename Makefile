# Two commands do all the set-up on a fresh machine:  `make run`  and  `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PORT    ?= 8501
# Only this computer can open the app; ADDRESS=0.0.0.0 serves everyone who can reach it (README).
# HOSTS: the host names visitors use (server.allowedHosts); with another ADDRESS, any ("*") unless
# given, e.g. `make run ADDRESS=0.0.0.0 HOSTS=tagger.lan`.
ADDRESS ?= 127.0.0.1
HOSTS   ?= $(if $(filter 127.0.0.1 localhost ::1,$(ADDRESS)),,*)
DB      ?= data/tags.duckdb

# Debian packages: tests need ffmpeg (formats beyond libsndfile's) and Chromium (end-to-end);
# building the training corpus needs the renderers and soundfonts.
APT_TEST   := ffmpeg chromium chromium-driver minetest-data
APT_CORPUS := fluidsynth fluid-soundfont-gm timgm6mb-soundfont espeak-ng sox sonic-pi-samples \
              musescore-general-soundfont-small csound-soundfont avldrums.lv2-soundfont

.PHONY: run demo test test-slow lint corpus rendered recorded model plain-model distilled-model teachers \
        bench clean

$(BIN)/.installed: requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .  # so `import core` works under `streamlit run`
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

run: $(BIN)/.installed demo
	TAGGER_DB=$(DB) $(BIN)/streamlit run app/main.py --server.address $(ADDRESS) --server.port $(PORT) \
		--server.headless true $(if $(HOSTS),--server.allowedHosts '$(HOSTS)')

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
	$(BIN)/ruff check core app pages tests benchmarks

# Every speed and memory figure beside its baseline (README, Performance): about 8 minutes.
bench: $(BIN)/.installed-dev
	scripts/apt-install.sh $(APT_TEST)
	$(BIN)/python -m core bench

# The bundled model, rebuilt end to end on CPU. Rendered corpora from different seeds (train; val
# from sources training never sees; test from the training sources; holdout from TimGM6mb and unused
# voices) and the examples it was not built from; the recorded corpus (real recordings from Debian
# game and education packages: train, and val and test from whole packages training never sees);
# four runs on both mixed per batch, from seeds 0-3 (the teachers); their best epochs exported as one
# model, an ensemble that averages their logits, with thresholds, test tables and the card.
CORPUS   ?= build/corpus
RECORDED ?= build/recorded
DEBIAN   ?= build/debian
RUN      ?= runs/default
MODEL    ?= models/default
N_TRAIN  ?= 12000
# Recorded rows per batch against rendered ones (1.5: 38 of every 64; chosen on the recorded val pool).
RECORDED_WEIGHT ?= 1.5
VARIANTS ?= 3
# One torch thread per run: the bundled model's four networks were trained so (two runs side by side);
# the same files and thread count give the same weights. Two intra-op threads
# stall each other when other work shares the cores (3 s per batch against 0.7 s with one thread).
TRAIN_THREADS ?= 1
# Seed 2: of seeds 0-3 of this recipe, the one with the best recorded val top-5 (README); it was
# bundled (`make plain-model`) until the distilled model (`make distilled-model`) replaced it.
TRAIN_ARGS ?= --preset compact --epochs 18 --cosine --patience 6 --batch-size 64 --lr 0.001 --seed 2 \
              --spec-augment 0.3 $(if $(TRAIN_THREADS),--threads $(TRAIN_THREADS))

# The two side by side: the recorded one waits mostly on apt-get download and unpacking, the rendered
# one on the CPU. Their Debian packages are installed first, once (apt takes one install at a time).
corpus: $(BIN)/.installed
	scripts/apt-install.sh $(APT_TEST) $(APT_CORPUS) wavpack
	$(MAKE) -j2 rendered recorded

rendered: $(BIN)/.installed
	scripts/apt-install.sh $(APT_CORPUS)
	$(BIN)/python -m core corpus --out $(CORPUS)/train.h5 --n $(N_TRAIN) --seed 1 --pool train
	$(BIN)/python -m core corpus --out $(CORPUS)/val.h5 --n 1000 --seed 2 --pool val
	$(BIN)/python -m core corpus --out $(CORPUS)/test.h5 --n 1500 --seed 3 --pool train
	$(BIN)/python -m core corpus --out $(CORPUS)/holdout.h5 --n 1000 --seed 4 --pool holdout
	$(BIN)/python -m core.corpus.examples $(CORPUS)/examples

recorded: $(BIN)/.installed
	scripts/apt-install.sh $(APT_TEST) wavpack
	$(BIN)/python -m core recorded fetch --dest $(DEBIAN)
	$(BIN)/python -m core recorded build --pool test --out $(RECORDED)/test.h5 --packages $(DEBIAN)
	$(BIN)/python -m core recorded build --pool val --out $(RECORDED)/val.h5 --packages $(DEBIAN)
	$(BIN)/python -m core recorded build --pool train --variants $(VARIANTS) \
		--out $(RECORDED)/train.h5 --packages $(DEBIAN)

TRAIN  = $(BIN)/python -m core train --data $(CORPUS)/train.h5 --data $(RECORDED)/train.h5:$(RECORDED_WEIGHT) \
         --val $(CORPUS)/val.h5 --val $(RECORDED)/val.h5 $(TRAIN_ARGS)
EXPORT_ARGS = --test recorded=$(RECORDED)/test.h5 --test recorded-val=$(RECORDED)/val.h5 \
         --test test=$(CORPUS)/test.h5 --test val=$(CORPUS)/val.h5 --test holdout=$(CORPUS)/holdout.h5 \
         --examples $(CORPUS)/examples
EXPORT = $(BIN)/python -m core export-model --run $(RUN) --out $(MODEL) $(EXPORT_ARGS)

# One run of the recipe: the bundled model of 2026-12-02 (about 35 min end to end).
plain-model: corpus
	rm -rf $(RUN)
	$(TRAIN) --out $(RUN)
	$(EXPORT)

# TEACHER_SEEDS runs of the recipe above, two at a time, one thread each.
TEACHER_SEEDS ?= 0 1 2 3
TEACHERS = $(foreach s,$(TEACHER_SEEDS),runs/teacher-$(s))

teachers: corpus
	$(MAKE) -j2 $(addsuffix /finished,$(TEACHERS))

# A teacher that finished is kept (delete runs/teacher-* to train them again); one cut short restarts.
runs/teacher-%/finished:
	rm -rf runs/teacher-$*
	$(TRAIN) --out runs/teacher-$* --seed $*
	touch $@

# The bundled model: the teachers as one ensemble (README, "The bundled model"). 68 min end to end
# on this 2-core machine from a fresh clone (measured; it rebuilt the committed weights byte for byte).
model: teachers
	$(BIN)/python -m core export-model $(foreach t,$(TEACHERS),--run $(t)) --out $(MODEL) $(EXPORT_ARGS)

# One more run of the recipe trained towards the teachers' averaged scores as well as the labels
# (core/distill.py): a single network, a quarter of the ensemble's tagging cost; the bundled model
# of 2026-12-03 morning (85 min 23 s end to end, measured). Seed 1: of four students, the one with
# the best recorded val top-5 (README).
DISTILL ?= 0.5
STUDENT_SEED ?= 1

distilled-model: teachers
	rm -rf $(RUN)
	$(TRAIN) --out $(RUN) --seed $(STUDENT_SEED) $(foreach t,$(TEACHERS),--teacher $(t)) --distill $(DISTILL)
	$(EXPORT)

clean:
	rm -rf $(VENV) .pytest_cache test-output

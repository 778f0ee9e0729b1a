# fazhi-eval: two set-up commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help run test bench bench-recovery bench-versus lint format validate same-outputs simulate-sample check-sample \
	sample-digests clean-output

## help: list the targets
help:
	@grep -E '^## [a-z-]+:' $(MAKEFILE_LIST) | sed 's/^## /  make /'

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt --config-settings editable_mode=compat -e '.[dev]'
	touch $(STAMP)

## run: create the environment, validate the configuration, run the whole pipeline on raw/
run: $(STAMP)
	$(BIN)/fazhi-eval validate
	@$(BIN)/python -m pipeline.sample_check raw questionnaires
	$(BIN)/fazhi-eval run --raw raw --out output
	@echo "结果 (results): $(CURDIR)/output"
	@echo "统计附录 (appendix): $(CURDIR)/output/09_report/statistics_appendix.docx"

## test: the test suite (unit, reference-against-R, end-to-end)
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

## bench: speed and scale benchmark -> output/bench/bench.json
bench: $(STAMP)
	$(BIN)/python -m bench.run

## lint: ruff check and format check (CI runs it)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## format: ruff format and autofix
format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## validate: check the configuration in questionnaires/
validate: $(STAMP)
	$(BIN)/fazhi-eval validate

## bench-recovery: planted problems recovered by the findings and by the oracle, 5 seeds -> output/bench/recovery.json
bench-recovery: $(STAMP)
	$(BIN)/python -m bench.recovery_bench

## bench-versus: each stage's seconds and peak memory vs REV (default HEAD) at 1M responses, best of 3
bench-versus: $(STAMP)
	$(BIN)/python -m bench.versus --against $(or $(REV),HEAD)

## same-outputs: every stage table equal to the one REV writes (default HEAD)? REV=<git revision>
same-outputs: $(STAMP)
	$(BIN)/python -m bench.same_outputs --against $(or $(REV),HEAD)

## simulate-sample: regenerate the committed sample data in raw/ (fixed seed and plant spec)
simulate-sample: $(STAMP)
	rm -rf raw.new && $(BIN)/fazhi-eval simulate --out raw.new --seed 20231 --plant pipeline/simulate/plant_sample.yaml
	rm -rf raw && mv raw.new raw

## check-sample: warn (never fail) when raw/ was simulated from another configuration than questionnaires/
check-sample: $(STAMP)
	@$(BIN)/python -m pipeline.sample_check raw questionnaires

## sample-digests: refresh tests/fixtures/sample_digests.json after a deliberate simulator or fixture change
sample-digests: $(STAMP)
	$(BIN)/python -m tests.sample_digests

## clean-output: remove the stage outputs
clean-output:
	rm -rf output/0* output/_manifest.json output/bench

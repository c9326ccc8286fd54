# Two commands matter: `make lab` (open the course) and `make test` (prove everything).
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
# nbgrader runs `alembic` by name, and the lab runs `jupyter`: the venv's bin must lead PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: lab test test-fast grade grade-demo bench release venv clean help

help:
	@echo "make lab         set up .venv, start Redis if installed, open JupyterLab on the course"
	@echo "make test        set up .venv and run every test (package, Redis, notebooks, grading, browser)"
	@echo "make grade       autograde grading/submitted/<student>/<assignment>/ into grading/grades.csv and feedback"
	@echo "make grade-demo  nbgrader end to end on three synthetic submissions, then print scores"
	@echo "make bench       python -m bench ratelimit, resilience, scaling, cache and sharding (needs redis-server, nginx, wrk)"
	@echo "make release     regenerate exercises/ from solutions/ with nbgrader"

venv: $(VENV)/.installed-dev

# One stamp per extra: a learner's `make lab` installs the course (JupyterLab, widgets,
# nbgrader); `make test` adds the test tools and the peers the benchmarks compare against.
$(VENV)/.installed-%: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$*]"
	@touch $@

lab: $(VENV)/.installed-course
	@scripts/lab

test: venv
	@scripts/check-system
	$(PY) -m pytest -n auto --maxprocesses 4 --dist loadgroup tests

test-fast: venv
	$(PY) -m pytest -n auto --maxprocesses 4 --dist loadgroup tests -m "not browser and not grading and not notebooks"

grade: $(VENV)/.installed-course
	$(PY) -m autograder.instructor

grade-demo: venv
	$(PY) -m autograder.demo

bench: venv
	$(PY) -m bench ratelimit
	$(PY) -m bench resilience
	$(PY) -m bench scaling
	$(PY) -m bench cache
	$(PY) -m bench sharding

release: venv
	$(PY) -m autograder.release

clean:
	rm -rf grading .pytest_cache build dist *.egg-info

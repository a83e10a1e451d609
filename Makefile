# pdeforge: `make run` and `make test` set everything up on a fresh Debian/Ubuntu machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PREFECT_HOME := $(CURDIR)/.prefect
# PETSc builds from source through pip (about 15 minutes once, then pip's wheel cache).
export PETSC_CONFIGURE_OPTIONS ?= --with-mpi=0 --with-fc=0 --with-debugging=0 --with-x=0
RUN_OUT ?= runs/default
WORKERS ?= 2
DASK_PORT ?= 8786
BENCH_OUT ?= bench
SUITE ?= quick

.PHONY: setup run test bench lint server cluster cluster-stop clean contract docs

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	@if ! ldconfig -p 2>/dev/null | grep -q libopenblas; then \
	  echo "installing libopenblas-dev (system BLAS/LAPACK for PETSc)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq libopenblas-dev; \
	fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	# the CPU build of torch first, so the project's torch range is met without a CUDA download
	$(PIP) install -q "torch==2.13.0" || $(PIP) install -q "torch>=2.4,<2.14"
	$(PIP) install -q petsc==3.26.1
	# petsc4py needs the petsc just installed at build time: no isolation, or pip builds PETSc twice
	$(PIP) install -q "cython>=3" numpy setuptools
	$(PIP) install -q --no-build-isolation petsc4py==3.26.1
	# compat mode puts the checkout on sys.path (a .pth): a folder named like a package in a
	# Dask worker's directory (its spill "storage/") cannot shadow ours as a namespace package
	$(PIP) install -q -e ".[dev,bench]" --config-settings editable_mode=compat
	touch $@

run: setup
	$(VENV)/bin/pdeforge run --out $(RUN_OUT)

test: setup
	$(PY) -m pytest -q

bench: setup
	$(VENV)/bin/pdeforge bench --suite $(SUITE) --out $(BENCH_OUT)

contract: setup
	$(PY) ../shared/contract/check_contract.py

# the user guide as a site in site/ (strict: a broken link or a page left out of nav fails);
# the command reference is regenerated from the CLI first
docs: setup
	$(PY) docs/cli_reference.py
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

lint: setup
	$(VENV)/bin/ruff check pdes storage learning solvers surrogates flows cli benchmarks examples tests

server: setup
	$(VENV)/bin/prefect server start --host 127.0.0.1

# a local Dask scheduler and $(WORKERS) single-thread worker processes on 127.0.0.1:
# `pdeforge generate ... --dask-address tcp://127.0.0.1:$(DASK_PORT)`; logs and pids in .dask/
cluster:  # needs the venv (make setup)
	mkdir -p .dask
	nohup $(VENV)/bin/dask scheduler --host 127.0.0.1 --port $(DASK_PORT) --no-dashboard \
	  > .dask/scheduler.log 2>&1 & echo $$! > .dask/scheduler.pid
	sleep 2
	nohup $(VENV)/bin/dask worker tcp://127.0.0.1:$(DASK_PORT) --nworkers $(WORKERS) \
	  --nthreads 1 --no-dashboard --local-directory .dask --preload flows._warmup \
	  > .dask/workers.log 2>&1 & \
	  echo $$! > .dask/workers.pid
	@echo "cluster at tcp://127.0.0.1:$(DASK_PORT) ($(WORKERS) workers); stop: make cluster-stop"

# waits until the processes are gone (workers close their Prefect clients first), up to
# 30 s each, then kills what is left
cluster-stop:
	-for p in workers scheduler; do test -f .dask/$$p.pid || continue; pid=$$(cat .dask/$$p.pid); \
	  kill $$pid 2>/dev/null; for i in $$(seq 150); do kill -0 $$pid 2>/dev/null || break; \
	  sleep 0.2; done; kill -9 $$pid 2>/dev/null; rm -f .dask/$$p.pid; done

clean:
	rm -rf $(VENV) .prefect .pytest_cache .ruff_cache .hypothesis build *.egg-info runs bench site

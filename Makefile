# The two entry points of README.md; each installs what is missing first
# (tools/install.sh is idempotent and takes seconds once everything is in).
#   make demo   short SelectiveMAE pretraining on generated demo scenes
#   make test   the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_CONFIG ?= configs/selectivemae/selectivemae_vit-tiny-p8_1xb16-20e_demo.py
DEMO_WORK_DIR ?= work_dirs/demo
PYTEST_ARGS ?=

.PHONY: install demo test

install:
	VENV="$(VENV)" bash tools/install.sh

demo: install
	"$(PY)" tools/demo.py --config $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR)

test: install
	"$(PY)" -m pytest tests $(PYTEST_ARGS)

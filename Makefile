# crm_hygiene: PGXS build of the extension, plus the two commands of the README:
#   make demo   installs dependencies, builds, starts a throwaway Postgres, loads a demo workspace
#   make test   installs dependencies, builds, runs unit, regression, pgTAP, load and crash tests
EXTENSION = crm_hygiene
EXTVERSION = 0.1.0

CORE_SRCS = $(sort $(wildcard src/core/*.cpp src/core/*/*.cpp))
PG_SRCS = $(sort $(wildcard src/pg/*.cpp))
MODULE_big = crm_hygiene
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)

SQL_PARTS = $(sort $(wildcard src/sql/*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA = $(wildcard src/sql/upgrades/*.sql)

REGRESS = install workspace resolution signals errors
REGRESS_OPTS = --load-extension=pg_trgm

PG_CPPFLAGS = -I$(CURDIR)/src
PG_CXXFLAGS = -std=c++20 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-register -fvisibility=hidden
SHLIB_LINK = -lstdc++

# PGXS would compile C++ to LLVM bitcode with clang for JIT inlining (and install it). Our triggers
# gain nothing from it, and it would need a clang that understands C++20. 'override' because
# Makefile.global sets it again.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

.PHONY: demo test unit deps
deps:
	scripts/install-deps

unit:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build -j2
	cd build && ctest --output-on-failure

demo: deps
	scripts/demo

test: deps
	scripts/test

# Every object depends on every header: crude, but a stale object is worse than a rebuild.
$(OBJS): $(wildcard src/*/*.hpp src/*/*/*.hpp)

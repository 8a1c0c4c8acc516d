# pgward -- build, test, demo, install.
#
#   make                 build/rel/pgward and build/rel/libpgward.a
#   make check           unit + integration tests (also under ASan/UBSan)
#   make demo            a guarded run on a throwaway PostgreSQL
#   make deps            install the Debian packages it all needs
#   make install PREFIX=/usr/local
PKGS       := libpq jansson inih nettle libarchive
TEST_PKGS  := cmocka
CC         ?= cc
CFLAGS     ?= -O2 -g
PREFIX     ?= /usr/local
CSTD       := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN       := -Wall -Wextra -Werror -Wshadow -Wvla \
              -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition \
              -Wwrite-strings -Wformat=2 -Wpointer-arith -Wundef -fno-common
SAN        := -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
ifdef SANITIZE
# the sanitizer build is a test build: it also has the fault points
# (core/fault.h) the fault-matrix tests kill pgward at
B          := build/san
CFLAGS     += $(SAN) -DPGW_FAULTS
LDFLAGS    += $(SAN)
else
B          := build/rel
endif

DEB_PKGS   := build-essential pkg-config libpq-dev libpg-query-dev \
              libjansson-dev libinih-dev nettle-dev libarchive-dev libzstd-dev libcmocka-dev \
              libgit2-dev git libcurl4-openssl-dev postgresql-15 pgbouncer python3 zstd time

HAVE_PKGS  := $(shell pkg-config --exists $(PKGS) $(TEST_PKGS) 2>/dev/null && test -f /usr/include/pg_query.h && test -f /usr/include/git2.h && echo yes)
ifeq ($(HAVE_PKGS),yes)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
# The small helpers are linked statically: fewer shared objects to map
# and relocate at every start (a no-op run is a few milliseconds).
# libarchive is not linked at all: core/archive.c loads it with dlopen()
# when a backup or restore needs it (it pulls libxml2 and ICU, which cost
# more than a whole no-op run).
PKG_LIBS   := $(shell pkg-config --libs libpq) -l:libjansson.a -l:libinih.a \
              -l:libnettle.a -l:libpg_query.a -lpthread
TEST_CFLAGS := $(shell pkg-config --cflags $(TEST_PKGS))
TEST_LIBS  := $(shell pkg-config --libs $(TEST_PKGS))
endif
ALL_CFLAGS  = $(CSTD) $(WARN) $(CFLAGS) -iquote core $(PKG_CFLAGS)

CORE_SRC   := $(wildcard core/*.c)
CMD_SRC    := $(wildcard cmd/*.c)
CORE_OBJ   := $(patsubst %.c,$(B)/%.o,$(CORE_SRC))
CMD_OBJ    := $(patsubst %.c,$(B)/%.o,$(CMD_SRC))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
EXAMPLE_BIN := $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))

.PHONY: all build-all check demo deps need-deps install clean format format-check unit
all: need-deps
	@$(MAKE) --no-print-directory build-all

build-all: $(B)/pgward $(B)/libpgward.a $(UNIT_BIN) $(EXAMPLE_BIN)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@
$(B)/libpgward.a: $(CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^
$(B)/pgward: $(CMD_OBJ) $(B)/libpgward.a
	$(CC) $(LDFLAGS) $(CMD_OBJ) $(B)/libpgward.a $(PKG_LIBS) -o $@
$(B)/tests/%: tests/unit/%.c $(B)/libpgward.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) $< $(B)/libpgward.a $(LDFLAGS) \
	    $(PKG_LIBS) $(TEST_LIBS) -o $@
$(B)/examples/%: examples/%.c $(B)/libpgward.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< $(B)/libpgward.a $(LDFLAGS) $(PKG_LIBS) -o $@

# The whole suite: release and sanitizer builds, unit and integration tests,
# one summary line at the end (tests/check.sh).
check: need-deps
	@$(MAKE) --no-print-directory build-all
	@$(MAKE) --no-print-directory SANITIZE=1 build-all
	@tests/check.sh build/rel build/san

demo: need-deps
	@$(MAKE) --no-print-directory build-all
	@ci/demo.sh build/rel/pgward

# Installs the Debian packages only when something is missing, so `make
# check` and `make demo` work on a fresh machine and cost nothing after.
need-deps:
	@if [ "$(HAVE_PKGS)" != yes ] || ! test -x /usr/lib/postgresql/15/bin/initdb \
	    || ! command -v pgbouncer >/dev/null || ! command -v python3 >/dev/null || ! command -v zstd >/dev/null; then $(MAKE) --no-print-directory deps; fi
deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEB_PKGS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(B)/pgward $(DESTDIR)$(PREFIX)/bin/pgward
	install -m 644 $(B)/libpgward.a $(DESTDIR)$(PREFIX)/lib/libpgward.a
	install -m 644 core/pgward.h $(DESTDIR)$(PREFIX)/include/pgward.h
	install -m 644 docs/pgward.1 $(DESTDIR)$(PREFIX)/share/man/man1/pgward.1

SRC_FILES = $(wildcard core/*.[ch] cmd/*.[ch] tests/unit/*.c examples/*.c)
format:
	clang-format -i $(SRC_FILES)
format-check:
	clang-format --dry-run -Werror $(SRC_FILES)
clean:
	rm -rf build
-include $(CORE_OBJ:.o=.d) $(CMD_OBJ:.o=.d)

# amanuensis build.
#
# The folder layout is the architecture, and the build follows it:
#   common/*.c        what every layer shares: environment parsing, the default thread count
#   kernels/cpu/*.c   CPU tile kernels (files named *_avx2.c / *_avx512.c get their ISA flags)
#   tiler/*.c         quantize, pad, pack, split matmuls into tile jobs
#   sched/*.c         submission ring, dispatcher, backends, tenants, stats, job graphs
#   sched/xrt/*.c     the xrt backend's software (loopback) device
#   sched/xrt/*.cpp   XRT shim, built only against XRT >= 2.18 (see "XRT" below)
#   whisper/*.c, whisper/*/*.c  the Whisper runtime (audio, model, text, nn, decode, output)
# All of these go into build/libamanuensis.{a,so}.
#   service/*.c       -> build/libamanuensis-service.a (server and worker pieces; not installed)
#   tools/NAME/*.c    -> build/NAME   (amanuensis, npubench, npustat, npustress, ...)
#   tests/test_*.c    -> build/tests/test_*  (Criterion), run by `make test`
#
# Sanitizers: `make asan` and `make tsan` rebuild everything in build-asan/ and
# build-tsan/ and run the same suites there. `make valgrind` runs them under memcheck.

.DEFAULT_GOAL := all
BUILD      ?= build
CC         ?= gcc
CXX        ?= g++
PREFIX     ?= /usr/local
OPT        ?= -O3
SANITIZE   ?=
# The project's own preprocessor flags live in AMN_CPPFLAGS, so that a
# CPPFLAGS=... on the command line adds to them instead of replacing them.
AMN_CPPFLAGS := -I. -D_GNU_SOURCE
CFLAGS     ?= $(OPT) -g -std=c11 -Wall -Wextra -Wno-unused-parameter -fPIC -pthread $(SANITIZE)
CXXFLAGS   ?= $(OPT) -g -std=c++17 -Wall -Wextra -fPIC -pthread $(SANITIZE)
# Only what the public headers declare (inside their visibility pragmas) is
# exported from libamanuensis.so; everything else stays inside the library.
CFLAGS     += -fvisibility=hidden
CXXFLAGS   += -fvisibility=hidden
LDFLAGS    += -pthread $(SANITIZE)

LIBS       := -lsndfile -lsoxr -lfftw3f -luring -lnuma -ljansson -lpcre2-8 -lopenblas -lz -lm
PEER_LIBS  := -ldnnl -lopenblas
# What the service programs (server, queue worker) share beyond the library:
# service/*.c -> build/libamanuensis-service.a, linked by the tools, never installed.
SVC_LIBS   := -lhiredis
# The server alone speaks HTTP: libmicrohttpd is linked by it and its tests only.
SERVER_LIBS := -lmicrohttpd
TOOL_LIBS_amanuensis-server := $(SERVER_LIBS)
TEST_LIBS  := -lcriterion

AVX2_FLAGS   := -mavx2 -mfma -mf16c
AVX512_FLAGS := -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni

# XRT. XRT_DIR is where it is installed: $XILINX_XRT (set by XRT's setup.sh),
# else /opt/xilinx/xrt (AMD's packages), else /usr (distribution packages;
# Debian puts the headers under /usr/include/xrt). The NPU shim is built
# only when a compile test finds XRT_VERSION_CODE >= 2.18 and a working
# hw_context header (scripts/xrt_version.h), and libxrt_coreutil is there;
# otherwise the library is built without it (the loopback device always is).
# XRT_ENABLE=no leaves it out regardless.
XRT_ENABLE ?= auto
XRT_DIR ?= $(or $(XILINX_XRT),$(if $(wildcard /opt/xilinx/xrt/include),/opt/xilinx/xrt,/usr))
XRT_INC ?= $(if $(wildcard $(XRT_DIR)/include/xrt/xrt/xrt_bo.h),$(XRT_DIR)/include/xrt,$(XRT_DIR)/include)
XRT_LIB ?= $(patsubst %/,%,$(dir $(firstword $(wildcard $(XRT_DIR)/lib/libxrt_coreutil.so* \
	     $(XRT_DIR)/lib64/libxrt_coreutil.so* $(XRT_DIR)/lib/x86_64-linux-gnu/libxrt_coreutil.so*))))
ifneq ($(XRT_ENABLE),no)
XRT_CODE    := $(shell $(CXX) -std=c++17 -E -P -x c++ -I$(XRT_INC) scripts/xrt_version.h 2>/dev/null | sed -n 's/^amn_xrt_version //p')
XRT_VERSION := $(if $(XRT_CODE),$(shell echo $$(( ($(XRT_CODE)) >> 16 )).$$(( ($(XRT_CODE)) & 65535 ))))
XRT_NEW     := $(if $(XRT_CODE),$(shell $(CXX) -std=c++17 -fsyntax-only -x c++ -I$(XRT_INC) -DAMN_XRT_REQUIRE scripts/xrt_version.h >/dev/null 2>&1 && echo yes))
endif
LIB_C_SRCS   := $(wildcard common/*.c kernels/cpu/*.c tiler/*.c sched/*.c sched/xrt/*.c whisper/*.c whisper/*/*.c)
LIB_CXX_SRCS :=
XRT_CXXFLAGS :=
ifeq ($(XRT_NEW)$(if $(XRT_LIB),lib),yeslib)
LIB_CXX_SRCS := $(wildcard sched/xrt/*.cpp)
AMN_CPPFLAGS += -DAMN_HAVE_XRT_HWCTX=1
XRT_CXXFLAGS := -I$(XRT_INC)
# -L and an rpath, so that the library finds libxrt_coreutil without
# LD_LIBRARY_PATH; they reach the installed amanuensis.pc through LIBS.
LIBS         += $(if $(filter /usr/lib /usr/lib64 /usr/lib/x86_64-linux-gnu,$(XRT_LIB)),,-L$(XRT_LIB) -Wl,-rpath,$(XRT_LIB)) -lxrt_coreutil
XRT_LINE     := XRT $(XRT_VERSION) at $(XRT_DIR): NPU backend built (xrt, loopback)
else ifneq ($(XRT_ENABLE),no)
XRT_LINE     := $(if $(XRT_VERSION),XRT $(XRT_VERSION) at $(XRT_DIR): $(if $(XRT_NEW),no libxrt_coreutil under $(XRT_DIR),older than 2.18),no XRT at XRT_DIR=$(XRT_DIR)): NPU backend not built (only its loopback device)
else
XRT_LINE     := XRT_ENABLE=no: NPU backend not built (only its loopback device)
endif
# Where the per-family kernel files are looked for by default
# (sched/xrt/npu_xrt_config.h): defined for that one object, so that
# `make install PREFIX=...` does not rebuild the library.
NPU_DATADIR ?= $(PREFIX)/share/amanuensis/npu
$(BUILD)/obj/sched/xrt/npu_xrt_config.o: AMN_CPPFLAGS += -DAMN_NPU_DATADIR='"$(NPU_DATADIR)"'

# `make xrt-check XRT_INCLUDE=DIR`: the shim and the backend compiled with
# -Wall -Wextra -Werror against the XRT headers in DIR (XRT's own headers
# included as system headers: their warnings are not ours). For developers
# with XRT sources or an install; skipped, with a line, when DIR is absent.
XRT_CHECK_FLAGS := -O2 -Wall -Wextra -Werror -fvisibility=hidden -fPIC -pthread
xrt-check:
	@if [ -z "$(XRT_INCLUDE)" ] || [ ! -d "$(XRT_INCLUDE)" ]; then \
	  echo "xrt-check: skipped: XRT_INCLUDE='$(XRT_INCLUDE)' is not a directory (give XRT's include directory)"; \
	  exit 0; fi; \
	set -e; \
	echo "xrt-check: XRT $$($(CXX) -std=c++17 -E -P -x c++ -I$(XRT_INCLUDE) scripts/xrt_version.h | sed -n 's/^amn_xrt_version //p' | { read c; echo $$(( ($$c) >> 16 )).$$(( ($$c) & 65535 )); }) headers in $(XRT_INCLUDE)"; \
	$(CXX) -std=c++17 $(XRT_CHECK_FLAGS) -isystem $(XRT_INCLUDE) -DAMN_XRT_REQUIRE -x c++ -c scripts/xrt_version.h -o /dev/null; \
	$(CXX) -std=c++17 $(XRT_CHECK_FLAGS) $(AMN_CPPFLAGS) -isystem $(XRT_INCLUDE) -c sched/xrt/npu_xrt_shim.cpp -o /dev/null; \
	$(CC) -std=c11 $(XRT_CHECK_FLAGS) $(AMN_CPPFLAGS) -DAMN_HAVE_XRT_HWCTX=1 -c sched/npu_backend_xrt.c -o /dev/null; \
	echo "xrt-check: sched/xrt/npu_xrt_shim.cpp and sched/npu_backend_xrt.c compile cleanly"

ifeq ($(MAKELEVEL),0)
ifeq ($(filter clean setup xrt-check,$(MAKECMDGOALS)),)
$(info xrt: $(XRT_LINE))
endif
endif

# Objects are rebuilt when the compiler or its flags change (a new -f option,
# a sanitizer), not only when sources do: their recipe lines depend on this file.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW   := $(CC) $(CXX) $(AMN_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(CXXFLAGS) $(XRT_CXXFLAGS)
$(shell mkdir -p $(BUILD) && echo '$(FLAGS_NOW)' | cmp -s - $(FLAGS_STAMP) || echo '$(FLAGS_NOW)' > $(FLAGS_STAMP))

LIB_OBJS := $(LIB_C_SRCS:%.c=$(BUILD)/obj/%.o) $(LIB_CXX_SRCS:%.cpp=$(BUILD)/obj/%.o)

TOOL_DIRS  := $(patsubst tools/%/,%,$(sort $(dir $(wildcard tools/*/*.c))))
TOOL_BINS  := $(TOOL_DIRS:%=$(BUILD)/%)
TEST_SRCS  := $(wildcard tests/test_*.c)
TEST_BINS  := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TEST_HELPER_SRCS := $(wildcard tests/helpers/*.c)
TEST_HELPER_OBJS := $(TEST_HELPER_SRCS:%.c=$(BUILD)/obj/%.o)
# The public API: these headers alone are installed (Documentation/api.md).
PUBLIC_HDRS := amanuensis.h sched/npu.h sched/graph.h sched/npu_stats.h tiler/tile.h \
	       whisper/model.h whisper/transcribe.h whisper/output.h whisper/runtime.h whisper/vad.h
SO_VERSION  := 0

.PHONY: all lib tools test asan tsan tsan-run valgrind install install-models clean fuzz soak setup xrt-check
all: lib tools $(TEST_BINS)
lib: $(BUILD)/libamanuensis.a $(BUILD)/libamanuensis.so
tools: $(TOOL_BINS)

$(BUILD)/obj/%_avx2.o: %_avx2.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(AMN_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(AVX2_FLAGS) -MMD -MP -c $< -o $@
$(BUILD)/obj/%_avx512.o: %_avx512.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(AMN_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(AVX512_FLAGS) -MMD -MP -c $< -o $@
$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(AMN_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/obj/%.o: %.cpp $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(AMN_CPPFLAGS) $(CPPFLAGS) $(XRT_CXXFLAGS) $(CXXFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libamanuensis.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libamanuensis.so: $(LIB_OBJS)
	$(CXX) -shared -Wl,-soname,libamanuensis.so.$(SO_VERSION) -Wl,--no-undefined \
	  -o $@ $^ $(LDFLAGS) $(LIBS)

# Tools and tests link the static library: one binary, no LD_LIBRARY_PATH games.
SVC_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard service/*.c))
$(BUILD)/libamanuensis-service.a: $(SVC_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
define tool_rule
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/$(1)/*.c)) $(BUILD)/libamanuensis-service.a $(BUILD)/libamanuensis.a
	$$(CXX) -o $$@ $$(filter %.o,$$^) $(BUILD)/libamanuensis-service.a $(BUILD)/libamanuensis.a $$(LDFLAGS) $$(LIBS) $$(SVC_LIBS) $$(PEER_LIBS) $$(TOOL_LIBS_$(1))
endef
$(foreach t,$(TOOL_DIRS),$(eval $(call tool_rule,$(t))))
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_HELPER_OBJS) $(BUILD)/libamanuensis-service.a $(BUILD)/libamanuensis.a
	@mkdir -p $(dir $@)
	$(CXX) -o $@ $(filter %.o,$^) $(BUILD)/libamanuensis-service.a $(BUILD)/libamanuensis.a $(LDFLAGS) $(LIBS) $(SVC_LIBS) $(PEER_LIBS) $(TEST_LIBS)

# The server carries its page and OpenAPI description inside it (.incbin in
# page.c and openapi.c): those objects are rebuilt when the files change.
$(BUILD)/obj/tools/amanuensis-server/page.o: $(wildcard tools/amanuensis-server/page/index.html)
$(BUILD)/obj/tools/amanuensis-server/openapi.o: $(wildcard tools/amanuensis-server/openapi.json)
# ccache cannot see an .incbin'd file (nor a __has_include that changed its
# answer) and would hand back the object of an older file: not for these two.
$(BUILD)/obj/tools/amanuensis-server/page.o $(BUILD)/obj/tools/amanuensis-server/openapi.o: \
	export CCACHE_DISABLE := 1

# The server's suites (tests/test_server_*.c) link its pieces, all but main.c.
SERVER_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out tools/amanuensis-server/main.c,$(wildcard tools/amanuensis-server/*.c)))
$(BUILD)/tests/test_server_%: $(BUILD)/obj/tests/test_server_%.o $(SERVER_OBJS) $(TEST_HELPER_OBJS) $(BUILD)/libamanuensis-service.a $(BUILD)/libamanuensis.a
	@mkdir -p $(dir $@)
	$(CXX) -o $@ $(filter %.o,$^) $(BUILD)/libamanuensis-service.a $(BUILD)/libamanuensis.a $(LDFLAGS) $(LIBS) $(SVC_LIBS) $(PEER_LIBS) $(SERVER_LIBS) $(TEST_LIBS)

# The queue tests' front door (tests/queue/amq_client.c), driven by tests/queue/*.py.
$(BUILD)/tests/amq_client: $(BUILD)/obj/tests/queue/amq_client.o $(BUILD)/libamanuensis-service.a $(BUILD)/libamanuensis.a
	@mkdir -p $(dir $@)
	$(CXX) -o $@ $(filter %.o,$^) $(BUILD)/libamanuensis-service.a $(BUILD)/libamanuensis.a $(LDFLAGS) $(LIBS) $(SVC_LIBS) $(PEER_LIBS)
all: $(BUILD)/tests/amq_client
# What the loader made of a model (tests/model_shapes/model_probe.c), for
# tests/model_shapes/*.py, which compare it with scripts/make_test_models.py's arrays.
$(BUILD)/tests/model_probe: $(BUILD)/obj/tests/model_shapes/model_probe.o $(BUILD)/libamanuensis-service.a $(BUILD)/libamanuensis.a
	@mkdir -p $(dir $@)
	$(CXX) -o $@ $(filter %.o,$^) $(BUILD)/libamanuensis-service.a $(BUILD)/libamanuensis.a $(LDFLAGS) $(LIBS) $(SVC_LIBS) $(PEER_LIBS)
all: $(BUILD)/tests/model_probe

# The VAD probe (tests/vad/vad_dump.c), driven by tests/vad/*.py against faster-whisper.
$(BUILD)/tests/vad_dump: $(BUILD)/obj/tests/vad/vad_dump.o $(BUILD)/libamanuensis.a
	@mkdir -p $(dir $@)
	$(CXX) -o $@ $(filter %.o,$^) $(BUILD)/libamanuensis.a $(LDFLAGS) $(LIBS)
all: $(BUILD)/tests/vad_dump

# `make test` runs every suite; the closing line counts suites.
# TESTS=name restricts to one suite, e.g. `make test TESTS=test_ring`.
TESTS ?= $(TEST_BINS:$(BUILD)/tests/%=%)

# Python suites (pytest) run after the Criterion ones: the server through the
# real OpenAI client, Chromium and schemathesis; the queue against a real
# redis-server; WER on ../shared/speech against faster-whisper; peak RSS flat
# over audio length (tests/memory). Naming TESTS
# alone skips them.
PY_TESTS ?= $(if $(filter command line,$(origin TESTS)),,tests/server tests/queue tests/accuracy tests/words tests/model_shapes tests/vad tests/memory)
test: all
	@pass=0; fail=0; failed=""; \
	for t in $(TESTS); do \
	  echo "=== $$t"; \
	  if $(TEST_WRAPPER) $(BUILD)/tests/$$t $(TEST_ARGS); then pass=$$((pass+1)); \
	  else fail=$$((fail+1)); failed="$$failed $$t"; fi; \
	done; \
	for p in $(PY_TESTS); do \
	  echo "=== pytest $$p"; \
	  if BUILD_DIR=$(abspath $(BUILD)) python3 -m pytest -q -p no:cacheprovider $$p; then pass=$$((pass+1)); \
	  else fail=$$((fail+1)); failed="$$failed $$p"; fi; \
	done; \
	echo "suites: $$pass passed, $$fail failed"; \
	[ -z "$$failed" ] || { echo "failed suites:$$failed"; exit 1; }

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
	  SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  AMN_TEST_SCALE=small test
# Criterion cannot start under ThreadSanitizer (its arena goes to random
# addresses TSan reserves: Snaipe/Criterion#274), so `make tsan` builds the
# concurrency suites against a small stand-in (tests/tsan/) as plain programs,
# runs them and short npustress runs (emu with faults, cpu, xrt on its
# loopback device with faults and a small weights region, and with hung
# runs), and fails on any
# TSan report.
TSAN_SUITES ?= test_ring test_doorbell test_tenant test_emu test_sched test_graph test_stats \
	       test_tile_pool test_xrt test_xrt_loopback test_npustress test_decoder \
	       test_transcribe test_batch test_queue_worker test_server_fair
TSAN_ENV    := TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=tests/tsan/tsan.supp \
	       $(TSAN_OPTIONS)" AMN_TEST_SCALE=small
tsan:
	$(MAKE) BUILD=build-tsan OPT=-O1 SANITIZE="-fsanitize=thread" tsan-run
tsan-run: $(TSAN_SUITES:%=$(BUILD)/tsan/%) $(BUILD)/npustress
	$(TSAN_ENV) $(BUILD)/npustress -b emu -t 4 -T 2 -d 3 -m 96 -k 256 -N 64 -f 20000
	$(TSAN_ENV) $(BUILD)/npustress -b cpu -t 8 -T 2 -d 2 -m 96 -k 256 -N 64
	$(TSAN_ENV) NPU_XRT_DEVICE=loopback NPU_XRT_LOOPBACK_FAIL_EVERY=50 NPU_WEIGHTS_MB=1 \
	  $(BUILD)/npustress -b xrt -t 4 -T 2 -d 2 -m 96 -k 256 -N 64
	$(TSAN_ENV) NPU_XRT_DEVICE=loopback NPU_XRT_LOOPBACK_HANG_EVERY=40 NPU_XRT_LOOPBACK_HANG_MS=100 \
	  NPU_RUN_TIMEOUT_MS=10 NPU_WEIGHTS_MB=1 $(BUILD)/npustress -b xrt -t 4 -T 2 -d 2 -m 96 -k 256 -N 64
	@for t in $(TSAN_SUITES); do echo "=== tsan $$t"; \
	  $(TSAN_ENV) $(BUILD)/tsan/$$t || { echo "tsan: $$t failed"; exit 1; }; done
$(BUILD)/obj/tsan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(AMN_CPPFLAGS) $(CPPFLAGS) -Itests/tsan/include $(CFLAGS) -MMD -MP -c $< -o $@
# The server's fair queue is a plain pthread module: its suite links it alone.
$(BUILD)/tsan/test_server_fair: $(BUILD)/obj/tsan/tools/amanuensis-server/fair.o
$(BUILD)/tsan/%: $(BUILD)/obj/tsan/tests/%.o $(BUILD)/obj/tsan/tests/tsan/crt_main.o $(TEST_HELPER_SRCS:%.c=$(BUILD)/obj/tsan/%.o) $(BUILD)/libamanuensis-service.a $(BUILD)/libamanuensis.a
	@mkdir -p $(dir $@)
	$(CXX) -o $@ $(filter %.o,$^) $(BUILD)/libamanuensis-service.a $(BUILD)/libamanuensis.a $(LDFLAGS) $(LIBS) $(SVC_LIBS) $(PEER_LIBS)
valgrind:
	$(MAKE) BUILD=build-vg OPT=-O1 \
	  TEST_WRAPPER="valgrind -q --trace-children=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
	  TEST_ARGS="--jobs 1 --no-early-exit" AMN_TEST_SCALE=small test

# A long run for humans: 10 minutes, 32 threads, emu with faults on.
soak: $(BUILD)/npustress
	$(BUILD)/npustress -b emu -t 32 -T 8 -d 600 -f 2000

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/amanuensis $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(BUILD)/libamanuensis.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libamanuensis.so $(DESTDIR)$(PREFIX)/lib/libamanuensis.so.$(SO_VERSION)
	ln -sfn libamanuensis.so.$(SO_VERSION) $(DESTDIR)$(PREFIX)/lib/libamanuensis.so
	for h in $(PUBLIC_HDRS); do install -D -m 644 $$h $(DESTDIR)$(PREFIX)/include/amanuensis/$$h; done
	for b in $(TOOL_BINS); do [ -f $$b ] && install -m 755 $$b $(DESTDIR)$(PREFIX)/bin/ || true; done
	for m in Documentation/man/*.1; do install -D -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/$$(basename $$m); done
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBS@|$(LIBS)|g' scripts/amanuensis.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/amanuensis.pc

# The models of models/ (links followed) into the data folder an installed
# program looks up model names in (<prefix>/share/amanuensis/models), the VAD
# weights (silero_vad_v6.amnv, made by scripts/setup.sh) with them.
install-models:
	install -d $(DESTDIR)$(PREFIX)/share/amanuensis/models
	for m in models/*; do [ -e "$$m" ] && cp -rL "$$m" $(DESTDIR)$(PREFIX)/share/amanuensis/models/ || true; done

setup:
	bash scripts/setup.sh

clean:
	rm -rf build build-asan build-tsan build-vg

# libFuzzer targets for the model loaders (fuzz/fuzz_*.c), built with clang
# against the loader sources only; each runs FUZZ_SECONDS on a seed corpus.
FUZZ_SECONDS ?= 60
# fuzz/fuzz_tile_*.c target the device-side bytes (batches, weights region)
# and link the tiler and the CPU kernels instead.
FUZZ_SRCS    := $(filter-out fuzz/fuzz_tile_%,$(wildcard fuzz/fuzz_*.c))
FUZZ_LIBSRCS := sched/xrt/npu_xrt_instr.c whisper/model/load_ct2.c whisper/model/load_ggml.c whisper/model/ggml_quants.c whisper/model/load_safetensors.c whisper/model/weights_map.c whisper/model/weights.c whisper/model/model.c whisper/model/model_stream.c whisper/model/model_emb.c whisper/model/model_pack.c
FUZZ_TILE_SRCS    := $(wildcard fuzz/fuzz_tile_*.c)
FUZZ_TILE_LIBSRCS := tiler/tile_job.c tiler/tile_region.c tiler/tile_weights.c tiler/tile_pool.c $(wildcard kernels/cpu/*.c common/*.c)
fuzz:
	@mkdir -p $(BUILD)/fuzz
	@for f in $(FUZZ_SRCS); do \
	  n=$$(basename $$f .c); \
	  clang -g -O1 -std=c11 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	    $$f $(FUZZ_LIBSRCS) fuzz/stubs.c -o $(BUILD)/fuzz/$$n -ljansson -lpcre2-8 -lm || exit 1; \
	  mkdir -p $(BUILD)/fuzz/$$n.corpus; \
	  $(BUILD)/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(BUILD)/fuzz/$$n.corpus fuzz/seeds || exit 1; \
	done
	@for f in $(FUZZ_TILE_SRCS); do \
	  n=$$(basename $$f .c); \
	  clang -g -O1 -std=c11 -I. -D_GNU_SOURCE $(AVX512_FLAGS) -pthread \
	    -fsanitize=fuzzer,address,undefined $$f $(FUZZ_TILE_LIBSRCS) -o $(BUILD)/fuzz/$$n -lm || exit 1; \
	  mkdir -p $(BUILD)/fuzz/$$n.corpus; \
	  $(BUILD)/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(BUILD)/fuzz/$$n.corpus fuzz/seeds/tile || exit 1; \
	done

# Reference tensors for the Whisper forward-pass tests, from CTranslate2
# (scripts/ct2_reference.py), generated once per build dir before `make test`.
# Without python3/ctranslate2/faster_whisper or the model, the tests skip.
AMN_MODEL        ?= models/tiny.en
AMN_SHARED_AUDIO ?= ../shared/audio
AMN_REF_DIR      ?= $(BUILD)/ref
export AMN_REF_DIR AMN_MODEL AMN_SHARED_AUDIO
REF_STAMP := $(AMN_REF_DIR)/.stamp
$(REF_STAMP): scripts/ct2_reference.py
	@if python3 -c "import ctranslate2, faster_whisper" 2>/dev/null && [ -d $(AMN_MODEL) ]; then \
	  echo "ref: CTranslate2 reference tensors -> $(AMN_REF_DIR)"; \
	  python3 scripts/ct2_reference.py $(AMN_MODEL) $(AMN_SHARED_AUDIO) $(AMN_REF_DIR) && touch $@; \
	else echo "ref: python3 with ctranslate2 and faster_whisper, or $(AMN_MODEL), missing: forward-pass tests will skip"; fi
test: $(REF_STAMP)
# The same for multilingual base (tests/test_base.c), without the ggml/hf copies.
AMN_BASE_MODEL   ?= models/base
AMN_BASE_REF_DIR ?= $(BUILD)/ref-base
export AMN_BASE_MODEL AMN_BASE_REF_DIR
BASE_REF_STAMP := $(AMN_BASE_REF_DIR)/.stamp
$(BASE_REF_STAMP): scripts/ct2_reference.py
	@if python3 -c "import ctranslate2, faster_whisper" 2>/dev/null && [ -d $(AMN_BASE_MODEL) ]; then \
	  echo "ref: CTranslate2 reference tensors (base) -> $(AMN_BASE_REF_DIR)"; \
	  python3 scripts/ct2_reference.py --no-convert $(AMN_BASE_MODEL) $(AMN_SHARED_AUDIO) $(AMN_BASE_REF_DIR) && touch $@; \
	else echo "ref: python3 with ctranslate2 and faster_whisper, or $(AMN_BASE_MODEL), missing: base tests will skip"; fi
test: $(BASE_REF_STAMP)
# faster-whisper log-mel features (80 and 128 bins) for tests/test_mel.c.
MEL_REF_STAMP := $(AMN_REF_DIR)/mel80/.stamp
$(MEL_REF_STAMP): scripts/mel_reference.py
	@if python3 -c "import faster_whisper" 2>/dev/null && [ -d $(AMN_SHARED_AUDIO) ]; then \
	  echo "ref: faster-whisper log-mel -> $(AMN_REF_DIR)/mel80, mel128"; \
	  python3 scripts/mel_reference.py --audio-dir $(AMN_SHARED_AUDIO) --n-mels 128 $(AMN_REF_DIR)/mel128 && \
	  python3 scripts/mel_reference.py --audio-dir $(AMN_SHARED_AUDIO) $(AMN_REF_DIR)/mel80 && touch $@; \
	else echo "ref: python3 with faster_whisper, or $(AMN_SHARED_AUDIO), missing: mel reference tests will skip"; fi
test: $(MEL_REF_STAMP)

export AMN_TEST_SCALE

# The installed library as a user gets it (tests/test_install.c): `make test`
# first installs into a scratch DESTDIR; the suite builds a program against it
# with pkg-config and checks the exported symbols (scripts/check_api.py).
AMN_INSTALL_DIR    ?= $(abspath $(BUILD))/install-test
AMN_INSTALL_CFLAGS := $(SANITIZE)
export AMN_INSTALL_DIR AMN_INSTALL_CFLAGS
INSTALL_STAMP := $(AMN_INSTALL_DIR)/.stamp
$(INSTALL_STAMP): $(BUILD)/libamanuensis.so $(BUILD)/libamanuensis.a $(PUBLIC_HDRS) scripts/amanuensis.pc.in
	rm -rf $(AMN_INSTALL_DIR)
	$(MAKE) --no-print-directory install DESTDIR=$(AMN_INSTALL_DIR) PREFIX=/usr > /dev/null
	touch $@
test: $(INSTALL_STAMP)
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

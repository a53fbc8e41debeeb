# DIALGRID_SANITIZE selects a sanitizer build of everything (Dialgrid code, tests, tools):
#   OFF (default)            no sanitizer
#   ON, address              AddressSanitizer + UndefinedBehaviorSanitizer
#   thread                   ThreadSanitizer (cannot be combined with address)
# Debian's gRPC, Abseil, protobuf and librdkafka are not instrumented: see
# docs/development.md for what that means under ThreadSanitizer.
set(DIALGRID_SANITIZE OFF CACHE STRING
  "Sanitizer build: OFF, ON/address (ASan+UBSan) or thread (TSan)")
set_property(CACHE DIALGRID_SANITIZE PROPERTY STRINGS OFF ON address thread)

string(TOLOWER "${DIALGRID_SANITIZE}" _dialgrid_sanitize)
if(_dialgrid_sanitize STREQUAL "thread" OR _dialgrid_sanitize STREQUAL "tsan")
  set(DIALGRID_SANITIZER thread)
  # -U__SANITIZE_THREAD__: protobuf's map_field.h changes MapFieldBase's
  # layout when that macro is defined, and Debian's libprotobuf.so was built
  # without it: reflection over a map field then crashes (docs/development.md).
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -U__SANITIZE_THREAD__)
  add_link_options(-fsanitize=thread)
  # C11 <threads.h> forwarded to pthreads, so ThreadSanitizer knows
  # librdkafka's threads and locks (see the file). Linked into every
  # executable defined after this point.
  add_library(dialgrid_tsan_c11_threads OBJECT ${CMAKE_CURRENT_LIST_DIR}/tsan_c11_threads.c)
  link_libraries("$<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:dialgrid_tsan_c11_threads>")
elseif(_dialgrid_sanitize STREQUAL "address" OR _dialgrid_sanitize STREQUAL "address,undefined"
       OR _dialgrid_sanitize STREQUAL "asan")
  set(DIALGRID_SANITIZER address)
elseif(NOT DIALGRID_SANITIZE)
  set(DIALGRID_SANITIZER "")
elseif(_dialgrid_sanitize MATCHES "^(on|yes|true|y|1)$")
  set(DIALGRID_SANITIZER address)
else()
  message(FATAL_ERROR "DIALGRID_SANITIZE=${DIALGRID_SANITIZE}: expected OFF, ON, address or thread")
endif()

if(DIALGRID_SANITIZER STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(DIALGRID_SANITIZER)
  message(STATUS "Dialgrid sanitizer build: ${DIALGRID_SANITIZER}")
endif()

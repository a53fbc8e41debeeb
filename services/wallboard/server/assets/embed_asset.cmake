# The wallboard's page, script and style live in plain files (readable,
# diffable) and are compiled into the binary, so it serves them with no file
# system and no network (no CDN).
#
#   wallboard_embed_assets(<target> <file>...)
#
# services/wallboard/server/assets/wallboard.js becomes the header
# "services/wallboard/server/assets/wallboard.js.h" (under build/gen-assets)
# declaring  namespace dialgrid::wallboard::assets { inline constexpr char kWallboardJs[] = "..."; }
# Run as a script (cmake -P) it writes one header: -DIN=<file> -DOUT=<header>.

if(CMAKE_SCRIPT_MODE_FILE)
  file(READ "${IN}" body)
  get_filename_component(base "${IN}" NAME)
  string(REGEX REPLACE "[^A-Za-z0-9]+" ";" parts "${base}")
  set(name "k")
  foreach(part IN LISTS parts)
    if(part STREQUAL "")
      continue()
    endif()
    string(SUBSTRING "${part}" 0 1 first)
    string(SUBSTRING "${part}" 1 -1 rest)
    string(TOUPPER "${first}" first)
    string(APPEND name "${first}${rest}")
  endforeach()
  string(FIND "${body}" ")dgasset\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${IN} contains the raw string delimiter )dgasset\"")
  endif()
  file(WRITE "${OUT}.tmp" "// Generated from ${base} by embed_asset.cmake; edit that file.\n"
    "#pragma once\n\nnamespace dialgrid::wallboard::assets {\n"
    "inline constexpr char ${name}[] = R\"dgasset(${body})dgasset\";\n"
    "}  // namespace dialgrid::wallboard::assets\n")
  file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
  file(REMOVE "${OUT}.tmp")
  return()
endif()

set(WALLBOARD_ASSET_GEN_DIR "${CMAKE_BINARY_DIR}/gen-assets")
set(WALLBOARD_EMBED_SCRIPT "${CMAKE_CURRENT_LIST_FILE}")

function(wallboard_embed_assets target)
  set(headers)
  foreach(asset IN LISTS ARGN)
    get_filename_component(abs "${asset}" ABSOLUTE)
    file(RELATIVE_PATH rel "${CMAKE_SOURCE_DIR}" "${abs}")
    set(out "${WALLBOARD_ASSET_GEN_DIR}/${rel}.h")
    get_filename_component(out_dir "${out}" DIRECTORY)
    file(MAKE_DIRECTORY "${out_dir}")
    add_custom_command(OUTPUT "${out}"
      COMMAND ${CMAKE_COMMAND} -DIN=${abs} -DOUT=${out} -P ${WALLBOARD_EMBED_SCRIPT}
      DEPENDS "${abs}" "${WALLBOARD_EMBED_SCRIPT}"
      COMMENT "Embedding ${rel}" VERBATIM)
    list(APPEND headers "${out}")
  endforeach()
  target_sources(${target} PRIVATE ${headers})
  target_include_directories(${target} PRIVATE "${WALLBOARD_ASSET_GEN_DIR}")
endfunction()

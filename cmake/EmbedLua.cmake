# Lua scripts live in .lua files (readable, diffable) and are compiled into the
# binary: each file becomes a header with one string constant.
#
#   dialgrid_lua_scripts(<target> <file.lua>...)
#
# services/x/adapters/lua/put_thing.lua becomes the header
# "services/x/adapters/lua/put_thing.lua.h" (under build/gen-lua) declaring
#   namespace dialgrid::lua { inline constexpr char kPutThing[] = "..."; }
# Run as a script (cmake -P) it writes one header: -DIN=<lua> -DOUT=<header>.

if(CMAKE_SCRIPT_MODE_FILE)
  file(READ "${IN}" body)
  get_filename_component(stem "${IN}" NAME_WE)
  string(REPLACE "_" ";" parts "${stem}")
  set(name "k")
  foreach(part IN LISTS parts)
    string(SUBSTRING "${part}" 0 1 first)
    string(SUBSTRING "${part}" 1 -1 rest)
    string(TOUPPER "${first}" first)
    string(APPEND name "${first}${rest}")
  endforeach()
  string(FIND "${body}" ")dglua\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${IN} contains the raw string delimiter )dglua\"")
  endif()
  file(WRITE "${OUT}.tmp" "// Generated from ${stem}.lua by cmake/EmbedLua.cmake; edit the .lua file.\n"
    "#pragma once\n\nnamespace dialgrid::lua {\n"
    "inline constexpr char ${name}[] = R\"dglua(${body})dglua\";\n}  // namespace dialgrid::lua\n")
  file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
  file(REMOVE "${OUT}.tmp")
  return()
endif()

set(DIALGRID_LUA_GEN_DIR "${CMAKE_BINARY_DIR}/gen-lua")
set(DIALGRID_EMBED_LUA_SCRIPT "${CMAKE_CURRENT_LIST_FILE}")

function(dialgrid_lua_scripts target)
  set(headers)
  foreach(lua IN LISTS ARGN)
    get_filename_component(abs "${lua}" ABSOLUTE)
    file(RELATIVE_PATH rel "${CMAKE_SOURCE_DIR}" "${abs}")
    set(out "${DIALGRID_LUA_GEN_DIR}/${rel}.h")
    get_filename_component(out_dir "${out}" DIRECTORY)
    file(MAKE_DIRECTORY "${out_dir}")
    add_custom_command(OUTPUT "${out}"
      COMMAND ${CMAKE_COMMAND} -DIN=${abs} -DOUT=${out} -P ${DIALGRID_EMBED_LUA_SCRIPT}
      DEPENDS "${abs}" "${DIALGRID_EMBED_LUA_SCRIPT}"
      COMMENT "Embedding ${rel}" VERBATIM)
    list(APPEND headers "${out}")
  endforeach()
  target_sources(${target} PRIVATE ${headers})
  target_include_directories(${target} PRIVATE "${DIALGRID_LUA_GEN_DIR}")
endfunction()

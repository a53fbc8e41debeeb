# dialgrid_warnings(<target>): strict warnings on Dialgrid's own code.
function(dialgrid_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wimplicit-fallthrough)
  if(DIALGRID_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Manual pages: scdoc sources in deploy/man/, roff generated into the build tree at build
# time and installed to share/man/man5 and man8. scdoc is a build dependency
# (scripts/install-deps.sh); -DDOCKERBOX_MAN=OFF builds and installs without them.
option(DOCKERBOX_MAN "Generate and install the manual pages (needs scdoc)" ON)
if(NOT DOCKERBOX_MAN)
  return()
endif()
find_program(SCDOC_EXECUTABLE scdoc)
if(NOT SCDOC_EXECUTABLE)
  message(FATAL_ERROR "scdoc not found: install it (scripts/install-deps.sh) or configure with -DDOCKERBOX_MAN=OFF")
endif()

set(_dockerbox_man_pages dockerboxd.8 dockerboxctl.8 dockerbox-policy.5)
set(_dockerbox_man_outputs)
foreach(page ${_dockerbox_man_pages})
  set(source ${CMAKE_CURRENT_LIST_DIR}/man/${page}.scd)
  set(output ${CMAKE_BINARY_DIR}/deploy/man/${page})
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/deploy/man
    COMMAND sh -c "\"$0\" < \"$1\" > \"$2\"" ${SCDOC_EXECUTABLE} ${source} ${output}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${output}.tmp ${output}
    DEPENDS ${source}
    COMMENT "scdoc ${page}"
    VERBATIM)
  list(APPEND _dockerbox_man_outputs ${output})
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  install(FILES ${output} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(dockerbox-man ALL DEPENDS ${_dockerbox_man_outputs})

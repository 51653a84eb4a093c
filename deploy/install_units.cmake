# Runs at install time (from deploy/install.cmake's install(CODE)), where CMAKE_INSTALL_PREFIX
# is the prefix of this installation and file(INSTALL) adds DESTDIR. Rewrites the /usr paths
# the units name for that prefix and installs them.
function(dockerbox_full_path out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

dockerbox_full_path(sbin "${DOCKERBOX_SBINDIR}")
dockerbox_full_path(helpers "${DOCKERBOX_HELPERDIR}")
dockerbox_full_path(systemd "${DOCKERBOX_SYSTEMD_DIR}")

file(MAKE_DIRECTORY "${DOCKERBOX_UNIT_STAGE_DIR}")
foreach(unit dockerbox.service dockerbox.socket)
  file(READ "${DOCKERBOX_UNIT_SOURCE_DIR}/${unit}" text)
  string(REPLACE "=/usr/sbin/dockerboxd" "=${sbin}/dockerboxd" text "${text}")
  string(REPLACE "=/usr/libexec/dockerbox/" "=${helpers}/" text "${text}")
  string(REPLACE "=/etc/dockerbox/" "=${DOCKERBOX_POLICY_DIR}/" text "${text}")
  file(WRITE "${DOCKERBOX_UNIT_STAGE_DIR}/${unit}" "${text}")
  file(INSTALL DESTINATION "${systemd}/systemd/system" TYPE FILE
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES "${DOCKERBOX_UNIT_STAGE_DIR}/${unit}")
endforeach()

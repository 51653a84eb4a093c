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

# One staging directory per prefix and DESTDIR: installations running at the same time
# (cpack and a DESTDIR install in parallel tests) must not pick up each other's rewrite.
string(MD5 stage_key "${CMAKE_INSTALL_PREFIX}|$ENV{DESTDIR}")
set(stage "${DOCKERBOX_UNIT_STAGE_DIR}/${stage_key}")
file(MAKE_DIRECTORY "${stage}")
foreach(unit dockerbox.service dockerbox.socket dockerbox-registry.socket dockerbox-registry@.service)
  file(READ "${DOCKERBOX_UNIT_SOURCE_DIR}/${unit}" text)
  string(REPLACE "=/usr/sbin/dockerboxd" "=${sbin}/dockerboxd" text "${text}")
  string(REPLACE "=/usr/libexec/dockerbox/" "=${helpers}/" text "${text}")
  string(REPLACE "=/etc/dockerbox/" "=${DOCKERBOX_POLICY_DIR}/" text "${text}")
  file(WRITE "${stage}/${unit}" "${text}")
  file(INSTALL DESTINATION "${systemd}/systemd/system" TYPE FILE
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES "${stage}/${unit}")
endforeach()
file(REMOVE_RECURSE "${stage}")

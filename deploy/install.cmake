# Install rules and the Debian package (issue 13: install and run it like a system daemon).
# Included last from the top-level CMakeLists.txt; owns no code, only layout.
#
#   cmake --install build [--prefix /usr]      honours DESTDIR and the prefix
#   cpack -G DEB  (in the build dir)  or  cmake --build build --target package-deb
#
# Layout with prefix /usr (the package's):
#   /usr/sbin/dockerboxd, /usr/sbin/dockerboxctl
#   /usr/libexec/dockerbox/dockerbox-{frontend,engine,registry,init}
#   /usr/lib/systemd/system/dockerbox.{service,socket}
#   /usr/lib/sysusers.d/dockerbox.conf, /usr/lib/tmpfiles.d/dockerbox.conf
#   /usr/share/man/man5/dockerbox-policy.5, /usr/share/man/man8/dockerbox{d,ctl}.8
#   /etc/dockerbox/policy.toml (a conffile: an edited policy is never overwritten)
include(GNUInstallDirs)

# dockerboxd finds its helpers beside itself unless told otherwise; the shipped unit tells it
# (DOCKERBOX_FRONTEND_PATH, DOCKERBOX_ENGINE_PATH, DOCKERBOX_INIT_PATH), with the paths rewritten for the prefix.
set(DOCKERBOX_HELPERDIR "${CMAKE_INSTALL_LIBEXECDIR}/dockerbox" CACHE STRING
    "where dockerbox-frontend, dockerbox-engine, dockerbox-registry, dockerbox-proxy and dockerbox-init are installed (relative to the prefix)")
set(DOCKERBOX_SYSTEMD_DIR "lib" CACHE STRING
    "parent of systemd/system, sysusers.d and tmpfiles.d (relative to the prefix; not the multiarch libdir)")
# dockerboxd and dockerboxctl read /etc/dockerbox/policy.toml by default, whatever the prefix.
set(DOCKERBOX_POLICY_DIR "/etc/dockerbox" CACHE PATH "where the default policy is installed")

install(TARGETS dockerboxd dockerboxctl RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
# dockerbox-init is checked at start: root-owned and not writable by group or others, nor is
# its directory (broker/main.cpp). install() gives 0755 files in 0755 directories.
install(TARGETS dockerbox-frontend dockerbox-engine dockerbox-registry dockerbox-proxy dockerbox-init
        RUNTIME DESTINATION ${DOCKERBOX_HELPERDIR})

install(FILES ${CMAKE_CURRENT_LIST_DIR}/sysusers.conf
        DESTINATION ${DOCKERBOX_SYSTEMD_DIR}/sysusers.d RENAME dockerbox.conf)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/tmpfiles.conf
        DESTINATION ${DOCKERBOX_SYSTEMD_DIR}/tmpfiles.d RENAME dockerbox.conf)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/policy.toml DESTINATION ${DOCKERBOX_POLICY_DIR}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# The units name /usr paths; they are rewritten when installed, with the prefix given at
# install time (cmake --install --prefix), so that ExecStart= and the helper paths match
# where the binaries went.
install(CODE "
  set(DOCKERBOX_UNIT_SOURCE_DIR \"${CMAKE_CURRENT_LIST_DIR}\")
  set(DOCKERBOX_UNIT_STAGE_DIR \"${CMAKE_BINARY_DIR}/deploy/units\")
  set(DOCKERBOX_SBINDIR \"${CMAKE_INSTALL_SBINDIR}\")
  set(DOCKERBOX_HELPERDIR \"${DOCKERBOX_HELPERDIR}\")
  set(DOCKERBOX_SYSTEMD_DIR \"${DOCKERBOX_SYSTEMD_DIR}\")
  set(DOCKERBOX_POLICY_DIR \"${DOCKERBOX_POLICY_DIR}\")
  include(\"${CMAKE_CURRENT_LIST_DIR}/install_units.cmake\")
")

include(${CMAKE_CURRENT_LIST_DIR}/man.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/package.cmake)

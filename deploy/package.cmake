# The Debian package, built by CPack from an installation of this tree:
#   cpack -G DEB            (in the build dir)
#   cmake --build build --target package-deb
# Maintainer scripts: deploy/debian/. /etc/dockerbox/policy.toml is a conffile.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dockerbox)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Docker Engine API for miniboxd without root equivalence")
set(CPACK_PACKAGE_DESCRIPTION
    "dockerbox serves the Docker Engine API on a Unix socket for the members of one group and\n\
passes what its policy allows to miniboxd. Identity comes from the kernel, every request is\n\
decided by a policy file and recorded in a hash-chained audit log, and the HTTP and JSON\n\
parsing runs in a sandboxed, unprivileged frontend.")
set(DOCKERBOX_PACKAGE_MAINTAINER "dockerbox developers <root@localhost>" CACHE STRING
    "Maintainer field of the Debian package")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${DOCKERBOX_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_NAME dockerbox)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The runtime libraries come from dpkg-shlibdeps (libboost-json, libcapnp, libspdlog,
# libseccomp, libcap, libsystemd, ...). The maintainer scripts create the users with
# systemd-sysusers, or with adduser where systemd is not installed.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The package installs to /usr (and /etc), whatever prefix this build was configured with.
# DESTDIR staging (not a staging prefix) keeps the prefix the unit files are rewritten for
# (install_units.cmake) equal to the one on the target system, and /etc absolute.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
# Debug information stays in the build tree; the package carries stripped binaries.
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_THREADS 0)  # xz on every core
if(DOCKERBOX_SANITIZE)
  # A sanitizer build's package exists only for the packaging tests (its binaries are never
  # shipped): its ~400 MB of instrumented binaries take minutes to xz on two cores.
  set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)
endif()

configure_file(${CMAKE_CURRENT_LIST_DIR}/debian/conffiles.in ${CMAKE_BINARY_DIR}/deploy/debian/conffiles @ONLY)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/deploy/debian/conffiles
    ${CMAKE_CURRENT_LIST_DIR}/debian/postinst
    ${CMAKE_CURRENT_LIST_DIR}/debian/prerm
    ${CMAKE_CURRENT_LIST_DIR}/debian/postrm)

include(CPack)

add_custom_target(package-deb
  COMMAND ${CMAKE_CPACK_COMMAND} -G DEB --config ${CMAKE_BINARY_DIR}/CPackConfig.cmake
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
  COMMENT "Building the dockerbox Debian package"
  VERBATIM)

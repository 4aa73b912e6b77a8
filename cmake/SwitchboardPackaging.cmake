# Debian packages built by CPack from the install rules (`make package`, docs/DEPLOYMENT.md):
#   switchboard          the broker executable (monitor window included), its systemd unit, the
#                        default config (a conffile), the docs, alert rules and dashboards
#   libswitchboard-dev   headers, static libraries and the CMake package of Switchboard::client,
#                        Switchboard::worker and Switchboard::protocol
#
# Which build: the packages come from the dev tree (CMakePresets.json, RelWithDebInfo: -O2 with
# debug info), stripped by CPack. That build is optimised like a release and CI already makes it
# for `make test`, so packaging costs an install and a compression (seconds), not a third full
# build (~10 min on two cores, beside the dev and asan trees, in a CI that must stay under 45 min).
# -Werror and the tests in that tree change nothing in the shipped files. CPack installs under
# /usr whatever CMAKE_INSTALL_PREFIX says (CPACK_PACKAGING_INSTALL_PREFIX), so
# `make install PREFIX=...` keeps its own default.

# Files that only make sense at their absolute Debian paths (/etc, /lib/systemd) are
# EXCLUDE_FROM_ALL: CPack installs them with their component, `make install PREFIX=$HOME/.local`
# (no component given) leaves them out instead of writing to /etc.
install(FILES ${PROJECT_SOURCE_DIR}/resources/switchboard.service
    DESTINATION /lib/systemd/system COMPONENT switchboard EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/resources/switchboard.conf
    DESTINATION /etc/switchboard COMPONENT switchboard EXCLUDE_FROM_ALL)

# README.md keeps docs/ beside it, so its links (docs/DEPLOYMENT.md, ...) still work.
install(FILES ${PROJECT_SOURCE_DIR}/README.md
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/switchboard COMPONENT switchboard)
file(GLOB switchboard_docs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${switchboard_docs}
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/switchboard/docs COMPONENT switchboard)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/images
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/switchboard/docs COMPONENT switchboard)

# Operator files that are not configuration: Prometheus alert rules, Grafana dashboards. A folder
# of resources/ named here is installed as /usr/share/switchboard/<folder> once it exists.
foreach(folder prometheus grafana)
    if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/resources/${folder})
        install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/${folder}
            DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/switchboard COMPONENT switchboard)
    endif()
endforeach()

# CPACK_STRIP_FILES strips executables only. Static libraries lose their debug info too, as
# dh_strip does for Debian's own -dev packages: 30 MB of archives become 1.3 MB.
foreach(library switchboard_protocol switchboard_client switchboard_worker)
    install(CODE "if(CMAKE_INSTALL_DO_STRIP)
        execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-debug
            \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/$<TARGET_FILE_NAME:${library}>\"
            COMMAND_ERROR_IS_FATAL ANY)
    endif()" COMPONENT dev)
endforeach()

set(SWITCHBOARD_PACKAGE_MAINTAINER
    "Switchboard maintainers <maintainers@users.noreply.h-seed-92740a80.example>"
    CACHE STRING "Maintainer field of the Debian packages")
set(SWITCHBOARD_PACKAGE_HOMEPAGE "https://switchboard.example/"
    CACHE STRING "Homepage field of the Debian packages")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME switchboard)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Switchboard")
set(CPACK_PACKAGE_CONTACT ${SWITCHBOARD_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_HOMEPAGE_URL ${SWITCHBOARD_PACKAGE_HOMEPAGE})
# CPack 3.25 writes CPACK_PACKAGE_DESCRIPTION_SUMMARY (the project's DESCRIPTION by default) above
# every component's description unless it is CPack's own default text; each package's
# description below starts with its own synopsis line instead.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# The host's packages are what the binary was linked against, so they are its architecture too.
execute_process(COMMAND dpkg --print-architecture
    OUTPUT_VARIABLE switchboard_deb_arch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(switchboard_deb_arch)
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${switchboard_deb_arch})
endif()

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL switchboard dev)
# name_version_arch.deb
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Maintainer scripts 0755, conffiles 0644, whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_SWITCHBOARD_PACKAGE_NAME switchboard)
set(CPACK_DEBIAN_SWITCHBOARD_PACKAGE_SECTION net)
# dpkg-shlibdeps lists the runtime packages of the libraries the binary links (Qt, libzmq,
# prometheus-cpp, libsystemd, libstdc++), at the versions it was built against.
set(CPACK_DEBIAN_SWITCHBOARD_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_SWITCHBOARD_DESCRIPTION
    "RPC broker over ZeroMQ (Majordomo 7/MDP) with a live monitor
Switchboard routes requests from clients to workers on many machines, speaking
the Majordomo Protocol (7/MDP, 18/MDP streaming, 8/MMI), so MDP peers in any
language work with it. The same executable is the broker, its desktop monitor
and a command-line client. Ships a hardened systemd unit (not enabled on
install) and a commented configuration in /etc/switchboard.")
set(CPACK_DEBIAN_SWITCHBOARD_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/cmake/debian/conffiles
    ${PROJECT_SOURCE_DIR}/cmake/debian/postinst
    ${PROJECT_SOURCE_DIR}/cmake/debian/prerm
    ${PROJECT_SOURCE_DIR}/cmake/debian/postrm)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libswitchboard-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# What SwitchboardConfig.cmake find_dependency()s and the public headers include: cppzmq (and
# the libzmq it wraps), msgpack-cxx. Static libraries: nothing for dpkg-shlibdeps to find.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "cppzmq-dev, libzmq3-dev, libmsgpack-cxx-dev")
set(CPACK_DEBIAN_DEV_DESCRIPTION
    "C++ client and worker libraries for the Switchboard RPC broker
Switchboard::client calls services through a Switchboard (or any 7/MDP) broker,
Switchboard::worker serves them: plain C++20 on cppzmq and msgpack-cxx, no Qt,
callable from any thread. Headers, static libraries and the CMake package
(find_package(Switchboard)).")

include(CPack)

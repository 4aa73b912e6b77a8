# Runs as `cmake -P` (tests/package/CMakeLists.txt): cpack builds the .deb files from the build
# in BUILD_DIR into WORK_DIR, dpkg-deb shows what they hold, and they are extracted into
# WORK_DIR/root (dpkg-deb -x: no maintainer scripts, no dpkg database, no root) to be used from
# there as an installed system would.
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out
        TIMEOUT 240)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "failed (${result}): ${ARGN}\n${out}")
    endif()
    set(output "${out}" PARENT_SCOPE)
endfunction()

# The package names of a Depends field, without versions: "a (>= 1), b | c" gives a;b;c.
function(depends_list deb out)
    run(dpkg-deb --field ${deb} Depends)
    string(REGEX REPLACE "\\([^)]*\\)" "" names "${output}")
    string(REGEX REPLACE "[ \n]" "" names "${names}")
    string(REGEX REPLACE "[,|]" ";" names "${names}")
    set(${out} ${names} PARENT_SCOPE)
endfunction()

function(expect_depends what depends package)
    if(NOT package IN_LIST depends)
        message(FATAL_ERROR "${what}: Depends lacks ${package}: ${depends}")
    endif()
endfunction()

function(expect_match what text regex)
    if(NOT text MATCHES "${regex}")
        message(FATAL_ERROR "${what}: expected to match '${regex}', got:\n${text}")
    endif()
endfunction()

# CPack needs dpkg-shlibdeps (dpkg-dev) and file for the dependency list.
foreach(tool dpkg-deb dpkg-shlibdeps file)
    find_program(${tool}_path ${tool})
    if(NOT ${tool}_path)
        message(FATAL_ERROR "${tool} is missing: install dpkg-dev and file (`make deps` does)")
    endif()
endforeach()
execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE arch
    OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND dpkg-architecture --query DEB_HOST_MULTIARCH OUTPUT_VARIABLE multiarch
    OUTPUT_STRIP_TRAILING_WHITESPACE)

run(${CPACK_COMMAND} --config ${CPACK_CONFIG} -B ${WORK_DIR}/packages)
set(broker_deb ${WORK_DIR}/packages/switchboard_${VERSION}_${arch}.deb)
set(dev_deb ${WORK_DIR}/packages/libswitchboard-dev_${VERSION}_${arch}.deb)
file(GLOB debs ${WORK_DIR}/packages/*.deb)
list(SORT debs)
set(expected_debs ${dev_deb} ${broker_deb})
if(NOT debs STREQUAL expected_debs)
    message(FATAL_ERROR "cpack made '${debs}', expected '${expected_debs}':\n${output}")
endif()

# The control fields.
foreach(deb broker_deb dev_deb)
    run(dpkg-deb --field ${${deb}} Version Architecture Maintainer Homepage Description)
    expect_match("${deb} Version" "${output}" "Version: ${VERSION}\n")
    expect_match("${deb} Architecture" "${output}" "Architecture: ${arch}\n")
    expect_match("${deb} Maintainer" "${output}" "Maintainer: [^\n]+ <[^\n]+@[^\n]+>\n")
    expect_match("${deb} Homepage" "${output}" "Homepage: https?://")
    expect_match("${deb} Description" "${output}" "Description: [^\n]+\n [^\n]+")
endforeach()
# Each package has a synopsis of its own, not the project's.
run(dpkg-deb --field ${broker_deb} Description)
expect_match("switchboard Description" "${output}" "^RPC broker[^\n]*\n")
run(dpkg-deb --field ${dev_deb} Description)
expect_match("libswitchboard-dev Description" "${output}"
    "^C\\+\\+ client and worker libraries[^\n]*\n")
depends_list(${dev_deb} dev_depends)
foreach(package cppzmq-dev libzmq3-dev libmsgpack-cxx-dev)
    expect_depends("libswitchboard-dev" "${dev_depends}" ${package})
endforeach()
depends_list(${broker_deb} broker_depends)
run(dpkg-deb --info ${broker_deb} conffiles)
expect_match("switchboard conffiles" "${output}" "^/etc/switchboard/switchboard.conf\n$")
foreach(script postinst prerm postrm)
    run(dpkg-deb --info ${broker_deb} ${script})
    expect_match("switchboard ${script}" "${output}" "^#!/bin/sh\n")
endforeach()

# The files, where Debian puts them.
run(dpkg-deb --contents ${broker_deb})
foreach(path
        "./usr/bin/switchboard"
        "./lib/systemd/system/switchboard.service"
        "./etc/switchboard/switchboard.conf"
        "./usr/share/doc/switchboard/README.md"
        "./usr/share/doc/switchboard/docs/DEPLOYMENT.md")
    expect_match("switchboard contents" "${output}" " ${path}\n")
endforeach()
foreach(folder prometheus grafana)
    if(IS_DIRECTORY ${SOURCE_DIR}/resources/${folder})
        expect_match("switchboard contents" "${output}" " ./usr/share/switchboard/${folder}/")
    endif()
endforeach()
run(dpkg-deb --contents ${dev_deb})
foreach(path
        "./usr/include/switchboard/client.h"
        "./usr/include/switchboard/worker.h"
        "./usr/include/switchboard/protocol/mdp.h"
        "./usr/lib[^\n]*/libswitchboard[-_]client\\.a"
        "./usr/lib[^\n]*/libswitchboard[-_]worker\\.a"
        "./usr/lib[^\n]*/libswitchboard[-_]protocol\\.a"
        "./usr/lib[^\n]*/cmake/Switchboard/SwitchboardConfig.cmake"
        "./usr/lib[^\n]*/cmake/Switchboard/SwitchboardConfigVersion.cmake"
        "./usr/lib[^\n]*/cmake/Switchboard/SwitchboardTargets.cmake")
    expect_match("libswitchboard-dev contents" "${output}" " ${path}\n")
endforeach()
if(output MATCHES "switchboard.service|/etc/|/bin/")
    message(FATAL_ERROR "libswitchboard-dev holds files of the switchboard package:\n${output}")
endif()

set(root ${WORK_DIR}/root)
run(dpkg-deb -x ${broker_deb} ${root})
run(dpkg-deb -x ${dev_deb} ${root})

# Nothing the install rules install is left out: an install() without COMPONENT would land in
# no package.
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/plain)
file(GLOB_RECURSE installed RELATIVE ${WORK_DIR}/plain ${WORK_DIR}/plain/*)
foreach(file ${installed})
    if(NOT EXISTS ${root}/usr/${file})
        message(FATAL_ERROR "`cmake --install` installs ${file}, no package holds usr/${file}:"
            " give its install() a COMPONENT (switchboard or dev)")
    endif()
endforeach()

# The broker runs from the package.
run(${root}/usr/bin/switchboard --version)
expect_match("switchboard --version" "${output}" "^switchboard ${VERSION}\n")
run(file ${root}/usr/bin/switchboard)
expect_match("usr/bin/switchboard" "${output}" ", stripped")

# Every shared library the binary needs comes from a package its Depends line names.
run(${OBJDUMP} -p ${root}/usr/bin/switchboard)
string(REGEX MATCHALL "NEEDED +[^\n]+" needed "${output}")
if(NOT needed)
    message(FATAL_ERROR "objdump found no NEEDED libraries in usr/bin/switchboard")
endif()
foreach(entry ${needed})
    string(REGEX REPLACE "NEEDED +" "" soname "${entry}")
    # The host's own architecture: libc6-i386 has a libm.so.6 too, in /lib32.
    run(dpkg-query --search "*/${multiarch}/${soname}")
    string(REGEX MATCH "^[^:,]+" package "${output}")
    expect_depends("switchboard (needs ${soname})" "${broker_depends}" ${package})
endforeach()

# The maintainer scripts over the scratch root (DPKG_ROOT: deb-systemd-helper works under it and
# the scripts leave systemctl alone): installing does not enable the unit, an upgrade keeps the
# operator's `systemctl enable`, purge removes its symlinks.
file(STRINGS /usr/bin/deb-systemd-helper dpkg_root_support REGEX "DPKG_ROOT")
if(dpkg_root_support)
    run(dpkg-deb --control ${broker_deb} ${WORK_DIR}/control)
    set(ENV{DPKG_ROOT} ${root})
    set(ENV{DPKG_MAINTSCRIPT_PACKAGE} switchboard)
    set(wants ${root}/etc/systemd/system/multi-user.target.wants/switchboard.service)
    run(sh ${WORK_DIR}/control/postinst configure)
    if(EXISTS ${wants} OR IS_SYMLINK ${wants})
        message(FATAL_ERROR "postinst enabled the unit on a fresh install")
    endif()
    run(deb-systemd-helper enable switchboard.service)
    run(sh ${WORK_DIR}/control/postinst configure ${VERSION})
    if(NOT IS_SYMLINK ${wants})
        message(FATAL_ERROR "an upgrade lost the enabled unit's symlink")
    endif()
    run(sh ${WORK_DIR}/control/prerm remove)
    run(sh ${WORK_DIR}/control/postrm remove)
    run(sh ${WORK_DIR}/control/postrm purge)
    if(IS_SYMLINK ${wants})
        message(FATAL_ERROR "purge left ${wants}")
    endif()
    unset(ENV{DPKG_ROOT})
    unset(ENV{DPKG_MAINTSCRIPT_PACKAGE})
else()
    message(STATUS "deb-systemd-helper knows no DPKG_ROOT: maintainer scripts not run")
endif()

# The CMake package is relocatable: nothing in it names the build, the source or a prefix.
file(GLOB_RECURSE cmake_files ${root}/usr/*/cmake/Switchboard/*.cmake)
foreach(cmake_file ${cmake_files})
    file(READ ${cmake_file} text)
    foreach(path ${BUILD_DIR} ${SOURCE_DIR} /usr/local ${WORK_DIR})
        string(FIND "${text}" "${path}" at)
        if(at GREATER -1)
            message(FATAL_ERROR "${cmake_file} names ${path}: the package is not relocatable")
        endif()
    endforeach()
endforeach()

# A user's project builds against the extracted prefix alone, and its program works.
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_PREFIX_PATH=${root}/usr)
string(FIND "${output}" "Switchboard ${VERSION} from ${root}/usr/lib" at)
if(at EQUAL -1)
    message(FATAL_ERROR "find_package(Switchboard) did not find the extracted package:\n${output}")
endif()
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run(${WORK_DIR}/consumer/consumer)
expect_match("consumer" "${output}" "consumer: TimeoutError as expected")
message(STATUS "${broker_deb} and ${dev_deb} checked in ${root}")

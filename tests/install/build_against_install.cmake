# Runs as `cmake -P`: installs the build in BUILD_DIR into WORK_DIR/prefix, then builds the
# example in EXAMPLE_DIR against it and checks that its programs link and start.
file(REMOVE_RECURSE ${WORK_DIR})

function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "failed (${result}): ${ARGN}\n${out}")
    endif()
    set(output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
foreach(header switchboard/client.h switchboard/errors.h switchboard/worker.h
        switchboard/protocol/mdp.h switchboard/protocol/payload.h)
    if(NOT EXISTS ${WORK_DIR}/prefix/include/${header})
        message(FATAL_ERROR "not installed: include/${header}")
    endif()
endforeach()
# GNUInstallDirs picks lib, lib64 or a multiarch directory: find the package file wherever.
file(GLOB_RECURSE config ${WORK_DIR}/prefix/*/SwitchboardConfig.cmake)
if(NOT config)
    message(FATAL_ERROR "SwitchboardConfig.cmake was not installed")
endif()

# A build with sanitizers installs instrumented libraries; the example must link the runtime.
set(flags "")
if(SANITIZE)
    set(flags "-fsanitize=${SANITIZE}")
endif()
run(${CMAKE_COMMAND} -S ${EXAMPLE_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
    -DCMAKE_CXX_FLAGS=${flags}
    -DCMAKE_EXE_LINKER_FLAGS=${flags})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/calculator_worker --help)
if(NOT output MATCHES "usage: calculator_worker")
    message(FATAL_ERROR "calculator_worker --help printed: ${output}")
endif()
message(STATUS "examples/calculator built against the installed package in ${WORK_DIR}/prefix")

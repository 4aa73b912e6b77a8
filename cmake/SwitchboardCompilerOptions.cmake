# Warning and sanitizer flags shared by every target of the project (not by users of the libraries).
add_library(switchboard_compiler_options INTERFACE)
target_compile_options(switchboard_compiler_options INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(SWITCHBOARD_WERROR)
    target_compile_options(switchboard_compiler_options INTERFACE -Werror)
endif()
if(SWITCHBOARD_SANITIZE)
    list(JOIN SWITCHBOARD_SANITIZE "," _sanitizers)
    target_compile_options(switchboard_compiler_options INTERFACE
        -fsanitize=${_sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(switchboard_compiler_options INTERFACE -fsanitize=${_sanitizers})
endif()
if(SWITCHBOARD_BUILD_FUZZERS)
    # Coverage feedback for libFuzzer in the code under test too; only fuzz/ links its main().
    target_compile_options(switchboard_compiler_options INTERFACE -fsanitize=fuzzer-no-link)
endif()

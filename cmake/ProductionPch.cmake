# One precompiled header for the C++20 units of the processes in the sanitized build (scripts/test
# and CI, where compile time is the point). Parsing nlohmann/json, libpqxx and spdlog is about a
# third of such a unit's compile time, paid again in each of about 60 units; with this header it
# is paid once. GCC takes the header only where the command line defines the same macros as the
# one it was built with, so it serves the targets that receive fbg_adapters' usage requirements
# (Poco's, spdlog's and libpqxx's definitions); the pure domain libraries, which do not, and the
# C++14 QuickFIX units parse their headers themselves. Not in Release: the Release build keeps
# every unit honest about its own includes.

# True in ${out} when ${target} receives fbg_adapters' usage requirements: it is fbg_adapters, or
# links it directly or through the public (non-generator-expression) links of what it links.
function(fbg_receives_adapters target out)
  set(pending ${target})
  set(seen "")
  set(found FALSE)
  while(pending)
    list(POP_FRONT pending current)
    if(current STREQUAL "fbg_adapters")
      set(found TRUE)
      break()
    endif()
    if(current IN_LIST seen OR NOT TARGET ${current})
      continue()
    endif()
    list(APPEND seen ${current})
    if(current STREQUAL target)
      get_target_property(links ${current} LINK_LIBRARIES)
    else()
      get_target_property(links ${current} INTERFACE_LINK_LIBRARIES)
    endif()
    foreach(link IN LISTS links)
      if(NOT link MATCHES "^\\$<")
        list(APPEND pending ${link})
      endif()
    endforeach()
  endwhile()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

function(fbg_production_pch)
  add_library(fbg_production_pch STATIC ${PROJECT_SOURCE_DIR}/common/src/pch_anchor.cpp)
  # fbg_adapters' public links, not fbg_adapters itself: fbg_adapters reuses this header, and
  # linking it here would make the two depend on each other.
  get_target_property(adapter_links fbg_adapters INTERFACE_LINK_LIBRARIES)
  list(REMOVE_ITEM adapter_links fbg_domain)
  target_link_libraries(fbg_production_pch PRIVATE ${adapter_links})
  target_precompile_headers(fbg_production_pch PRIVATE <nlohmann/json.hpp> <pqxx/pqxx>
    <spdlog/spdlog.h> <algorithm> <chrono> <functional> <map> <mutex> <optional> <string>
    <thread> <vector>)
  fbg_our_target(fbg_production_pch)
  foreach(directory IN LISTS ARGN)
    get_property(targets DIRECTORY ${directory} PROPERTY BUILDSYSTEM_TARGETS)
    foreach(target IN LISTS targets)
      get_target_property(type ${target} TYPE)
      get_target_property(standard ${target} CXX_STANDARD)
      if(NOT type MATCHES "EXECUTABLE|STATIC_LIBRARY|OBJECT_LIBRARY" OR standard EQUAL 14
         OR target STREQUAL "fbg_production_pch")
        continue()
      endif()
      fbg_receives_adapters(${target} receives)
      if(receives)
        target_precompile_headers(${target} REUSE_FROM fbg_production_pch)
      endif()
    endforeach()
  endforeach()
endfunction()
